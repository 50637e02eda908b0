// Package storetest is the conformance suite of store.Store: every backend
// runs the same tests through Run.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// Harness tells Run how to reach a backend.
type Harness struct {
	// NewDSN returns the dsn of a fresh, empty database (a SQLite path in a
	// temp dir, or a PostgreSQL URL with its own schema). It must register
	// any cleanup with t.
	NewDSN func(t *testing.T) string
	// Exec runs raw SQL on the database named by dsn, bypassing the store
	// (used to prove that the database itself refuses ledger edits).
	Exec func(t *testing.T, dsn, sql string) error
}

// Clock is a settable test clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// t0 is the suite's start time.
func t0() time.Time { return time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC) }

// env is one test's store.
type env struct {
	t     *testing.T
	dsn   string
	s     store.Store
	clock *Clock
}

// normalizer is the suite's Normalizer: "<lastName>|<workEmail>".
func normalizer(c *cm.Contact) []byte { return []byte(c.LastName + "|" + c.WorkEmail) }

func open(t *testing.T, h Harness, dsn string, clock *Clock) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, store.Options{Normalizer: normalizer, Now: clock.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	dsn := h.NewDSN(t)
	clock := NewClock(t0())
	return &env{t: t, dsn: dsn, s: open(t, h, dsn, clock), clock: clock}
}

// Run runs the conformance suite against the backend h reaches.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"Contacts", testContacts},
		{"ContactsModifyDate", testContactsModifyDate},
		{"EachOrderAndStop", testEachOrderAndStop},
		{"Scan", testScan},
		{"SaveProposals", testSaveProposals},
		{"TransitionChecks", testTransitionChecks},
		{"TransitionEffects", testTransitionEffects},
		{"TransitionLease", testTransitionLease},
		{"TransitionChildren", testTransitionChildren},
		{"Leases", testLeases},
		{"Ledger", testLedger},
		{"LedgerImmutable", testLedgerImmutable},
		{"GroupsFilterAndCount", testGroupsFilterAndCount},
		{"ConcurrentTransition", testConcurrentTransition},
		{"ConcurrentLeases", testConcurrentLeases},
		{"Migrations", testMigrations},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func ctx() context.Context { return context.Background() }

func contact(id, last string, md time.Time) cm.Contact {
	return cm.Contact{
		ID: id, FirstName: "Ann", LastName: last, WorkEmail: last + "@example.com",
		Division: &cm.Ref{ID: "d1"}, Type: cm.TypeCurated, ModifyDate: md,
		CellPhone: &cm.PhoneNumber{Display: "+1 317-555-0100", E164: "+13175550100"},
		TwitterID: json.RawMessage(`{"screenName":"x"}`),
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if cm.ErrorCode(err) != code {
		t.Fatalf("error = %v (code %q), want code %q", err, cm.ErrorCode(err), code)
	}
}

func ledgerRows(t *testing.T, s store.Store, f cm.LedgerFilter) []cm.LedgerEvent {
	t.Helper()
	var out []cm.LedgerEvent
	must(t, s.Ledger(ctx(), f, func(e cm.LedgerEvent) error { out = append(out, e); return nil }))
	return out
}

func testContacts(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	a, b := contact("c2", "Smith", t0()), contact("c1", "Jones", t0())
	must(t, s.UpsertContacts(ctx(), []cm.Contact{a, b}))
	got, err := s.Contacts(ctx(), []string{"c1", "c2", "nope"})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("Contacts returned %d, want 2", len(got))
	}
	if d := cmp.Diff(a, got["c2"]); d != "" {
		t.Fatalf("round trip changed the contact (-want +got):\n%s", d)
	}
	n, err := s.CountContacts(ctx())
	must(t, err)
	if n != 2 {
		t.Fatalf("CountContacts = %d", n)
	}
	wantCode(t, s.UpsertContacts(ctx(), []cm.Contact{{FirstName: "no id"}}), cm.EINVALID)
	must(t, s.DeleteContacts(ctx(), []string{"c1", "unknown"}))
	got, err = s.Contacts(ctx(), []string{"c1", "c2"})
	must(t, err)
	if _, ok := got["c1"]; ok || len(got) != 1 {
		t.Fatalf("after delete: %v", slices.Collect(mapKeys(got)))
	}
	// Many contacts in one call (several statement batches and chunks).
	var many []cm.Contact
	for i := range 1234 {
		many = append(many, contact(fmt.Sprintf("m%05d", i), "Many", t0()))
	}
	must(t, s.UpsertContacts(ctx(), many))
	ids := make([]string, 0, len(many))
	for _, c := range many {
		ids = append(ids, c.ID)
	}
	got, err = s.Contacts(ctx(), ids)
	must(t, err)
	if len(got) != len(many) {
		t.Fatalf("Contacts(1234 ids) = %d", len(got))
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func testContactsModifyDate(t *testing.T, h Harness) {
	s := newEnv(t, h).s
	get := func() cm.Contact {
		t.Helper()
		m, err := s.Contacts(ctx(), []string{"c1"})
		must(t, err)
		return m["c1"]
	}
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "V1", t0())}))
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "Older", t0().Add(-time.Second))}))
	if got := get().LastName; got != "V1" {
		t.Fatalf("an older modifyDate replaced the contact: %s", got)
	}
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "Same", t0())}))
	if got := get().LastName; got != "Same" {
		t.Fatalf("an equal modifyDate did not replace the contact: %s", got)
	}
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "Newer", t0().Add(time.Millisecond))}))
	if got := get().LastName; got != "Newer" {
		t.Fatalf("a newer modifyDate did not replace the contact: %s", got)
	}
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "NoDate", time.Time{})}))
	if got := get().LastName; got != "Newer" {
		t.Fatalf("a contact without modifyDate replaced a dated one: %s", got)
	}
	// Within one call, the newest version of an id wins whatever the order.
	must(t, s.UpsertContacts(ctx(), []cm.Contact{
		contact("c2", "B-new", t0().Add(time.Hour)), contact("c2", "B-old", t0()),
	}))
	m, err := s.Contacts(ctx(), []string{"c2"})
	must(t, err)
	if m["c2"].LastName != "B-new" {
		t.Fatalf("duplicate ids in one call: got %s", m["c2"].LastName)
	}
}

