package genesys

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTokensMe(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/tokens/me", func(w http.ResponseWriter, r *http.Request) {
		testAuth(t, r, "tok-1")
		writeJSON(w, 200, `{"organization":{"id":"o1","name":"Org"},"homeOrganization":{"id":"o1","name":"Org"},
			"authorizedScope":["external-contacts"],
			"OAuthClient":{"id":"cl","name":"merger","authorizedGrantType":"CLIENT-CREDENTIALS",
			  "roleDivisions":[{"roleId":"r1","divisionId":"d1"}],"organization":{"id":"o1"}}}`)
	})
	ti, _, err := f.client.Tokens.Me(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := &TokenInfo{
		Organization: &Entity{ID: "o1", Name: "Org"}, HomeOrganization: &Entity{ID: "o1", Name: "Org"},
		AuthorizedScope: []string{"external-contacts"},
		OAuthClient: &OAuthClient{ID: "cl", Name: "merger", AuthorizedGrantType: "CLIENT-CREDENTIALS",
			RoleDivisions: []RoleDivision{{RoleID: "r1", DivisionID: "d1"}}, Organization: &Entity{ID: "o1"}},
	}
	if d := cmp.Diff(want, ti); d != "" {
		t.Errorf("TokenInfo (-want +got):\n%s", d)
	}
}

