package restore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/restore"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// fourJSONL is one customer recorded three times (a, b, c) and a
// different one (d) that a matcher wrongly grouped with them, plus two
// contacts of an unmerged group.
const fourJSONL = `{"id":"a","type":"Curated","firstName":"Ann","lastName":"Lee","cellPhone":{"display":"+1 704-555-0101"},"personalEmail":"ann@example.com","externalIds":[{"externalSource":{"name":"crm"},"value":"CRM-A"}],"schema":{"id":"s1","version":1},"customFields":{"loyaltyId":"LY-A"},"modifyDate":"2025-06-01T00:00:00.000Z","createDate":"2024-01-01T00:00:00.000Z"}
{"id":"b","type":"Curated","firstName":"Ann","lastName":"Lee","cellPhone":{"display":"+1 704-555-0101"},"workEmail":"ann@work.example","address":{"address1":"1 Main St","city":"Charlotte","state":"NC","postalCode":"28202","countryCode":"US"},"modifyDate":"2025-05-01T00:00:00.000Z","createDate":"2024-01-01T00:00:00.000Z"}
{"id":"c","type":"Curated","firstName":"Anne","lastName":"Lee","homePhone":{"display":"+1 704-555-0103"},"personalEmail":"ann@example.com","modifyDate":"2025-04-01T00:00:00.000Z","createDate":"2024-01-01T00:00:00.000Z"}
{"id":"d","type":"Curated","firstName":"Bob","lastName":"Smith","title":"Engineer","otherPhone":{"display":"+1 704-555-0199"},"otherEmail":"bob@example.net","externalIds":[{"externalSource":{"name":"crm"},"value":"CRM-D"}],"modifyDate":"2025-03-01T00:00:00.000Z","createDate":"2024-01-01T00:00:00.000Z"}
{"id":"e","type":"Curated","firstName":"Cy","lastName":"Ray","modifyDate":"2025-03-01T00:00:00.000Z"}
{"id":"f","type":"Curated","firstName":"Cy","lastName":"Ray","modifyDate":"2025-03-02T00:00:00.000Z"}
`

// faulty answers the restore's writes with scripted faults, then lets
// them through: "504" applies the write and answers 504, "reset-after"
// applies it and drops the connection, "reset-before" drops it unapplied.
type faulty struct {
	next   http.Handler
	mu     sync.Mutex
	script map[string][]string // "POST" (create) or "PUT" (update) → faults in order
}

