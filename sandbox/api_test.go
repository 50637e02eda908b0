package sandbox

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t, DefaultConfig())
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()

	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(form))
	req.SetBasicAuth("sandbox-client", "wrong-secret-123")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ae map[string]string
	r := readResp(t, resp)
	r.decode(t, &ae)
	if r.status != 401 || ae["error"] != "invalid_client" || ae["description"] == "" || ae["error_description"] == "" {
		t.Fatalf("bad credentials: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "wrong-secret-123") {
		t.Fatalf("the secret is echoed: %s", r.body)
	}
	if r.header.Get("ININ-Correlation-Id") == "" {
		t.Fatal("no ININ-Correlation-Id")
	}

	req, _ = http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(form))
	req.SetBasicAuth("sandbox-client", "sandbox-secret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	r = readResp(t, resp)
	r.decode(t, &tok)
	if r.status != 200 || tok["token_type"] != "bearer" || tok["expires_in"] != float64(86400) || tok["access_token"] == "" {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
}

func TestTokensMe(t *testing.T) {
	e := newEnv(t, DefaultConfig())
	r := e.do("GET", "/api/v2/tokens/me", nil)
	var ti struct {
		Organization     cm.Ref   `json:"organization"`
		HomeOrganization cm.Ref   `json:"homeOrganization"`
		AuthorizedScope  []string `json:"authorizedScope"`
		OAuthClient      struct {
			ID                  string `json:"id"`
			AuthorizedGrantType string `json:"authorizedGrantType"`
			RoleDivisions       []any  `json:"roleDivisions"`
		} `json:"OAuthClient"`
	}
	r.decode(t, &ti)
	if r.status != 200 || ti.Organization.ID == "" || ti.HomeOrganization.ID != ti.Organization.ID ||
		ti.OAuthClient.ID != "sandbox-client" || ti.OAuthClient.AuthorizedGrantType != "CLIENT-CREDENTIALS" || len(ti.OAuthClient.RoleDivisions) == 0 {
		t.Fatalf("tokens/me: %d %s", r.status, r.body)
	}
	// organization and homeOrganization are {id, name} (TokenInfo), without
	// the selfUri they used to carry.
	var orgs struct {
		Organization     map[string]any `json:"organization"`
		HomeOrganization map[string]any `json:"homeOrganization"`
	}
	r.decode(t, &orgs)
	for k, org := range map[string]map[string]any{"organization": orgs.Organization, "homeOrganization": orgs.HomeOrganization} {
		if keys := slices.Sorted(maps.Keys(org)); !slices.Equal(keys, []string{"id", "name"}) || org["name"] != "Sandbox Organization" {
			t.Errorf("%s: %v", k, org)
		}
	}
	if h := e.do("HEAD", "/api/v2/tokens/me", nil); h.status != 200 || len(h.body) != 0 {
		t.Fatalf("HEAD: %d %q", h.status, h.body)
	}
	if d := e.do("DELETE", "/api/v2/tokens/me", nil); d.status != 204 {
		t.Fatalf("DELETE: %d", d.status)
	}
	if r := e.do("GET", "/api/v2/tokens/me", nil); r.status != 401 {
		t.Fatalf("revoked token: %d", r.status)
	}
}

func TestAuthRequiredAndExpiry(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Now = nil
	cfg.TokenTTL = 10 * time.Minute
	e := newEnv(t, cfg)
	r := e.doTok("", "GET", "/api/v2/tokens/me", nil)
	b := r.errBody(t)
	if r.status != 401 || b.Status != 401 || b.Code == "" || b.Message == "" || b.ContextID != r.header.Get("ININ-Correlation-Id") {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	if r := e.doTok("not-a-token", "GET", "/api/v2/tokens/me", nil); r.status != 401 {
		t.Fatalf("unknown token: %d", r.status)
	}
	e.clock.Advance(10*time.Minute - time.Second)
	if r := e.do("GET", "/api/v2/tokens/me", nil); r.status != 200 {
		t.Fatalf("before expiry: %d", r.status)
	}
	e.clock.Advance(time.Second)
	if r := e.do("GET", "/api/v2/tokens/me", nil); r.status != 401 {
		t.Fatalf("after expiry: %d %s", r.status, r.body)
	}
	e.token = e.fetchToken()
	if r := e.do("GET", "/api/v2/tokens/me", nil); r.status != 200 {
		t.Fatalf("new token: %d", r.status)
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	e := newEnv(t, DefaultConfig())
	r := e.do("GET", "/api/v2/externalcontacts/nothing/here", nil)
	if r.status != 404 || r.errBody(t).Code != "not.found" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// scanAll walks the scan endpoint and returns the ids in order; between
// pages it calls between(page number).
func scanAll(t *testing.T, e *env, path string, limit int, between func(int)) []string {
	t.Helper()
	var ids []string
	cursor := ""
	path, rawq, _ := strings.Cut(path, "?")
	base, err := url.ParseQuery(rawq)
	if err != nil {
		t.Fatal(err)
	}
	for page := 0; ; page++ {
		q := url.Values{"limit": {itoa(limit)}}
		for k, v := range base {
			q[k] = v
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := e.do("GET", path+"?"+q.Encode(), nil)
		if r.status != 200 {
			t.Fatalf("scan page %d: %d %s", page, r.status, r.body)
		}
		var l cursorListing
		r.decode(t, &l)
		for _, c := range l.Entities {
			ids = append(ids, c.ID)
			if c.SelfURI != contactPath+c.ID {
				t.Fatalf("selfUri %q", c.SelfURI)
			}
		}
		if l.Cursors == nil || l.Cursors.After == "" {
			if l.NextURI != "" {
				t.Fatalf("last page has nextUri %q", l.NextURI)
			}
			return ids
		}
		if len(l.Entities) > limit {
			t.Fatalf("page of %d > limit %d", len(l.Entities), limit)
		}
		if page > 100000 {
			t.Fatal("scan does not end")
		}
		cursor = l.Cursors.After
		if between != nil {
			between(page)
		}
	}
}

func itoa(n int) string { return pad(n, 1) }

func TestScanWalksAllOnce(t *testing.T) {
	e := newEnv(t, Config{Contacts: 1000, Seed: 7})
	ids := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 200, nil)
	if len(ids) != 1000 || e.sb.Len() != 1000 {
		t.Fatalf("scanned %d, Len %d", len(ids), e.sb.Len())
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatal("scan order is not stable or repeats ids")
	}
	all := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts/divisionviews/all", 37, nil)
	if !slices.Equal(all, ids) {
		t.Fatal("divisionviews/all differs")
	}
	for _, bad := range []string{"limit=9", "limit=201", "limit=x", "cursor=%21%21"} {
		if r := e.do("GET", "/api/v2/externalcontacts/scan/contacts?"+bad, nil); r.status != 400 {
			t.Fatalf("%s: %d", bad, r.status)
		}
	}
	// Division filter.
	c0, _ := e.sb.Contact(ids[0])
	div := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts?divisionId="+c0.DivisionID(), 200, nil)
	if len(div) == 0 || len(div) >= len(ids) {
		t.Fatalf("division scan returned %d of %d", len(div), len(ids))
	}
}

func TestScanWithMergesBetweenPages(t *testing.T) {
	e := newEnv(t, Config{Contacts: 2000, Seed: 3, DupRate: -1})
	orig := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 200, nil)
	involved := map[string]bool{}
	results := map[string]bool{}
	// Between pages merge pairs taken from both ends of the id space: some
	// already returned, some not yet.
	k := 0
	ids := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 100, func(page int) {
		a, b := orig[k], orig[len(orig)-1-k]
		k++
		r := e.merge([]string{a, b}, nil)
		if r.status != 200 {
			t.Fatalf("merge: %d %s", r.status, r.body)
		}
		var c cm.Contact
		r.decode(t, &c)
		involved[a], involved[b] = true, true
		results[c.ID] = true
	})
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
		if seen[id] > 1 {
			t.Fatalf("%s returned twice", id)
		}
	}
	for _, id := range orig {
		if !involved[id] && seen[id] != 1 {
			t.Fatalf("%s (never merged) seen %d times", id, seen[id])
		}
	}
	if want := 2000 - k; e.sb.Len() != want {
		t.Fatalf("Len %d, want %d", e.sb.Len(), want)
	}
	// A fresh scan sees exactly the canonical contacts.
	after := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 200, nil)
	if len(after) != 2000-k {
		t.Fatalf("fresh scan %d, want %d", len(after), 2000-k)
	}
	for _, id := range after {
		if involved[id] {
			t.Fatalf("ancestor %s listed", id)
		}
	}
	for id := range results {
		if !slices.Contains(after, id) {
			t.Fatalf("merge result %s not listed", id)
		}
	}
}