func testEachOrderAndStop(t *testing.T, h Harness) {
	s := newEnv(t, h).s
	ids := []string{"b", "a", "d", "c"}
	for _, id := range ids {
		must(t, s.UpsertContacts(ctx(), []cm.Contact{contact(id, "L"+id, t0())}))
	}
	var seen []string
	must(t, s.EachContact(ctx(), func(c *cm.Contact) error { seen = append(seen, c.ID); return nil }))
	if !slices.Equal(seen, []string{"a", "b", "c", "d"}) {
		t.Fatalf("EachContact order = %v", seen)
	}
	seen = nil
	norms := map[string]string{}
	must(t, s.EachNorm(ctx(), func(id string, norm []byte) error {
		seen = append(seen, id)
		norms[id] = string(norm)
		return nil
	}))
	if !slices.Equal(seen, []string{"a", "b", "c", "d"}) || norms["c"] != "Lc|Lc@example.com" {
		t.Fatalf("EachNorm = %v %v", seen, norms)
	}
	stop := errors.New("stop")
	n := 0
	err := s.EachContact(ctx(), func(*cm.Contact) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("EachContact did not stop: %v after %d", err, n)
	}
	n = 0
	err = s.EachNorm(ctx(), func(string, []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("EachNorm did not stop: %v after %d", err, n)
	}
	// A store without a Normalizer stores nil norms.
	plain, err := store.Open(ctx(), h.NewDSN(t), store.Options{})
	must(t, err)
	defer plain.Close()
	must(t, plain.UpsertContacts(ctx(), []cm.Contact{contact("x", "X", t0())}))
	must(t, plain.EachNorm(ctx(), func(id string, norm []byte) error {
		if norm != nil {
			t.Fatalf("norm without Normalizer = %q", norm)
		}
		return nil
	}))
}

func testScan(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	st, err := s.ScanState(ctx(), "full")
	must(t, err)
	if d := cmp.Diff(cm.ScanState{Name: "full"}, st); d != "" {
		t.Fatalf("never-run scan (-want +got):\n%s", d)
	}
	page := []cm.Contact{contact("c1", "A", t0()), contact("c2", "B", t0())}
	must(t, s.SaveScanPage(ctx(), cm.ScanState{Name: "full", Cursor: "p2", Pages: 1, Contacts: 2}, page))
	e.clock.Advance(time.Minute)
	must(t, s.SaveScanPage(ctx(), cm.ScanState{Name: "full", Cursor: "", Pages: 2, Contacts: 3, Done: true},
		[]cm.Contact{contact("c3", "C", t0())}))
	st, err = s.ScanState(ctx(), "full")
	must(t, err)
	want := cm.ScanState{Name: "full", Pages: 2, Contacts: 3, Done: true, StartedAt: t0(), UpdatedAt: t0().Add(time.Minute)}
	if d := cmp.Diff(want, st); d != "" {
		t.Fatalf("scan state (-want +got):\n%s", d)
	}
	if n, _ := s.CountContacts(ctx()); n != 3 {
		t.Fatalf("scan pages stored %d contacts", n)
	}
	// A reopened store resumes from the saved cursor.
	must(t, s.SaveScanPage(ctx(), cm.ScanState{Name: "inc", Cursor: "next", Pages: 7, Contacts: 1400}, nil))
	s2 := open(t, h, e.dsn, e.clock)
	st, err = s2.ScanState(ctx(), "inc")
	must(t, err)
	if st.Cursor != "next" || st.Pages != 7 || st.Contacts != 1400 || st.Done {
		t.Fatalf("resumed scan = %+v", st)
	}
	must(t, s2.ResetScan(ctx(), "inc"))
	st, err = s2.ScanState(ctx(), "inc")
	must(t, err)
	if st.Cursor != "" || st.Pages != 0 {
		t.Fatalf("after ResetScan: %+v", st)
	}
	// A failing page (bad contact) records no progress.
	err = s.SaveScanPage(ctx(), cm.ScanState{Name: "full", Cursor: "zzz", Pages: 9}, []cm.Contact{{}})
	wantCode(t, err, cm.EINVALID)
	st, _ = s.ScanState(ctx(), "full")
	if st.Pages != 2 {
		t.Fatalf("a failed page changed the scan state: %+v", st)
	}
}

func group(conf float64, members ...string) cm.Group {
	return cm.Group{
		Members: members, SurvivorID: members[0], Confidence: conf,
		Merged:      &cm.Contact{ID: members[0], LastName: "Merged"},
		Explanation: &cm.Explanation{Links: []cm.PairEvidence{{A: members[0], B: members[1], Weight: 9.5, Probability: conf}}},
		Unkept:      []cm.UnkeptValue{{ContactID: members[1], Field: "otherPhone", Value: "+15550000"}},
	}
}

func testSaveProposals(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	gA, gB, gC, gD := group(0.9, "a1", "a2"), group(0.8, "b1", "b2"), group(0.7, "c1", "c2"), group(0.6, "d2", "d1")
	res, err := s.SaveProposals(ctx(), []cm.Group{gA, gB, gC, gD}, "match")
	must(t, err)
	if res != (cm.ProposalResult{Created: 4}) {
		t.Fatalf("first run = %+v", res)
	}
	idD := cm.GroupID([]string{"d1", "d2"})
	g, err := s.Group(ctx(), idD)
	must(t, err)
	if g.State != cm.StateProposed || g.Version != 1 || !slices.Equal(g.Members, []string{"d1", "d2"}) ||
		g.CreatedAt != t0() || g.Merged == nil || g.Merged.LastName != "Merged" || len(g.Unkept) != 1 ||
		g.Explanation == nil || g.Explanation.Links[0].Weight != 9.5 {
		t.Fatalf("created group = %+v", g)
	}
	idA, idB, idC := cm.GroupID(gA.Members), cm.GroupID(gB.Members), cm.GroupID(gC.Members)
	// Approve A with a decision, move C to ready (not supersedable).
	_, err = s.Transition(ctx(), cm.Transition{GroupID: idA, To: cm.StateApproved, Actor: "ann",
		Decision: &cm.Decision{Approve: true, Actor: "ann", Reason: "looks right"}})
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: idC, To: cm.StateApproved, Actor: "policy"})
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: idC, To: cm.StateReady, Actor: "preflight"})
	must(t, err)

	// Second run: A with a new explanation, B unchanged; C and D absent.
	gA2 := gA
	gA2.Confidence = 0.95
	gA2.Explanation = &cm.Explanation{Notes: []string{"re-scored"}}
	e.clock.Advance(time.Hour)
	res, err = s.SaveProposals(ctx(), []cm.Group{gA2, gB}, "match")
	must(t, err)
	if res != (cm.ProposalResult{Kept: 2, Superseded: 1}) {
		t.Fatalf("second run = %+v", res)
	}
	a, err := s.Group(ctx(), idA)
	must(t, err)
	if a.State != cm.StateApproved || a.Confidence != 0.95 || a.Explanation.Notes[0] != "re-scored" || a.Version != 3 {
		t.Fatalf("kept group A = %+v", a)
	}
	b, err := s.Group(ctx(), idB)
	must(t, err)
	if b.Version != 1 || !b.UpdatedAt.Equal(t0()) {
		t.Fatalf("an unchanged group was rewritten: %+v", b)
	}
	ds, err := s.Decisions(ctx(), idA)
	must(t, err)
	if len(ds) != 1 || !ds[0].Approve || ds[0].Actor != "ann" || ds[0].Reason != "looks right" || ds[0].At != t0() {
		t.Fatalf("decisions of A = %+v", ds)
	}
	if c, err := s.Group(ctx(), idC); err != nil || c.State != cm.StateReady {
		t.Fatalf("ready group C was touched: %+v %v", c, err)
	}
	_, err = s.Group(ctx(), idD)
	wantCode(t, err, cm.ENOTFOUND)
	notes := ledgerRows(t, s, cm.LedgerFilter{GroupID: idD, Kinds: []cm.LedgerKind{cm.LedgerNote}})
	if len(notes) != 1 || notes[0].From != cm.StateProposed || notes[0].Actor != "match" {
		t.Fatalf("supersede note = %+v", notes)
	}
	// Ledger transition rows of A: created, approved, refreshed = version.
	tr := ledgerRows(t, s, cm.LedgerFilter{GroupID: idA, Kinds: []cm.LedgerKind{cm.LedgerTransition}})
	if int64(len(tr)) != a.Version || tr[0].To != cm.StateProposed || tr[2].From != cm.StateApproved || tr[2].To != cm.StateApproved {
		t.Fatalf("transition rows of A = %+v", tr)
	}
	byMember, err := s.GroupIDsByMember(ctx(), []string{"a1", "d1", "c2", "zz"})
	must(t, err)
	if d := cmp.Diff(map[string][]string{"a1": {idA}, "c2": {idC}}, byMember); d != "" {
		t.Fatalf("GroupIDsByMember after supersede (-want +got):\n%s", d)
	}
	// D was decided before it was superseded; its decisions went with it.
	must(t, func() error {
		_, err := s.SaveProposals(ctx(), []cm.Group{gA2, gB, gD}, "match")
		return err
	}())
	_, err = s.Transition(ctx(), cm.Transition{GroupID: idD, To: cm.StateRejected, Decision: &cm.Decision{Actor: "bob", Reason: "no"}})
	must(t, err)
	res, err = s.SaveProposals(ctx(), []cm.Group{gA2, gB}, "match")
	must(t, err)
	if res.Superseded != 1 {
		t.Fatalf("rejected D not superseded: %+v", res)
	}
	if ds, _ := s.Decisions(ctx(), idD); len(ds) != 0 {
		t.Fatalf("decisions of a superseded group remain: %+v", ds)
	}
	// Third run brings D back as a new proposal.
	res, err = s.SaveProposals(ctx(), []cm.Group{gA2, gB, gD}, "match")
	must(t, err)
	if res != (cm.ProposalResult{Created: 1, Kept: 2}) {
		t.Fatalf("third run = %+v", res)
	}
	// Invalid input writes nothing.
	_, err = s.SaveProposals(ctx(), []cm.Group{{}}, "match")
	wantCode(t, err, cm.EINVALID)
}