func (f *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := ""
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v2/externalcontacts/contacts":
		key = "POST"
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v2/externalcontacts/contacts/") && !strings.HasSuffix(r.URL.Path, "/00000000-0000-0000-0000-000000000000"):
		key = "PUT"
	}
	f.mu.Lock()
	var fault string
	if q := f.script[key]; key != "" && len(q) > 0 {
		fault, f.script[key] = q[0], q[1:]
	}
	f.mu.Unlock()
	drop := func() {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	switch fault {
	case "504":
		f.next.ServeHTTP(httptest.NewRecorder(), r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = w.Write([]byte(`{"message":"The gateway timed out.","code":"gateway.timeout","status":504}`))
	case "reset-after":
		f.next.ServeHTTP(httptest.NewRecorder(), r)
		drop()
	case "reset-before":
		drop()
	case "edit-first":
		// Someone edits the canonical contact between the restore's read
		// and its update: the update is built from an old version (409).
		get := httptest.NewRequest(http.MethodGet, r.URL.Path, nil)
		get.Header.Set("Authorization", r.Header.Get("Authorization"))
		rec := httptest.NewRecorder()
		f.next.ServeHTTP(rec, get)
		var c cm.Contact
		_ = json.Unmarshal(rec.Body.Bytes(), &c)
		c.Salutation, c.ModifyDate = "Dr", time.Time{}
		b, _ := json.Marshal(c)
		put := httptest.NewRequest(http.MethodPut, r.URL.Path, bytes.NewReader(b))
		put.Header.Set("Authorization", r.Header.Get("Authorization"))
		put.Header.Set("Content-Type", "application/json")
		f.next.ServeHTTP(httptest.NewRecorder(), put)
		f.next.ServeHTTP(w, r)
	default:
		f.next.ServeHTTP(w, r)
	}
}

// fixture is a sandbox whose group {a,b,c,d} is merged, and a store that
// knows it.
type fixture struct {
	o     *testorg.Org
	st    store.Store
	g     cm.Group
	other cm.Group
	fa    *faulty
}

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	ctx := context.Background()
	fx := &fixture{fa: &faulty{script: map[string][]string{}}}
	fx.o = testorg.NewWrapped(t, sandbox.Config{Load: strings.NewReader(fourJSONL), RateLimit: -1,
		Clients: []sandbox.Client{{ID: "no-edit", Secret: "no-edit-secret", Permissions: []string{sandbox.PermContactView, sandbox.PermContactAdd}}}}, func(h http.Handler) http.Handler {
		fx.fa.next = h
		return fx.fa
	})
	fx.st = testorg.OpenStore(t, dsn)
	if _, err := engine.Scan(ctx, fx.o.Client(t, nil), fx.st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, err := fx.st.Contacts(ctx, []string{"a", "b", "c", "d", "e", "f"})
	if err != nil {
		t.Fatal(err)
	}
	g := testorg.PlanGroup([]string{"a", "b", "c", "d"}, cs)
	fx.other = testorg.PlanGroup([]string{"e", "f"}, cs)
	testorg.Approve(t, fx.st, []cm.Group{g, fx.other})
	eng, err := engine.New(fx.st, engine.Config{VerifySettle: time.Second}, fx.o.NewClient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Preflight(ctx, []string{g.ID}); err != nil {
		t.Fatal(err)
	}
	if out, err := eng.Execute(ctx, g.ID); err != nil || out.State != cm.StateMerged {
		t.Fatalf("merge: %+v, %v", out, err)
	}
	if fx.g, err = fx.st.Group(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	return fx
}

func (fx *fixture) restorer(t *testing.T, keep bool) *restore.Restorer {
	return restore.New(fx.st, fx.o.Client(t, nil), restore.Config{Actor: "ann", Settle: 300 * time.Millisecond, KeepEdited: keep})
}

// values lists what a contact holds, one word per value.
func values(c cm.Contact) []string {
	var out []string
	add := func(kind, v string) {
		if v != "" {
			out = append(out, kind+":"+strings.ToLower(v))
		}
	}
	add("first", c.FirstName)
	add("last", c.LastName)
	add("title", c.Title)
	for _, p := range c.Phones() {
		if p != nil {
			add("phone", p.E164)
		}
	}
	for _, e := range c.Emails() {
		add("email", e)
	}
	if !c.Address.IsZero() {
		add("address", c.Address.Address1)
	}
	for _, x := range c.ExternalIDs {
		add("ext", x.SourceName()+"|"+x.Value)
	}
	for k, v := range c.CustomFields {
		b, _ := json.Marshal(v)
		add("custom."+k, string(b))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// same reports whether got holds the before-image's record (its id, dates,
// type and merge fields aside) plus the restore marker.
func same(t *testing.T, got, before cm.Contact) {
	t.Helper()
	want := values(before)
	have := slices.DeleteFunc(values(got), func(v string) bool { return strings.HasPrefix(v, "ext:"+restore.MarkerSource) })
	if !slices.Equal(have, want) {
		t.Errorf("restored contact holds %v, want the before-image's %v", have, want)
	}
	if got.MiddleName != before.MiddleName || got.Salutation != before.Salutation || !got.Address.IsZero() != !before.Address.IsZero() {
		t.Errorf("restored %+v, before-image %+v", got, before)
	}
}

func creates(o *testorg.Org) int {
	n := 0
	for _, op := range o.SB.Oplog() {
		if op.Op == "create" {
			n++
		}
	}
	return n
}

// checkRestored asserts the outcome of restoring d: one new contact equal to
// its before-image, the canonical contact without d's own values but with
// every other member's, the ledger's id map and the cannot-links.
func checkRestored(t *testing.T, fx *fixture, before cm.Contact, canonBefore []string) string {
	t.Helper()
	ctx := context.Background()
	if n := creates(fx.o); n != 1 {
		t.Fatalf("%d contacts created, want exactly 1", n)
	}
	rs, err := restore.Restorations(ctx, fx.st)
	if err != nil || len(rs) != 1 || rs[0].OldID != "d" || rs[0].GroupID != fx.g.ID {
		t.Fatalf("restorations %+v, %v", rs, err)
	}
	if byGroup, err := restore.RestoredMembers(ctx, fx.st, fx.g.ID); err != nil || len(byGroup) != 1 || byGroup["d"] != rs[0].RestoredID {
		t.Fatalf("restored members of the group: %v, %v", byGroup, err)
	}
	nid := rs[0].RestoredID
	got, ok := fx.o.SB.Contact(nid)
	if !ok || got.IsMerged() {
		t.Fatalf("restored contact %s: %+v (%v)", nid, got, ok)
	}
	same(t, got, before)
	canon, _ := fx.o.SB.Contact(fx.o.Final(fx.g.CanonicalID))
	now := values(canon)
	own := map[string]bool{}
	for _, v := range values(before) {
		own[v] = true
	}
	for _, m := range []string{"a", "b", "c"} {
		img := imageOf(t, fx, m)
		for _, v := range values(img) {
			delete(own, v)
		}
	}
	for v := range own {
		if slices.Contains(now, v) {
			t.Errorf("the canonical contact still holds d's own value %s: %v", v, now)
		}
	}
	for _, v := range canonBefore {
		if !own[v] && !slices.Contains(now, v) {
			t.Errorf("the canonical contact lost %s, which another member had: %v", v, now)
		}
	}
	// The id map says where d went.
	merges, err := engine.AppliedMerges(ctx, fx.st)
	if err != nil {
		t.Fatal(err)
	}
	rows := review.WithRestores(review.IDMap(merges), rs)
	i := slices.IndexFunc(rows, func(r review.RestoredMapping) bool { return r.OldID == "d" })
	if i < 0 || rows[i].RestoredID != nid || rows[i].CanonicalID != fx.g.CanonicalID {
		t.Errorf("id map %+v", rows)
	}
	// d, old and new, is a different customer from the rest.
	cons, err := fx.st.Constraints(ctx, cm.ConstraintFilter{Kinds: []cm.ConstraintKind{cm.CannotLink}, Contacts: []string{nid}})
	if err != nil {
		t.Fatal(err)
	}
	var with []string
	for _, c := range cons {
		with = append(with, c.A, c.B)
	}
	for _, id := range []string{"a", "b", "c", canon.ID} {
		if !slices.Contains(with, id) {
			t.Errorf("no cannot-link between %s and %s: %+v", nid, id, cons)
		}
	}
	if musts, _ := fx.st.Constraints(ctx, cm.ConstraintFilter{Kinds: []cm.ConstraintKind{cm.MustLink}, Contacts: []string{"d"}}); len(musts) != 0 {
		t.Errorf("must-links of d remain: %+v", musts)
	}
	return nid
}

func imageOf(t *testing.T, fx *fixture, id string) cm.Contact {
	t.Helper()
	var out cm.Contact
	err := fx.st.Ledger(context.Background(), cm.LedgerFilter{GroupID: fx.g.ID, Kinds: []cm.LedgerKind{cm.LedgerAPI}}, func(ev cm.LedgerEvent) error {
		var cs []cm.Contact
		_ = json.Unmarshal(ev.BeforeImages, &cs)
		for _, c := range cs {
			if c.ID == id && out.ID == "" {
				out = c
			}
		}
		return nil
	})
	if err != nil || out.ID == "" {
		t.Fatalf("no before-image of %s: %v", id, err)
	}
	return out
}

func canonValues(t *testing.T, fx *fixture) []string {
	c, _ := fx.o.SB.Contact(fx.o.Final(fx.g.CanonicalID))
	return values(c)
}

func TestRestoreOneMember(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, dsn(t))
			ctx := context.Background()
			before := imageOf(t, fx, "d")
			canonBefore := canonValues(t, fx)
			r := fx.restorer(t, false)
			p, err := r.Plan(ctx, fx.g.ID, []string{"d"})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Members) != 1 || p.Members[0].ID != "d" || len(p.Removals) == 0 || len(p.Conflicts) != 0 || len(p.Lost) == 0 ||
				!slices.Equal(p.Staying, []string{"a", "b", "c"}) {
				t.Fatalf("plan %+v", p)
			}
			for _, rm := range p.Removals {
				if rm.Member != "d" {
					t.Errorf("removal of another member's value: %+v", rm)
				}
			}
			start := time.Now()
			res, err := r.Execute(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("restore of one member: %d requests, %s", res.Requests, time.Since(start).Round(time.Microsecond))
			nid := checkRestored(t, fx, before, canonBefore)
			if len(res.Restored) != 1 || res.Restored[0].RestoredID != nid || res.Restored[0].Resumed || len(res.Removed) == 0 {
				t.Errorf("result %+v", res)
			}
			// A re-match does not group the restored contact with the rest
			// (the cannot-links checked above are what the matcher obeys).
			mr, err := match.Run(ctx, fx.st, match.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range mr.Groups {
				if slices.Contains(g.Members, nid) && (slices.Contains(g.Members, res.CanonicalID) || slices.Contains(g.Members, "d")) {
					t.Errorf("re-match proposes %v", g.Members)
				}
			}
			// d is restored once.
			if _, err := r.Plan(ctx, fx.g.ID, []string{"d"}); !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), "restored already as "+nid) {
				t.Errorf("second restore of d: %v", err)
			}
		})
	}
}