func TestAliasRedirection(t *testing.T) {
	e := loadEnv(t, DefaultConfig(), simpleContacts(5))
	r := e.merge([]string{"c0000", "c0001"}, nil)
	if r.status != 200 {
		t.Fatalf("merge: %d %s", r.status, r.body)
	}
	var m cm.Contact
	r.decode(t, &m)
	if m.ID == "c0000" || m.ID == "c0001" || m.ID == "" {
		t.Fatalf("merge result id %q is not new", m.ID)
	}
	if m.CanonicalContact == nil || m.CanonicalContact.ID != m.ID || len(m.MergedFrom) != 2 || len(m.MergeSet) != 3 {
		t.Fatalf("merge result refs: %+v %+v %+v", m.CanonicalContact, m.MergedFrom, m.MergeSet)
	}
	// GET on an alias answers the canonical contact.
	var g cm.Contact
	r = e.get("c0000")
	r.decode(t, &g)
	if g.ID != m.ID {
		t.Fatalf("GET alias gave %d %s, want %s", r.status, r.body, m.ID)
	}
	// unresolved answers the ancestor itself.
	r = e.do("GET", "/api/v2/externalcontacts/contacts/c0001/unresolved", nil)
	var u cm.Contact
	r.decode(t, &u)
	if u.ID != "c0001" || u.MergedTo == nil || u.MergedTo.ID != m.ID || u.CanonicalContact.ID != m.ID || len(u.MergeSet) != 3 {
		t.Fatalf("unresolved: %s", r.body)
	}
	// Bulk reads.
	body := map[string]any{"entities": []map[string]string{{"id": "c0000"}, {"id": "nope"}, {"id": "c0002"}}}
	var bulk struct {
		Results      []bulkResult `json:"results"`
		ErrorCount   int          `json:"errorCount"`
		ErrorIndexes []int        `json:"errorIndexes"`
	}
	e.do("POST", "/api/v2/externalcontacts/bulk/contacts", body).decode(t, &bulk)
	if len(bulk.Results) != 3 || bulk.Results[0].Entity == nil || bulk.Results[0].Entity.ID != m.ID || bulk.Results[0].ID != "c0000" ||
		bulk.Results[1].Success || bulk.Results[1].Status != 404 || bulk.Results[1].Error.Code != "not.found" ||
		bulk.ErrorCount != 1 || !slices.Equal(bulk.ErrorIndexes, []int{1}) || bulk.Results[2].Entity.ID != "c0002" {
		t.Fatalf("bulk: %+v", bulk)
	}
	e.do("POST", "/api/v2/externalcontacts/bulk/contacts/unresolved", body).decode(t, &bulk)
	if bulk.Results[0].Entity.ID != "c0000" || bulk.Results[0].Entity.MergedTo.ID != m.ID {
		t.Fatalf("bulk unresolved: %+v", bulk.Results[0].Entity)
	}
	many := make([]map[string]string, 101)
	for i := range many {
		many[i] = map[string]string{"id": "c0000"}
	}
	if r := e.do("POST", "/api/v2/externalcontacts/bulk/contacts", map[string]any{"entities": many}); r.status != 400 {
		t.Fatalf("101 ids: %d", r.status)
	}
	// Merging a contact with an alias of itself is refused (422, the
	// reason nested; LegacyMergeErrors: 400).
	if r := e.merge([]string{m.ID, "c0000"}, nil); !isInvalidMerge(t, r, "bad.request", "c0000") {
		t.Fatalf("merge with own alias: %d %s", r.status, r.body)
	}
	// Merging an alias merges its canonical contact.
	r = e.merge([]string{"c0001", "c0002"}, nil)
	var m2 cm.Contact
	r.decode(t, &m2)
	if r.status != 200 || len(m2.MergeSet) != 5 || !slices.ContainsFunc(m2.MergedFrom, func(x cm.Ref) bool { return x.ID == m.ID }) {
		t.Fatalf("merge via alias: %d %s", r.status, r.body)
	}
	old, _ := e.sb.Contact("c0000")
	if old.CanonicalContact.ID != m2.ID || old.MergedTo.ID != m.ID || len(old.MergeSet) != 5 {
		t.Fatalf("old ancestor not updated: %+v %+v", old.CanonicalContact, old.MergedTo)
	}
	// DELETE on an alias deletes the canonical contact.
	if r := e.do("DELETE", "/api/v2/externalcontacts/contacts/c0000", nil); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.get(m2.ID); r.status != 404 {
		t.Fatalf("deleted canonical: %d", r.status)
	}
	if r := e.get("c0002"); r.status != 404 {
		t.Fatalf("alias of deleted: %d", r.status)
	}
	if r := e.do("GET", "/api/v2/externalcontacts/contacts/c0002/unresolved", nil); r.status != 200 {
		t.Fatalf("ancestor record of a deleted contact: %d", r.status)
	}
	if r := e.get("zzz"); r.status != 404 || r.errBody(t).Code != "not.found" {
		t.Fatalf("missing: %d %s", r.status, r.body)
	}
	ops := e.sb.Oplog()
	if len(ops) != 3 || ops[0].Op != "merge" || ops[2].Op != "delete" || ops[2].Result != m2.ID || ops[1].Seq != 2 ||
		!slices.Equal(ops[1].Inputs, []string{"c0001", "c0002"}) || !slices.Equal(ops[1].Resolved, []string{m.ID, "c0002"}) {
		t.Fatalf("oplog: %+v", ops)
	}
	if e.sb.Len() != 2 {
		t.Fatalf("Len %d", e.sb.Len())
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t, Config{Contacts: 3000, Seed: 11})
	var l struct {
		Entities   []cm.Contact `json:"entities"`
		Total      int          `json:"total"`
		PageSize   int          `json:"pageSize"`
		PageNumber int          `json:"pageNumber"`
		NextURI    string       `json:"nextUri"`
	}
	r := e.do("GET", "/api/v2/externalcontacts/contacts?pageSize=100&pageNumber=2", nil)
	r.decode(t, &l)
	if r.status != 200 || len(l.Entities) != 100 || l.Total != 3000 || l.PageNumber != 2 || l.NextURI == "" {
		t.Fatalf("search: %d total=%d n=%d", r.status, l.Total, len(l.Entities))
	}
	if r := e.do("GET", "/api/v2/externalcontacts/contacts?pageSize=100&pageNumber=11", nil); r.status != 400 {
		t.Fatalf("beyond 1000: %d", r.status)
	}
	if r := e.do("GET", "/api/v2/externalcontacts/contacts?pageSize=25&pageNumber=40", nil); r.status != 200 {
		t.Fatalf("exactly 1000: %d", r.status)
	}
	c, _ := e.sb.Contact(scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 10, func(int) {})[5])
	name := strings.ToLower(c.LastName)
	e.do("GET", "/api/v2/externalcontacts/contacts?pageSize=100&q="+url.QueryEscape(name), nil).decode(t, &l)
	if l.Total == 0 || l.Total >= 3000 {
		t.Fatalf("q=%s total %d", name, l.Total)
	}
	for _, x := range l.Entities {
		if !fieldHas(&x, name) {
			t.Fatalf("q=%s matched %+v", name, x)
		}
	}
}