// seedGroup creates one proposed group and returns it.
func seedGroup(t *testing.T, s store.Store, members ...string) cm.Group {
	t.Helper()
	_, err := s.SaveProposals(ctx(), []cm.Group{group(0.9, members...)}, "seed")
	must(t, err)
	g, err := s.Group(ctx(), cm.GroupID(members))
	must(t, err)
	return g
}

// seedGroups creates proposed groups in one match run.
func seedGroups(t *testing.T, s store.Store, gs ...cm.Group) {
	t.Helper()
	_, err := s.SaveProposals(ctx(), gs, "seed")
	must(t, err)
}

func countLedger(t *testing.T, s store.Store) int {
	t.Helper()
	return len(ledgerRows(t, s, cm.LedgerFilter{}))
}

func testTransitionChecks(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	g := seedGroup(t, s, "x1", "x2")
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("x1", "X", t0())}))
	before := countLedger(t, s)
	// Every failing check returns ECONFLICT and writes nothing, including
	// the contact changes, decision and events of the transition.
	side := func(tr cm.Transition) cm.Transition {
		tr.GroupID = g.ID
		tr.UpsertContacts = []cm.Contact{contact("new", "N", t0())}
		tr.DeleteContacts = []string{"x1"}
		tr.Decision = &cm.Decision{Approve: true, Actor: "ann"}
		tr.Events = []cm.LedgerEvent{{Kind: cm.LedgerNote, Detail: "should not appear"}}
		tr.Update = func(g *cm.Group) { g.Reason = "changed" }
		return tr
	}
	for name, tr := range map[string]cm.Transition{
		"from":    side(cm.Transition{From: []cm.GroupState{cm.StateReady, cm.StateApproved}, To: cm.StateInFlight}),
		"version": side(cm.Transition{Version: g.Version + 1, To: cm.StateApproved}),
		"edge":    side(cm.Transition{To: cm.StateMerged}),
		"lease":   side(cm.Transition{To: cm.StateApproved, Lease: &cm.Lease{Owner: "w1", Token: 1}}),
	} {
		_, err := s.Transition(ctx(), tr)
		if cm.ErrorCode(err) != cm.ECONFLICT {
			t.Errorf("%s: error %v, want ECONFLICT", name, err)
		}
	}
	_, err := s.Transition(ctx(), cm.Transition{GroupID: "g_missing", To: cm.StateApproved})
	wantCode(t, err, cm.ENOTFOUND)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: "bogus"})
	wantCode(t, err, cm.EINVALID)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateApproved,
		Events: []cm.LedgerEvent{{Kind: cm.LedgerTransition}}})
	wantCode(t, err, cm.EINVALID)

	got, err := s.Group(ctx(), g.ID)
	must(t, err)
	if d := cmp.Diff(g, got); d != "" {
		t.Fatalf("a failed transition changed the group (-want +got):\n%s", d)
	}
	if n := countLedger(t, s); n != before {
		t.Fatalf("failed transitions wrote %d ledger rows", n-before)
	}
	cs, _ := s.Contacts(ctx(), []string{"x1", "new"})
	if _, ok := cs["x1"]; !ok || len(cs) != 1 {
		t.Fatalf("failed transitions changed contacts: %v", slices.Collect(mapKeys(cs)))
	}
	if ds, _ := s.Decisions(ctx(), g.ID); len(ds) != 0 {
		t.Fatalf("failed transitions recorded decisions: %+v", ds)
	}
	// A self-transition records an update.
	up, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateProposed},
		To: cm.StateProposed, Version: g.Version, Update: func(g *cm.Group) { g.Reason = "noted" }})
	must(t, err)
	if up.Version != g.Version+1 || up.Reason != "noted" {
		t.Fatalf("self transition = %+v", up)
	}
	// The failed edge is allowed from any state except merged and split.
	_, err = s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateFailed, Update: func(g *cm.Group) { g.Reason = "bad" }})
	must(t, err)
}