func TestIntervalString(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	i := Interval{Start: time.Date(2026, 5, 1, 1, 0, 0, 0, loc), End: time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC)}
	if got, want := i.String(), "2026-05-01T00:00:00.000Z/2026-05-15T00:00:00.000Z"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestQueryConversationDetails(t *testing.T) {
	f := setup(t)
	iv := Interval{Start: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC)}
	f.mux.HandleFunc("POST /api/v2/analytics/conversations/details/query", func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"interval":"2026-05-01T00:00:00.000Z/2026-05-15T00:00:00.000Z","order":"desc","orderBy":"conversationStart",
			"paging":{"pageSize":100,"pageNumber":1},
			"conversationFilters":[{"type":"and","predicates":[{"type":"dimension","dimension":"conversationEnd","operator":"notExists"}]}],
			"segmentFilters":[{"type":"or","predicates":[
				{"type":"dimension","dimension":"externalContactId","operator":"matches","value":"id1"},
				{"type":"dimension","dimension":"externalContactId","operator":"matches","value":"id2"}]}]}`)
		writeJSON(w, 200, `{"conversations":[{"conversationId":"cv1","conversationStart":"2026-05-02T10:00:00.000Z",
			"participants":[{"purpose":"customer","externalContactId":"id1"}]}],"totalHits":1}`)
	})
	res, _, err := f.client.Analytics.QueryConversationDetails(t.Context(), ActiveConversationsQuery([]string{"id1", "id2"}, iv, 1))
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalHits != 1 || res.Conversations[0].ConversationID != "cv1" || res.Conversations[0].Participants[0].ExternalContactID != "id1" {
		t.Errorf("res = %+v", res)
	}
	if _, _, err := f.client.Analytics.QueryConversationDetails(t.Context(), &ConversationQuery{}); err == nil {
		t.Error("query without interval accepted")
	}
}

func TestActiveConversations(t *testing.T) {
	f := setup(t)
	iv := Interval{Start: time.Now().Add(-24 * time.Hour), End: time.Now()}
	type call struct {
		IDs  int
		Page int
	}
	var calls []call
	f.mux.HandleFunc("POST /api/v2/analytics/conversations/details/query", func(w http.ResponseWriter, r *http.Request) {
		var q ConversationQuery
		if err := decodeJSONReader(r, &q); err != nil {
			t.Fatal(err)
		}
		preds := q.SegmentFilters[0].Predicates
		if q.SegmentFilters[0].Type != "or" || q.ConversationFilters[0].Predicates[0].Operator != "notExists" {
			t.Errorf("query shape = %+v", q)
		}
		calls = append(calls, call{len(preds), q.Paging.PageNumber})
		first := preds[0].Value
		var convs []string
		switch {
		case first == "c000" && q.Paging.PageNumber == 1:
			// A full page: 99 conversations of c001, one of c000 and c002.
			convs = append(convs, `{"conversationId":"both","participants":[{"externalContactId":"c000"},{"externalContactId":"c002"},{"externalContactId":"agent-x"}]}`)
			for i := range 99 {
				convs = append(convs, fmt.Sprintf(`{"conversationId":"x%d","participants":[{"externalContactId":"c001"}]}`, i))
			}
		case first == "c000" && q.Paging.PageNumber == 2:
			// A repeated record, an ended one and an unattributed one.
			convs = append(convs, `{"conversationId":"x5","participants":[{"externalContactId":"c001"}]}`,
				`{"conversationId":"ended","conversationEnd":"2026-01-01T00:00:00Z","participants":[{"externalContactId":"c003"}]}`,
				`{"conversationId":"anon","participants":[{"purpose":"agent"}]}`)
		case first == "c100":
			convs = append(convs, `{"conversationId":"late","participants":[{"externalContactId":"c120"}]}`)
		default:
			t.Errorf("unexpected query first=%s page=%d", first, q.Paging.PageNumber)
		}
		writeJSON(w, 200, `{"conversations":[`+strings.Join(convs, ",")+`],"totalHits":500}`)
	})
	var ids []string
	for i := range 130 {
		ids = append(ids, fmt.Sprintf("c%03d", i))
	}
	got, err := f.client.Analytics.ActiveConversations(t.Context(), ids, iv)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]call{{100, 1}, {100, 2}, {30, 1}}, calls); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if len(got["c001"]) != 99 || len(got) != 5 {
		t.Errorf("got %d keys, c001 has %d", len(got), len(got["c001"]))
	}
	for k, want := range map[string][]string{"c000": {"both"}, "c002": {"both"}, "": {"anon"}, "c120": {"late"}} {
		if d := cmp.Diff(want, got[k]); d != "" {
			t.Errorf("%q (-want +got):\n%s", k, d)
		}
	}
	if _, ok := got["c003"]; ok {
		t.Error("an ended conversation was reported")
	}
	if _, err := f.client.Analytics.ActiveConversations(t.Context(), ids, Interval{Start: iv.End, End: iv.Start}); err == nil {
		t.Error("empty interval accepted")
	}
}

func TestCasesForContact(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/casemanagement/cases/externalcontacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "ec1" {
			t.Errorf("id = %s", r.PathValue("id"))
		}
		q := r.URL.Query()
		if q.Get("after") != "cur" || q.Get("pageSize") != "50" || len(q["divisionIds"]) != 1 || q.Get("divisionIds") != "d1,d2" || q.Get("expands") != "caseplan" {
			t.Errorf("query = %v", q)
		}
		writeJSON(w, 200, `{"entities":[{"id":"k1","status":"Open","externalContact":{"id":"ec1"}}],"nextUri":"/api/v2/casemanagement/cases/externalcontacts/ec1?after=next%2B1&pageSize=50"}`)
	})
	l, _, err := f.client.Cases.ForContact(t.Context(), "ec1", &CaseListOptions{After: "cur", PageSize: 50, DivisionIDs: []string{"d1", "d2"}, Expands: []string{"caseplan"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entities) != 1 || l.Entities[0].ExternalContact.ID != "ec1" || l.NextCursor() != "next+1" {
		t.Errorf("listing = %+v, next %q", l, l.NextCursor())
	}
	if _, _, err := f.client.Cases.ForContact(t.Context(), "ec1", &CaseListOptions{PageSize: 201}); err == nil {
		t.Error("page size 201 accepted")
	}
}

func TestCasesOpenCases(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/casemanagement/cases/externalcontacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("pageSize") != "200" {
			t.Errorf("pageSize = %q", r.URL.Query().Get("pageSize"))
		}
		switch r.URL.Query().Get("after") {
		case "":
			writeJSON(w, 200, `{"entities":[{"id":"1","status":"Open"},{"id":"2","status":"Closed"},{"id":"3","status":"InProgress"}],"nextUri":"https://ignored.example/x?after=p2"}`)
		case "p2":
			writeJSON(w, 200, `{"entities":[{"id":"4","status":"Terminated"},{"id":"5","status":"Failed"},{"id":"6","status":"Terminating"}]}`)
		}
	})
	open, err := f.client.Cases.OpenCases(t.Context(), "ec1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range open {
		ids = append(ids, c.ID)
	}
	if d := cmp.Diff([]string{"1", "3", "6"}, ids); d != "" {
		t.Errorf("open (-want +got):\n%s", d)
	}
}

// TestObserverSeesEveryAttempt: the observer (what the engine's metrics
// and adaptive concurrency feed from) sees each attempt with its status,
// throttling, route template and rate-limit headers, and never the secret.
func TestObserverSeesEveryAttempt(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("inin-ratelimit-count", "7")
		w.Header().Set("inin-ratelimit-allowed", "300")
		w.Header().Set("inin-ratelimit-reset", "42")
		if r.PathValue("id") == "x" {
			writeJSON(w, 429, `{}`)
			return
		}
		writeJSON(w, 200, `{"id":"a"}`)
	})
	f.client.Contacts.Get(t.Context(), "a")
	f.client.Contacts.Get(t.Context(), "b")
	f.client.Contacts.Get(t.Context(), "x")
	api := f.infos.all()
	byStatus := map[int]int{}
	throttled := 0
	for _, ri := range api {
		byStatus[ri.Status]++
		if ri.Throttled {
			throttled++
		}
		if ri.Method != "GET" || ri.Route != "/api/v2/externalcontacts/contacts/{id}" || ri.RateLimit.Count != 7 || ri.RateLimit.Allowed != 300 {
			t.Errorf("info = %+v", ri)
		}
	}
	if len(api) != 3 || throttled != 1 || byStatus[200] != 2 || byStatus[429] != 1 {
		t.Errorf("attempts = %+v", api)
	}
	b, _ := json.Marshal(api)
	if strings.Contains(string(b), testClientSecret) {
		t.Error("observed request infos hold the secret")
	}
}

func TestRouteOf(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v2/externalcontacts/contacts/abc":                   "/api/v2/externalcontacts/contacts/{id}",
		"/prefix/api/v2/externalcontacts/contacts/abc/unresolved": "/api/v2/externalcontacts/contacts/{id}/unresolved",
		"/api/v2/externalcontacts/contacts/merge":                 "/api/v2/externalcontacts/contacts/merge",
		"/api/v2/externalcontacts/scan/contacts":                  "/api/v2/externalcontacts/scan/contacts",
		"/api/v2/casemanagement/cases/externalcontacts/e1":        "/api/v2/casemanagement/cases/externalcontacts/{id}",
	} {
		if got := routeOf(in); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", in, got, want)
		}
	}
}