func TestIdentifierLookup(t *testing.T) {
	cs := simpleContacts(3)
	cs[1].ExternalIDs = []cm.ExternalID{{ExternalSource: &cm.ExternalSource{Name: "crm"}, Value: "CRM-1"}}
	e := loadEnv(t, DefaultConfig(), cs)
	path := "/api/v2/externalcontacts/identifierlookup/contacts"
	var c cm.Contact
	r := e.do("POST", path, map[string]string{"type": "Phone", "value": "+1 704 298 0002"})
	r.decode(t, &c)
	if r.status != 200 || c.ID != "c0002" {
		t.Fatalf("phone: %d %s", r.status, r.body)
	}
	e.do("POST", path, map[string]string{"type": "Email", "value": "P0001@Example.com"}).decode(t, &c)
	if c.ID != "c0001" {
		t.Fatalf("email: %s", c.ID)
	}
	e.do("POST", path, map[string]string{"type": "ExternalId", "value": "CRM-1"}).decode(t, &c)
	if c.ID != "c0001" {
		t.Fatalf("external id: %s", c.ID)
	}
	if r := e.do("POST", path, map[string]string{"type": "Email", "value": "none@example.com"}); r.status != 404 {
		t.Fatalf("no match: %d", r.status)
	}
	if r := e.do("POST", path, map[string]string{"type": "Phone", "value": "7042980002"}); r.status != 400 {
		t.Fatalf("phone without +: %d", r.status)
	}
	if r := e.do("POST", path, map[string]string{"type": "Bogus", "value": "x"}); r.status != 400 {
		t.Fatalf("bad type: %d", r.status)
	}
	// After a merge the lookup finds the canonical contact.
	var m cm.Contact
	e.merge([]string{"c0001", "c0002"}, nil).decode(t, &m)
	e.do("POST", path, map[string]string{"type": "Email", "value": "p0001@example.com"}).decode(t, &c)
	if c.ID != m.ID {
		t.Fatalf("after merge: %s, want %s", c.ID, m.ID)
	}
}