func testTransitionEffects(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	g := seedGroup(t, s, "m1", "m2")
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("m1", "One", t0()), contact("m2", "Two", t0())}))
	_, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateApproved, Actor: "ann",
		Decision: &cm.Decision{Approve: true, Actor: "ann", Reason: "ok", Survivor: "m2"}})
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateReady, Actor: "preflight"})
	must(t, err)
	key := cm.IdempotencyKey(g.Members, 1)
	e.clock.Advance(time.Second)
	inflight, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateReady},
		To: cm.StateInFlight, Version: 3, Actor: "worker-1", Detail: "submit",
		Update: func(g *cm.Group) { g.Attempts++; g.IdempotencyKey = key; g.PlanVersion = 1 }})
	must(t, err)
	if inflight.State != cm.StateInFlight || inflight.Version != 4 || inflight.Attempts != 1 ||
		inflight.UpdatedAt != t0().Add(time.Second) || inflight.CreatedAt != t0() {
		t.Fatalf("in_flight group = %+v", inflight)
	}
	stored, err := s.Group(ctx(), g.ID)
	must(t, err)
	if d := cmp.Diff(inflight, stored); d != "" {
		t.Fatalf("returned group differs from stored (-ret +stored):\n%s", d)
	}
	before := json.RawMessage(`[{"id":"m1","lastName":"One"},{"id":"m2","lastName":"Two"}]`)
	merged := contact("m9", "Merged", t0().Add(time.Second))
	out, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight},
		To: cm.StateMerged, Actor: "worker-1", Detail: "2xx",
		Update:         func(g *cm.Group) { g.CanonicalID = "m9" },
		UpsertContacts: []cm.Contact{merged},
		DeleteContacts: []string{"m1", "m2"},
		Events: []cm.LedgerEvent{{Kind: cm.LedgerAPI, Request: "POST /api/v2/externalcontacts/merge/contacts",
			Status: 200, CorrelationID: "corr-1", CanonicalID: "m9", BeforeImages: before, Attempt: 1,
			IdempotencyKey: key, Unkept: []cm.UnkeptValue{{ContactID: "m2", Field: "otherPhone", Value: "+1555"}}}},
	})
	must(t, err)
	if out.CanonicalID != "m9" || out.State != cm.StateMerged {
		t.Fatalf("merged group = %+v", out)
	}
	cs, err := s.Contacts(ctx(), []string{"m1", "m2", "m9"})
	must(t, err)
	if len(cs) != 1 || cs["m9"].LastName != "Merged" {
		t.Fatalf("contacts after merge: %v", slices.Collect(mapKeys(cs)))
	}
	ds, err := s.Decisions(ctx(), g.ID)
	must(t, err)
	if len(ds) != 1 || ds[0].Survivor != "m2" || ds[0].GroupID != g.ID {
		t.Fatalf("decisions = %+v", ds)
	}
	rows := ledgerRows(t, s, cm.LedgerFilter{GroupID: g.ID})
	var kinds []string
	for _, r := range rows {
		kinds = append(kinds, string(r.Kind)+":"+string(r.From)+">"+string(r.To))
	}
	want := []string{"transition:>proposed", "transition:proposed>approved", "transition:approved>ready",
		"transition:ready>in_flight", "transition:in_flight>merged", "api:>"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("ledger = %v, want %v", kinds, want)
	}
	inf, api := rows[3], rows[5]
	if inf.Actor != "worker-1" || inf.Attempt != 1 || inf.IdempotencyKey != key || inf.Detail != "submit" || inf.At != t0().Add(time.Second) {
		t.Fatalf("in_flight row = %+v", inf)
	}
	if rows[4].CanonicalID != "m9" {
		t.Fatalf("merged row = %+v", rows[4])
	}
	var gotBefore, wantBefore any
	must(t, json.Unmarshal(api.BeforeImages, &gotBefore))
	must(t, json.Unmarshal(before, &wantBefore))
	if api.Status != 200 || api.CorrelationID != "corr-1" || api.GroupID != g.ID || !cmp.Equal(gotBefore, wantBefore) ||
		len(api.Unkept) != 1 || api.Unkept[0].Value != "+1555" || api.Attempt != 1 || api.Request == "" {
		t.Fatalf("api row = %+v", api)
	}
	// Merged is final.
	_, err = s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateFailed})
	wantCode(t, err, cm.ECONFLICT)
}