func TestRestoreBadInput(t *testing.T) {
	fx := newFixture(t, testdb.SQLite(t))
	ctx := context.Background()
	r := fx.restorer(t, false)
	ops := len(fx.o.SB.Oplog())
	for _, tc := range []struct {
		name, group string
		members     []string
		want        string
	}{
		{"unknown group", "g_nope", nil, "no group g_nope"},
		{"not merged", fx.other.ID, nil, "is approved, not merged"},
		{"not a member", fx.g.ID, []string{"e"}, "contact e is not a member"},
		{"every member", fx.g.ID, []string{"a", "b", "c", "d"}, "at least one member stays merged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Plan(ctx, tc.group, tc.members)
			if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was sent") {
				t.Errorf("got %v, want EINVALID with %q", err, tc.want)
			}
		})
	}
	if n := len(fx.o.SB.Oplog()); n != ops {
		t.Errorf("bad input changed the platform: %d operations, want %d", n, ops)
	}
}

func TestRestoreRefusesEditedField(t *testing.T) {
	fx := newFixture(t, testdb.SQLite(t))
	ctx := context.Background()
	api := fx.o.Client(t, nil)
	// Someone edits the canonical contact's title (d's only) after the merge.
	canon, _, err := api.Contacts.Get(ctx, fx.g.CanonicalID)
	if err != nil {
		t.Fatal(err)
	}
	if canon.Title != "Engineer" {
		t.Skipf("survivorship did not take d's title (%q)", canon.Title)
	}
	canon.Title = "Senior Engineer"
	if _, _, err := api.Contacts.UpdateContact(ctx, canon.ID, canon); err != nil {
		t.Fatal(err)
	}
	ops := len(fx.o.SB.Oplog())
	p, err := fx.restorer(t, false).Plan(ctx, fx.g.ID, []string{"d"})
	if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), "title") || !strings.Contains(err.Error(), "Senior Engineer") || p == nil || len(p.Conflicts) != 1 {
		t.Fatalf("plan over an edited field: %+v, %v", p, err)
	}
	if n := len(fx.o.SB.Oplog()); n != ops {
		t.Fatal("a refused restore sent something")
	}
	// --keep-edited: the rest is restored, the edit stays.
	r := fx.restorer(t, true)
	p, err = r.Plan(ctx, fx.g.ID, []string{"d"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Execute(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := fx.o.SB.Contact(res.CanonicalID)
	if after.Title != "Senior Engineer" || len(res.LeftAlone) != 1 {
		t.Errorf("title %q, left alone %+v", after.Title, res.LeftAlone)
	}
}

// TestRestoreExactlyOnceUnderFaults: whatever the create's and the
// update's first answers, one contact is created and the update applied.
func TestRestoreExactlyOnceUnderFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		post, put []string
	}{
		{"timeout504", []string{"504"}, []string{"504"}},
		{"reset after", []string{"reset-after"}, []string{"reset-after"}},
		{"reset before", []string{"reset-before"}, []string{"reset-before"}},
		{"mixed", []string{"reset-before", "504"}, []string{"reset-after", "504"}},
		{"version conflict", nil, []string{"edit-first"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, testdb.SQLite(t))
			ctx := context.Background()
			before := imageOf(t, fx, "d")
			canonBefore := canonValues(t, fx)
			fx.fa.mu.Lock()
			fx.fa.script["POST"], fx.fa.script["PUT"] = tc.post, tc.put
			fx.fa.mu.Unlock()
			r := fx.restorer(t, false)
			p, err := r.Plan(ctx, fx.g.ID, []string{"d"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Execute(ctx, p); err != nil {
				t.Fatal(err)
			}
			checkRestored(t, fx, before, canonBefore)
			var rows bytes.Buffer
			_ = fx.st.Ledger(ctx, cm.LedgerFilter{GroupID: fx.g.ID, Kinds: []cm.LedgerKind{cm.LedgerRestore}}, func(ev cm.LedgerEvent) error {
				rows.WriteString(ev.Request + "\n")
				return nil
			})
			want := "outcome=unknown"
			if tc.name == "version conflict" {
				want = "outcome=conflict"
				if c, _ := fx.o.SB.Contact(fx.o.Final(fx.g.CanonicalID)); c.Salutation != "Dr" {
					t.Errorf("the edit made meanwhile was lost: %+v", c)
				}
			}
			if !strings.Contains(rows.String(), want) {
				t.Errorf("the ledger does not record %s:\n%s", want, rows.String())
			}
		})
	}
}

// TestRestoreNeedsEdit: a client that may create contacts but not edit
// them is stopped before the first create, naming the permission.
func TestRestoreNeedsEdit(t *testing.T) {
	fx := newFixture(t, testdb.SQLite(t))
	ctx := context.Background()
	api, err := genesys.NewClient(ctx, genesys.Config{Region: fx.o.URL, ClientID: "no-edit", ClientSecret: "no-edit-secret", RatePerMinute: fx.o.Rate})
	if err != nil {
		t.Fatal(err)
	}
	r := restore.New(fx.st, api, restore.Config{Settle: 300 * time.Millisecond})
	p, err := r.Plan(ctx, fx.g.ID, []string{"d"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Execute(ctx, p)
	var pe *genesys.PermissionError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "externalContacts:contact:edit") || !strings.Contains(err.Error(), "nothing was sent") {
		t.Fatalf("execute without the edit permission: %v", err)
	}
	if n := creates(fx.o); n != 0 {
		t.Fatalf("%d contacts created without the edit permission", n)
	}
}

// TestRestoreConcurrent: two restores of the same member at once (the
// console and the command line, say) create one contact and record one
// done row.
func TestRestoreConcurrent(t *testing.T) {
	fx := newFixture(t, testdb.SQLite(t))
	ctx := context.Background()
	before := imageOf(t, fx, "d")
	canonBefore := canonValues(t, fx)
	var plans [2]*restore.Plan
	var rs [2]*restore.Restorer
	for i := range plans {
		rs[i] = restore.New(fx.st, fx.o.Client(t, nil), restore.Config{Owner: fmt.Sprintf("p%d", i), Settle: 300 * time.Millisecond, LeaseTTL: 5 * time.Second})
		p, err := rs[i].Plan(ctx, fx.g.ID, []string{"d"})
		if err != nil {
			t.Fatal(err)
		}
		plans[i] = p
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range plans {
		wg.Go(func() { _, errs[i] = rs[i].Execute(ctx, plans[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("restore %d: %v", i, err)
		}
	}
	checkRestored(t, fx, before, canonBefore)
}