func TestAnalyticsAndCases(t *testing.T) {
	e := loadEnv(t, DefaultConfig(), simpleContacts(3))
	now := e.clock.Now()
	e.sb.AddActivity(Activity{ExternalContactID: "c0000", ConversationID: "live", Start: now.Add(-10 * time.Minute)})
	e.sb.AddActivity(Activity{ExternalContactID: "c0000", ConversationID: "done", Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)})
	e.sb.AddActivity(Activity{ExternalContactID: "c0001", ConversationID: "old", Start: now.Add(-40 * 24 * time.Hour)})
	e.sb.AddActivity(Activity{ExternalContactID: "c0002", CaseID: "case-open", Status: "Open"})
	e.sb.AddActivity(Activity{ExternalContactID: "c0002", CaseID: "case-closed", Status: "Closed"})
	query := func(ids ...string) map[string]any {
		var preds []map[string]string
		for _, id := range ids {
			preds = append(preds, map[string]string{"type": "dimension", "dimension": "externalContactId", "operator": "matches", "value": id})
		}
		return map[string]any{
			"interval": now.Add(-14*24*time.Hour).Format(time.RFC3339) + "/" + now.Add(24*time.Hour).Format(time.RFC3339),
			"order":    "desc",
			"paging":   map[string]int{"pageSize": 100, "pageNumber": 1},
			"conversationFilters": []any{map[string]any{"type": "and", "predicates": []any{
				map[string]string{"type": "dimension", "dimension": "conversationEnd", "operator": "notExists"}}}},
			"segmentFilters": []any{map[string]any{"type": "or", "predicates": preds}},
		}
	}
	type resp struct {
		Conversations []struct {
			ConversationID string `json:"conversationId"`
			Participants   []struct {
				ExternalContactID string `json:"externalContactId"`
				Purpose           string `json:"purpose"`
			} `json:"participants"`
		} `json:"conversations"`
		TotalHits int `json:"totalHits"`
	}
	var out resp
	path := "/api/v2/analytics/conversations/details/query"
	r := e.do("POST", path, query("c0000", "c0001"))
	r.decode(t, &out)
	if r.status != 200 || out.TotalHits != 1 || out.Conversations[0].ConversationID != "live" ||
		out.Conversations[0].Participants[0].ExternalContactID != "c0000" || out.Conversations[0].Participants[0].Purpose != "customer" {
		t.Fatalf("analytics: %d %s", r.status, r.body)
	}
	out = resp{}
	e.do("POST", path, query("c0002")).decode(t, &out)
	if out.TotalHits != 0 || len(out.Conversations) != 0 {
		t.Fatalf("no conversations: %+v", out)
	}
	bad := query("c0000")
	bad["paging"] = map[string]int{"pageSize": 201}
	if r := e.do("POST", path, bad); r.status != 400 {
		t.Fatalf("pageSize 201: %d", r.status)
	}
	bad = query("c0000")
	delete(bad, "interval")
	if r := e.do("POST", path, bad); r.status != 400 {
		t.Fatalf("no interval: %d", r.status)
	}
	var cases struct {
		Entities []struct {
			ID              string `json:"id"`
			Status          string `json:"status"`
			ExternalContact cm.Ref `json:"externalContact"`
		} `json:"entities"`
	}
	r = e.do("GET", "/api/v2/casemanagement/cases/externalcontacts/c0002", nil)
	r.decode(t, &cases)
	if r.status != 200 || len(cases.Entities) != 2 || cases.Entities[0].ExternalContact.ID != "c0002" {
		t.Fatalf("cases: %d %s", r.status, r.body)
	}
}