func testTransitionLease(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	g := seedGroup(t, s, "l1", "l2", "l3")
	tr := func(l *cm.Lease) error {
		_, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateProposed, Lease: l})
		return err
	}
	// Only part of the members leased.
	tok, err := s.AcquireLeases(ctx(), "w1", []string{"l1", "l2"}, time.Minute)
	must(t, err)
	wantCode(t, tr(&cm.Lease{Owner: "w1", Token: tok}), cm.ECONFLICT)
	tok, err = s.AcquireLeases(ctx(), "w1", g.Members, time.Minute)
	must(t, err)
	must(t, tr(&cm.Lease{Owner: "w1", Token: tok}))
	wantCode(t, tr(&cm.Lease{Owner: "w1", Token: tok - 1}), cm.ECONFLICT)
	wantCode(t, tr(&cm.Lease{Owner: "w2", Token: tok}), cm.ECONFLICT)
	// Expired: w2 takes over; w1's old token is fenced off.
	e.clock.Advance(2 * time.Minute)
	wantCode(t, tr(&cm.Lease{Owner: "w1", Token: tok}), cm.ECONFLICT)
	tok2, err := s.AcquireLeases(ctx(), "w2", g.Members, time.Minute)
	must(t, err)
	if tok2 <= tok {
		t.Fatalf("fencing token did not grow: %d then %d", tok, tok2)
	}
	wantCode(t, tr(&cm.Lease{Owner: "w1", Token: tok}), cm.ECONFLICT)
	must(t, tr(&cm.Lease{Owner: "w2", Token: tok2}))
}

