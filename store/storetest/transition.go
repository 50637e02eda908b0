package storetest

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
)

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
		t.Fatalf("failed transitions changed contacts: %v", slices.Collect(maps.Keys(cs)))
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
	// After the refused transitions the group still takes its edges:
	// proposed → approved → failed, with the reason of the update.
	_, err = s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateApproved})
	must(t, err)
	failed, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateFailed, Update: func(g *cm.Group) { g.Reason = "bad" }})
	must(t, err)
	if failed.State != cm.StateFailed || failed.Reason != "bad" {
		t.Fatalf("failed group = %+v", failed)
	}
}

func testTransitionEffects(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	g := seedGroup(t, s, "m1", "m2")
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("m1", "One", t0()), contact("m2", "Two", t0())}))
	_, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateApproved, Actor: "ann",
		Decision: &cm.Decision{Approve: true, Actor: "ann", Reason: "ok", Survivor: "m2", Take: map[string]string{"firstName": "m1"}}})
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
		t.Fatalf("contacts after merge: %v", slices.Collect(maps.Keys(cs)))
	}
	ds, err := s.Decisions(ctx(), g.ID)
	must(t, err)
	if len(ds) != 1 || ds[0].Survivor != "m2" || ds[0].GroupID != g.ID || ds[0].Take["firstName"] != "m1" || len(ds[0].Take) != 1 {
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
	e := newEnv(t, h)
	s := e.s
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
	byMember := e.groupsByMember("s1", "s4")
	if len(byMember["s1"]) != 2 || !slices.Contains(byMember["s1"], cm.GroupID(left.Members)) || len(byMember["s4"]) != 2 {
		t.Fatalf("group members after split = %v", byMember)
	}
	// Re-membering a group (Update changes Members) moves its member rows.
	_, err = s.Transition(ctx(), cm.Transition{GroupID: cm.GroupID(right.Members), To: cm.StateReady,
		Update: func(g *cm.Group) { g.Members = []string{"s3"} }})
	must(t, err)
	if byMember = e.groupsByMember("s4"); len(byMember["s4"]) != 1 {
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

// TransitionMany applies several groups' transitions in one database
// transaction: all of them, or, when any check fails, none (no state, no
// decision, no ledger row of the ones before the failure).
func testTransitionMany(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	seedGroups(t, s, group(0.9, "m1", "m2"), group(0.9, "n1", "n2"))
	a, err := s.Group(ctx(), cm.GroupID([]string{"m1", "m2"}))
	must(t, err)
	b, err := s.Group(ctx(), cm.GroupID([]string{"n1", "n2"}))
	must(t, err)
	rows := countLedger(t, s)
	approve := func(g cm.Group, version int64) cm.Transition {
		return cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateProposed}, Version: version, To: cm.StateApproved,
			Actor: "ann", Decision: &cm.Decision{Approve: true, Actor: "ann", Reason: "file"}}
	}
	// The second is stale: neither applies.
	_, err = s.TransitionMany(ctx(), []cm.Transition{approve(a, a.Version), approve(b, b.Version+1)})
	wantCode(t, err, cm.ECONFLICT)
	for _, g := range []cm.Group{a, b} {
		got, err := s.Group(ctx(), g.ID)
		must(t, err)
		ds, err := s.Decisions(ctx(), g.ID)
		must(t, err)
		if got.State != cm.StateProposed || got.Version != g.Version || len(ds) != 0 {
			t.Errorf("after a failed TransitionMany, %s is %s v%d with %d decisions", g.ID, got.State, got.Version, len(ds))
		}
	}
	if n := countLedger(t, s); n != rows {
		t.Errorf("a failed TransitionMany wrote %d ledger rows", n-rows)
	}
	// Both valid: both apply, in order.
	out, err := s.TransitionMany(ctx(), []cm.Transition{approve(a, a.Version), approve(b, b.Version)})
	must(t, err)
	if len(out) != 2 || out[0].ID != a.ID || out[1].ID != b.ID || out[0].State != cm.StateApproved || out[1].State != cm.StateApproved {
		t.Fatalf("TransitionMany = %+v", out)
	}
	if n := countLedger(t, s); n <= rows {
		t.Error("TransitionMany wrote no ledger rows")
	}
}