func TestGeneratedActivityIsRecent(t *testing.T) {
	e := newEnv(t, Config{Contacts: 2000, Seed: 5, ActivityRate: 0.05, ConflictOnActivity: true})
	active := e.sb.ActiveContacts()
	if len(active) < 50 || len(active) > 150 {
		t.Fatalf("%d active contacts of 2000 at rate 0.05", len(active))
	}
	now := e.clock.Now()
	q := map[string]any{
		"interval": now.Add(-24*time.Hour).Format(time.RFC3339) + "/" + now.Add(time.Hour).Format(time.RFC3339),
		"paging":   map[string]int{"pageSize": 200},
		"conversationFilters": []any{map[string]any{"type": "and", "predicates": []any{
			map[string]string{"type": "dimension", "dimension": "conversationEnd", "operator": "notExists"}}}},
	}
	var out struct {
		TotalHits int `json:"totalHits"`
	}
	e.do("POST", "/api/v2/analytics/conversations/details/query", q).decode(t, &out)
	if out.TotalHits == 0 {
		t.Fatal("generated active conversations are not found around the sandbox's now")
	}
}

func TestSandboxEndpoints(t *testing.T) {
	e := newEnv(t, Config{Contacts: 500, Seed: 2})
	var truth [][]string
	r := e.doTok("", "GET", "/sandbox/truth", nil)
	r.decode(t, &truth)
	if r.status != 200 || len(truth) == 0 || len(truth) != len(e.sb.Truth()) {
		t.Fatalf("truth: %d %d", r.status, len(truth))
	}
	scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 100, nil)
	e.merge(truth[0][:2], nil)
	var ops []Op
	e.doTok("", "GET", "/sandbox/oplog", nil).decode(t, &ops)
	if len(ops) != 1 || ops[0].Op != "merge" || !slices.Equal(ops[0].Inputs, truth[0][:2]) {
		t.Fatalf("oplog %+v", ops)
	}
	var st Stats
	e.doTok("", "GET", "/sandbox/stats", nil).decode(t, &st)
	if st.Requests["GET /api/v2/externalcontacts/scan/contacts"][200] != 5 || st.Merges != 1 ||
		st.Requests["POST /api/v2/externalcontacts/contacts/merge"][200] != 1 {
		t.Fatalf("stats %+v", st)
	}
	if r.header.Get("inin-ratelimit-count") != "" {
		t.Fatal("rate-limit headers on a /sandbox/ route")
	}
}

func readResp(t *testing.T, resp *http.Response) response {
	t.Helper()
	defer resp.Body.Close()
	var b []byte
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
	}
	return response{resp.StatusCode, resp.Header, b}
}