func testTransitionChildren(t *testing.T, h Harness) {
	s := newEnv(t, h).s
	g := seedGroup(t, s, "s1", "s2", "s3", "s4")
	for _, to := range []cm.GroupState{cm.StateApproved, cm.StateReady, cm.StateInFlight} {
		_, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: to})
		must(t, err)
	}
	left := cm.Group{Members: []string{"s2", "s1"}, SurvivorID: "s1", State: cm.StateReady}
	right := cm.Group{Members: []string{"s3", "s4"}, SurvivorID: "s3", State: cm.StateReady}
	_, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight},
		To: cm.StateSplit, Actor: "bisect", Children: []cm.Group{left, right},
		Update: func(g *cm.Group) { g.Reason = "409 conflict" }})
	must(t, err)
	byMember, err := s.GroupIDsByMember(ctx(), []string{"s1", "s4"})
	must(t, err)
	if len(byMember["s1"]) != 2 || !slices.Contains(byMember["s1"], cm.GroupID(left.Members)) || len(byMember["s4"]) != 2 {
		t.Fatalf("GroupIDsByMember after split = %v", byMember)
	}
	// Re-membering a group (Update changes Members) moves its member rows.
	_, err = s.Transition(ctx(), cm.Transition{GroupID: cm.GroupID(right.Members), To: cm.StateReady,
		Update: func(g *cm.Group) { g.Members = []string{"s3"} }})
	must(t, err)
	if byMember, _ = s.GroupIDsByMember(ctx(), []string{"s4"}); len(byMember["s4"]) != 1 {
		t.Fatalf("s4 still in the re-membered group: %v", byMember)
	}
	kids, err := s.Groups(ctx(), cm.GroupFilter{IDs: []string{cm.GroupID(left.Members), cm.GroupID(right.Members)}})
	must(t, err)
	if len(kids) != 2 {
		t.Fatalf("children = %+v", kids)
	}
	for _, k := range kids {
		if k.ParentID != g.ID || k.State != cm.StateReady || !slices.IsSorted(k.Members) {
			t.Fatalf("child = %+v", k)
		}
		if rows := ledgerRows(t, s, cm.LedgerFilter{GroupID: k.ID, Kinds: []cm.LedgerKind{cm.LedgerTransition}}); int64(len(rows)) != k.Version || rows[0].To != cm.StateReady {
			t.Fatalf("child ledger = %+v", rows)
		}
	}
	// A child that already exists fails the whole transition.
	other := seedGroup(t, s, "o1", "o2")
	before := countLedger(t, s)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: other.ID, To: cm.StateApproved, Children: []cm.Group{left}})
	wantCode(t, err, cm.ECONFLICT)
	if o, _ := s.Group(ctx(), other.ID); o.State != cm.StateProposed || countLedger(t, s) != before {
		t.Fatalf("failed split wrote: %+v", o)
	}
}

func testLeases(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	t1, err := s.AcquireLeases(ctx(), "w1", []string{"b", "a"}, time.Minute)
	must(t, err)
	// All or none: "c" is free but "b" is held.
	_, err = s.AcquireLeases(ctx(), "w2", []string{"c", "b"}, time.Minute)
	wantCode(t, err, cm.ECONFLICT)
	t2, err := s.AcquireLeases(ctx(), "w3", []string{"c"}, time.Minute)
	must(t, err)
	if t2 <= t1 {
		t.Fatalf("tokens not monotonic: %d %d", t1, t2)
	}
	// "c" went to w3, proving w2 left nothing behind; w2 cannot take it.
	_, err = s.AcquireLeases(ctx(), "w2", []string{"c"}, time.Minute)
	wantCode(t, err, cm.ECONFLICT)
	// Re-entrant: w1 extends its own leases (and gets a new token).
	e.clock.Advance(50 * time.Second)
	t3, err := s.AcquireLeases(ctx(), "w1", []string{"a", "b"}, time.Minute)
	must(t, err)
	if t3 <= t2 {
		t.Fatalf("re-entrant token %d not above %d", t3, t2)
	}
	e.clock.Advance(50 * time.Second) // 100 s after the first acquire, 50 s after the extension
	_, err = s.AcquireLeases(ctx(), "w2", []string{"a"}, time.Minute)
	wantCode(t, err, cm.ECONFLICT)
	// Expiry: c (acquired at 0 s for 60 s) is free now.
	if _, err := s.AcquireLeases(ctx(), "w2", []string{"c"}, time.Minute); err != nil {
		t.Fatalf("expired lease not taken over: %v", err)
	}
	// Release only touches the owner's leases.
	must(t, s.ReleaseLeases(ctx(), "w2", []string{"a", "b", "c"}))
	_, err = s.AcquireLeases(ctx(), "w4", []string{"a"}, time.Minute)
	wantCode(t, err, cm.ECONFLICT)
	must(t, s.ReleaseLeases(ctx(), "w1", []string{"a", "b"}))
	if _, err := s.AcquireLeases(ctx(), "w4", []string{"a", "b", "c"}, time.Minute); err != nil {
		t.Fatalf("released leases not free: %v", err)
	}
	_, err = s.AcquireLeases(ctx(), "", []string{"a"}, time.Minute)
	wantCode(t, err, cm.EINVALID)
	_, err = s.AcquireLeases(ctx(), "w1", nil, time.Minute)
	wantCode(t, err, cm.EINVALID)
}

func testLedger(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	seedGroups(t, s, group(0.9, "p1", "p2"), group(0.9, "q1", "q2"))
	g1, g2 := cm.Group{ID: cm.GroupID([]string{"p1", "p2"})}, cm.Group{ID: cm.GroupID([]string{"q1", "q2"})}
	must(t, s.AppendLedger(ctx(),
		cm.LedgerEvent{GroupID: g1.ID, Detail: "note 1"},
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: g2.ID, Status: 504, At: t0().Add(-time.Hour)},
	))
	wantCode(t, s.AppendLedger(ctx(), cm.LedgerEvent{Kind: cm.LedgerTransition, GroupID: g1.ID}), cm.EINVALID)
	wantCode(t, s.AppendLedger(ctx(), cm.LedgerEvent{BeforeImages: json.RawMessage("{bad")}), cm.EINVALID)
	all := ledgerRows(t, s, cm.LedgerFilter{})
	if len(all) != 4 {
		t.Fatalf("ledger has %d rows, want 4: %+v", len(all), all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("ledger not in sequence order: %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
	if all[2].Kind != cm.LedgerNote || all[2].At != t0() || all[3].At != t0().Add(-time.Hour) {
		t.Fatalf("defaults: %+v %+v", all[2], all[3])
	}
	if r := ledgerRows(t, s, cm.LedgerFilter{GroupID: g2.ID}); len(r) != 2 {
		t.Fatalf("by group: %d rows", len(r))
	}
	if r := ledgerRows(t, s, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerAPI, cm.LedgerNote}}); len(r) != 2 {
		t.Fatalf("by kinds: %d rows", len(r))
	}
	if r := ledgerRows(t, s, cm.LedgerFilter{AfterSeq: all[1].Seq, Limit: 1}); len(r) != 1 || r[0].Seq != all[2].Seq {
		t.Fatalf("after seq + limit: %+v", r)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Ledger(ctx(), cm.LedgerFilter{}, func(cm.LedgerEvent) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Ledger did not stop: %v %d", err, n)
	}
}

func testLedgerImmutable(t *testing.T, h Harness) {
	e := newEnv(t, h)
	seedGroup(t, e.s, "i1", "i2")
	for _, q := range []string{
		"UPDATE ledger SET detail = 'forged'",
		"DELETE FROM ledger",
	} {
		if err := h.Exec(t, e.dsn, q); err == nil {
			t.Errorf("%q succeeded on the ledger", q)
		}
	}
	rows := ledgerRows(t, e.s, cm.LedgerFilter{})
	if len(rows) != 1 || rows[0].Detail == "forged" {
		t.Fatalf("ledger changed: %+v", rows)
	}
}

func testGroupsFilterAndCount(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	seedGroups(t, s, group(0.5, "a1", "a2"), group(0.7, "b1", "b2"), group(0.9, "c1", "c2"), group(0.95, "d1", "d2"))
	all, err := s.Groups(ctx(), cm.GroupFilter{})
	must(t, err)
	if len(all) != 4 || !slices.IsSortedFunc(all, func(a, b cm.Group) int { return compare(a.ID, b.ID) }) {
		t.Fatalf("Groups() = %d groups, sorted=%v", len(all), len(all) == 4)
	}
	_, err = s.Transition(ctx(), cm.Transition{GroupID: all[0].ID, To: cm.StateApproved})
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: all[0].ID, To: cm.StateQuarantined,
		Update: func(g *cm.Group) { g.RetryAt = t0().Add(time.Hour); g.Quarantines++; g.Reason = "active conversation" }})
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: all[1].ID, To: cm.StateRejected})
	must(t, err)
	counts, err := s.CountByState(ctx())
	must(t, err)
	if d := cmp.Diff(map[cm.GroupState]int{cm.StateProposed: 2, cm.StateQuarantined: 1, cm.StateRejected: 1}, counts); d != "" {
		t.Fatalf("CountByState (-want +got):\n%s", d)
	}
	q, err := s.Groups(ctx(), cm.GroupFilter{States: []cm.GroupState{cm.StateQuarantined}, RetryBefore: t0().Add(30 * time.Minute)})
	must(t, err)
	if len(q) != 0 {
		t.Fatalf("quarantined group due too early: %+v", q)
	}
	q, err = s.Groups(ctx(), cm.GroupFilter{States: []cm.GroupState{cm.StateQuarantined}, RetryBefore: t0().Add(time.Hour)})
	must(t, err)
	if len(q) != 1 || q[0].RetryAt != t0().Add(time.Hour) || q[0].Quarantines != 1 {
		t.Fatalf("due quarantined groups = %+v", q)
	}
	hi, err := s.Groups(ctx(), cm.GroupFilter{MinConfidence: 0.9})
	must(t, err)
	if len(hi) != 2 {
		t.Fatalf("MinConfidence 0.9: %d groups", len(hi))
	}
	var paged []string
	after := ""
	for {
		page, err := s.Groups(ctx(), cm.GroupFilter{AfterID: after, Limit: 3})
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, g := range page {
			paged = append(paged, g.ID)
		}
		after = page[len(page)-1].ID
	}
	if len(paged) != 4 || !slices.IsSorted(paged) {
		t.Fatalf("keyset paging = %v", paged)
	}
	byID, err := s.Groups(ctx(), cm.GroupFilter{IDs: []string{all[3].ID, all[2].ID, "g_none"}, States: []cm.GroupState{cm.StateProposed}})
	must(t, err)
	if len(byID) != 2 || byID[0].ID != all[2].ID {
		t.Fatalf("by ids = %+v", byID)
	}
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testConcurrentTransition(t *testing.T, h Harness) {
	e := newEnv(t, h)
	// A second store on the same database stands in for a second process.
	other := open(t, h, e.dsn, e.clock)
	const n = 10
	var gs []cm.Group
	for i := range n {
		gs = append(gs, group(0.9, fmt.Sprintf("k%d-a", i), fmt.Sprintf("k%d-b", i)))
	}
	seedGroups(t, e.s, gs...)
	for i := range n {
		id := cm.GroupID(gs[i].Members)
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for w, s := range []store.Store{e.s, other, e.s, other} {
			wg.Go(func() {
				_, err := s.Transition(ctx(), cm.Transition{GroupID: id, From: []cm.GroupState{cm.StateProposed},
					To: cm.StateApproved, Version: 1, Actor: fmt.Sprintf("w%d", w)})
				switch {
				case err == nil:
					wins.Add(1)
				case cm.IsCode(err, cm.ECONFLICT):
					conflicts.Add(1)
				default:
					t.Errorf("transition: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 3 {
			t.Fatalf("group %d: %d wins, %d conflicts; want exactly one winner", i, wins.Load(), conflicts.Load())
		}
		rows := ledgerRows(t, e.s, cm.LedgerFilter{GroupID: id, Kinds: []cm.LedgerKind{cm.LedgerTransition}})
		if len(rows) != 2 {
			t.Fatalf("group %d has %d transition rows, want 2", i, len(rows))
		}
	}
}

func testConcurrentLeases(t *testing.T, h Harness) {
	e := newEnv(t, h)
	other := open(t, h, e.dsn, e.clock)
	var wins atomic.Int32
	var mu sync.Mutex
	var tokens []int64
	var wg sync.WaitGroup
	for w := range 6 {
		s := []store.Store{e.s, other}[w%2]
		wg.Go(func() {
			tok, err := s.AcquireLeases(ctx(), fmt.Sprintf("w%d", w), []string{"z3", "z1", "z2"}, time.Minute)
			switch {
			case err == nil:
				wins.Add(1)
				mu.Lock()
				tokens = append(tokens, tok)
				mu.Unlock()
			case !cm.IsCode(err, cm.ECONFLICT):
				t.Errorf("acquire: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d owners acquired the same leases", wins.Load())
	}
}

func testMigrations(t *testing.T, h Harness) {
	dsn := h.NewDSN(t)
	clock := NewClock(t0())
	// Concurrent first opens of an empty database.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := store.Open(ctx(), dsn, store.Options{Now: clock.Now})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
	}
	// Open again: nothing to do, data intact.
	s := open(t, h, dsn, clock)
	seedGroup(t, s, "v1", "v2")
	must(t, s.Close())
	s = open(t, h, dsn, clock)
	if n, err := s.CountByState(ctx()); err != nil || n[cm.StateProposed] != 1 {
		t.Fatalf("after reopen: %v %v", n, err)
	}
	if s.Kind() != "sqlite" && s.Kind() != "postgres" {
		t.Fatalf("Kind() = %q", s.Kind())
	}
}
