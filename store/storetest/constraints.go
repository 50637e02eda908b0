package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
)

// pairsOf returns "kind:a-b@group" for each constraint, in order.
func pairsOf(cs []cm.PairConstraint) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c.Kind) + ":" + c.A + "-" + c.B + "@" + c.GroupID
	}
	return out
}

// constraintsOf returns the constraints matching f.
func constraintsOf(t *testing.T, e *env, f cm.ConstraintFilter) []cm.PairConstraint {
	t.Helper()
	cs, err := e.s.Constraints(ctx(), f)
	must(t, err)
	return cs
}

func testConstraints(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	before := countLedger(t, s)
	// Pairs are stored in order, with the change's actor and the store's
	// clock by default.
	must(t, s.ChangeConstraints(ctx(), cm.ConstraintChange{Actor: "ann", Detail: "plan link", Add: []cm.PairConstraint{
		{Kind: cm.MustLink, A: "c2", B: "c1", Reason: "same passport"},
		{Kind: cm.CannotLink, A: "c3", B: "c4", GroupID: "g_x", Actor: "bob", At: t0().Add(-time.Hour)},
	}}))
	all := constraintsOf(t, e, cm.ConstraintFilter{})
	want := []cm.PairConstraint{
		{ID: all[0].ID, Kind: cm.MustLink, A: "c1", B: "c2", Actor: "ann", Reason: "same passport", At: t0()},
		{ID: all[1].ID, Kind: cm.CannotLink, A: "c3", B: "c4", GroupID: "g_x", Actor: "bob", At: t0().Add(-time.Hour)},
	}
	if d := cmp.Diff(want, all); d != "" || all[0].ID >= all[1].ID || all[0].ID == 0 {
		t.Fatalf("constraints (-want +got):\n%s", d)
	}
	rows := ledgerRows(t, s, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerDecision}})
	if len(rows) != 1 || countLedger(t, s) != before+1 || rows[0].Actor != "ann" ||
		!strings.HasPrefix(rows[0].Detail, "plan link; recorded must_link c1–c2; recorded cannot_link c3–c4") {
		t.Fatalf("decision rows = %+v", rows)
	}

	// Filters: kind, contacts (either end, or both with Within), group, ids.
	for name, tc := range map[string]struct {
		f    cm.ConstraintFilter
		want []string
	}{
		"kind":         {cm.ConstraintFilter{Kinds: []cm.ConstraintKind{cm.CannotLink}}, []string{"cannot_link:c3-c4@g_x"}},
		"either end":   {cm.ConstraintFilter{Contacts: []string{"c2", "c4"}}, []string{"must_link:c1-c2@", "cannot_link:c3-c4@g_x"}},
		"within":       {cm.ConstraintFilter{Contacts: []string{"c1", "c2", "c3"}, Within: true}, []string{"must_link:c1-c2@"}},
		"no contacts":  {cm.ConstraintFilter{Contacts: []string{}}, []string{}},
		"group":        {cm.ConstraintFilter{GroupID: "g_x"}, []string{"cannot_link:c3-c4@g_x"}},
		"ids":          {cm.ConstraintFilter{IDs: []int64{all[1].ID}}, []string{"cannot_link:c3-c4@g_x"}},
		"no ids":       {cm.ConstraintFilter{IDs: []int64{}}, []string{}},
		"kind+contact": {cm.ConstraintFilter{Kinds: []cm.ConstraintKind{cm.MustLink}, Contacts: []string{"c3"}}, []string{}},
	} {
		if got := pairsOf(constraintsOf(t, e, tc.f)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	// Many contacts (more than one IN chunk) find the same rows.
	many := []string{"c4"}
	for i := range 1200 {
		many = append(many, fmt.Sprintf("x%04d", i))
	}
	if got := pairsOf(constraintsOf(t, e, cm.ConstraintFilter{Contacts: many})); !slices.Equal(got, []string{"cannot_link:c3-c4@g_x"}) {
		t.Errorf("chunked contacts: %v", got)
	}

	// The same kind, pair and group again keeps the older row; the same pair
	// on another group is a row of its own.
	must(t, s.ChangeConstraints(ctx(), cm.ConstraintChange{Actor: "cy", Add: []cm.PairConstraint{
		{Kind: cm.MustLink, A: "c1", B: "c2"}, {Kind: cm.MustLink, A: "c1", B: "c2", GroupID: "g_y"},
	}}))
	if got := pairsOf(constraintsOf(t, e, cm.ConstraintFilter{Contacts: []string{"c1"}})); !slices.Equal(got, []string{"must_link:c1-c2@", "must_link:c1-c2@g_y"}) {
		t.Fatalf("after a repeated link: %v", got)
	}
	if c := constraintsOf(t, e, cm.ConstraintFilter{IDs: []int64{all[0].ID}}); len(c) != 1 || c[0].Actor != "ann" {
		t.Fatalf("the older link was replaced: %+v", c)
	}

	// Refused changes write nothing.
	n, ledger := len(constraintsOf(t, e, cm.ConstraintFilter{})), countLedger(t, s)
	for name, tc := range map[string]struct {
		c    cm.ConstraintChange
		code string
	}{
		"contradiction": {cm.ConstraintChange{Actor: "dan", Add: []cm.PairConstraint{
			{Kind: cm.MustLink, A: "c5", B: "c6"}, {Kind: cm.CannotLink, A: "c2", B: "c1"}}}, cm.ECONFLICT},
		"contradiction reversed": {cm.ConstraintChange{Actor: "dan", Add: []cm.PairConstraint{{Kind: cm.MustLink, A: "c4", B: "c3"}}}, cm.ECONFLICT},
		"removed gone":           {cm.ConstraintChange{Actor: "dan", Add: []cm.PairConstraint{{Kind: cm.MustLink, A: "c5", B: "c6"}}, Remove: []int64{all[1].ID, 99999}}, cm.ECONFLICT},
		"both kinds":             {cm.ConstraintChange{Add: []cm.PairConstraint{{Kind: cm.MustLink, A: "c7", B: "c8"}, {Kind: cm.CannotLink, A: "c8", B: "c7"}}}, cm.EINVALID},
		"self pair":              {cm.ConstraintChange{Add: []cm.PairConstraint{{Kind: cm.MustLink, A: "c7", B: "c7"}}}, cm.EINVALID},
		"empty id":               {cm.ConstraintChange{Add: []cm.PairConstraint{{Kind: cm.MustLink, A: "c7"}}}, cm.EINVALID},
		"bad kind":               {cm.ConstraintChange{Add: []cm.PairConstraint{{Kind: "maybe", A: "c7", B: "c8"}}}, cm.EINVALID},
	} {
		wantCode(t, s.ChangeConstraints(ctx(), tc.c), tc.code)
		if got := len(constraintsOf(t, e, cm.ConstraintFilter{})); got != n || countLedger(t, s) != ledger {
			t.Fatalf("%s: a refused change wrote something (%d constraints, want %d)", name, got, n)
		}
	}

	// Removing the cannot-link lets the pair be linked, in one change.
	e.clock.Advance(time.Minute)
	must(t, s.ChangeConstraints(ctx(), cm.ConstraintChange{Actor: "dan", Remove: []int64{all[1].ID},
		Add: []cm.PairConstraint{{Kind: cm.MustLink, A: "c4", B: "c3"}}}))
	if got := pairsOf(constraintsOf(t, e, cm.ConstraintFilter{Contacts: []string{"c3"}})); !slices.Equal(got, []string{"must_link:c3-c4@"}) {
		t.Fatalf("after unlink and link: %v", got)
	}
	rows = ledgerRows(t, s, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerDecision}})
	if last := rows[len(rows)-1]; last.Actor != "dan" || !strings.Contains(last.Detail, "lifted cannot_link c3–c4") ||
		!strings.Contains(last.Detail, "by bob, group g_x") {
		t.Fatalf("unlink row = %+v", last)
	}
	// Nothing to do writes nothing.
	must(t, s.ChangeConstraints(ctx(), cm.ConstraintChange{Actor: "dan"}))
	if len(ledgerRows(t, s, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerDecision}})) != len(rows) {
		t.Fatal("an empty change wrote a ledger row")
	}
}

func testTransitionConstraints(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	seedGroups(t, s, group(0.9, "t1", "t2", "t3"), group(0.9, "t3", "t4"))
	g, err := s.Group(ctx(), cm.GroupID([]string{"t1", "t2", "t3"}))
	must(t, err)
	other := cm.GroupID([]string{"t3", "t4"})
	must(t, s.ChangeConstraints(ctx(), cm.ConstraintChange{Actor: "ann", Add: []cm.PairConstraint{{Kind: cm.MustLink, A: "t1", B: "t2"}}}))
	snapshot := func() (int, int) { return len(constraintsOf(t, e, cm.ConstraintFilter{})), countLedger(t, s) }
	nc, nl := snapshot()
	reject := func(tr cm.Transition) cm.Transition {
		tr.GroupID, tr.To, tr.Actor = g.ID, cm.StateRejected, "bob"
		tr.Decision = &cm.Decision{Actor: "bob", Reason: "different people"}
		return tr
	}
	cannot := func(ps ...cm.Pair) []cm.PairConstraint {
		var out []cm.PairConstraint
		for _, p := range ps {
			out = append(out, cm.PairConstraint{Kind: cm.CannotLink, A: p.A, B: p.B, Reason: "different people"})
		}
		return out
	}
	// Atomicity: every refused transition writes no constraint, no
	// decision, no ledger row and leaves the group as it was.
	for name, tc := range map[string]struct {
		tr   cm.Transition
		code string
	}{
		"contradicts a link": {reject(cm.Transition{Constraints: cannot(cm.Pairs(g.Members)...)}), cm.ECONFLICT},
		"state check":        {reject(cm.Transition{From: []cm.GroupState{cm.StateApproved}, Constraints: cannot(cm.Pair{A: "t1", B: "t3"})}), cm.ECONFLICT},
		"version check":      {reject(cm.Transition{Version: 7, Constraints: cannot(cm.Pair{A: "t1", B: "t3"})}), cm.ECONFLICT},
		"lift gone":          {reject(cm.Transition{Constraints: cannot(cm.Pair{A: "t1", B: "t3"}), LiftConstraints: []int64{424242}}), cm.ECONFLICT},
		"not a member":       {reject(cm.Transition{Constraints: cannot(cm.Pair{A: "t1", B: "t4"})}), cm.EINVALID},
		"other group":        {reject(cm.Transition{Constraints: []cm.PairConstraint{{Kind: cm.CannotLink, A: "t1", B: "t3", GroupID: other}}}), cm.EINVALID},
		"bad kind":           {reject(cm.Transition{Constraints: []cm.PairConstraint{{Kind: "x", A: "t1", B: "t3"}}}), cm.EINVALID},
	} {
		_, err := s.Transition(ctx(), tc.tr)
		if cm.ErrorCode(err) != tc.code {
			t.Errorf("%s: error %v, want %s", name, err, tc.code)
		}
		if c, l := snapshot(); c != nc || l != nl {
			t.Errorf("%s: wrote %d constraints and %d ledger rows", name, c-nc, l-nl)
		}
		if got, _ := s.Group(ctx(), g.ID); got.State != cm.StateProposed || got.Version != g.Version {
			t.Errorf("%s: group changed: %+v", name, got)
		}
		if ds, _ := s.Decisions(ctx(), g.ID); len(ds) != 0 {
			t.Errorf("%s: decisions recorded: %+v", name, ds)
		}
	}

	// A split: t3 against the rest, recorded on the group with the
	// transition's actor, in the same transaction as the decision.
	e.clock.Advance(time.Minute)
	rej, err := s.Transition(ctx(), reject(cm.Transition{Detail: "rejected by bob", Constraints: cannot(cm.CrossPairs([]string{"t3"}, g.Members)...)}))
	must(t, err)
	got := constraintsOf(t, e, cm.ConstraintFilter{GroupID: g.ID})
	if d := cmp.Diff([]string{"cannot_link:t1-t3@" + g.ID, "cannot_link:t2-t3@" + g.ID}, pairsOf(got)); d != "" {
		t.Fatalf("split constraints (-want +got):\n%s", d)
	}
	if got[0].Actor != "bob" || !got[0].At.Equal(t0().Add(time.Minute)) || got[0].Reason != "different people" {
		t.Fatalf("split constraint = %+v", got[0])
	}
	rows := ledgerRows(t, s, cm.LedgerFilter{GroupID: g.ID, AfterSeq: 0})
	last2 := rows[len(rows)-2:]
	if last2[0].Kind != cm.LedgerTransition || last2[0].To != cm.StateRejected || last2[1].Kind != cm.LedgerDecision ||
		last2[1].Actor != "bob" || last2[1].Detail != "recorded cannot_link t1–t3, t2–t3" || last2[1].To != cm.StateRejected {
		t.Fatalf("ledger of the rejection = %+v", last2)
	}
	// Unreject: rejected → proposed, lifting the rejection's pairs.
	ids := []int64{got[0].ID, got[1].ID}
	back, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateRejected}, To: cm.StateProposed,
		Version: rej.Version, Actor: "cy", Detail: "unrejected by cy", LiftConstraints: ids})
	must(t, err)
	if back.State != cm.StateProposed || len(constraintsOf(t, e, cm.ConstraintFilter{GroupID: g.ID})) != 0 {
		t.Fatalf("after unreject: %+v, %v", back, constraintsOf(t, e, cm.ConstraintFilter{GroupID: g.ID}))
	}
	rows = ledgerRows(t, s, cm.LedgerFilter{GroupID: g.ID, Kinds: []cm.LedgerKind{cm.LedgerDecision}})
	if l := rows[len(rows)-1]; l.Actor != "cy" || !strings.HasPrefix(l.Detail, "lifted cannot_link t1–t3 (#") {
		t.Fatalf("unreject row = %+v", l)
	}
	// Lifting the same ids again is a conflict.
	_, err = s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateProposed, LiftConstraints: ids})
	wantCode(t, err, cm.ECONFLICT)
	// Approve with must-links on every pair: the plan link of t1–t2 stays
	// beside the approval's own.
	_, err = s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateApproved, Actor: "ann",
		Constraints: []cm.PairConstraint{{Kind: cm.MustLink, A: "t1", B: "t2"}, {Kind: cm.MustLink, A: "t1", B: "t3"}, {Kind: cm.MustLink, A: "t2", B: "t3"}}})
	must(t, err)
	if got := pairsOf(constraintsOf(t, e, cm.ConstraintFilter{Kinds: []cm.ConstraintKind{cm.MustLink}})); !slices.Equal(got,
		[]string{"must_link:t1-t2@", "must_link:t1-t2@" + g.ID, "must_link:t1-t3@" + g.ID, "must_link:t2-t3@" + g.ID}) {
		t.Fatalf("must-links after approval: %v", got)
	}
}

// testSupersedeKeepsDecisions: a match run that no longer proposes a
// decided group deletes the group, not its decisions nor its constraints.
func testSupersedeKeepsDecisions(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	g := seedGroup(t, s, "k1", "k2")
	_, err := s.Transition(ctx(), cm.Transition{GroupID: g.ID, To: cm.StateRejected, Actor: "bob",
		Decision:    &cm.Decision{Actor: "bob", Reason: "no"},
		Constraints: []cm.PairConstraint{{Kind: cm.CannotLink, A: "k1", B: "k2"}}})
	must(t, err)
	res, err := s.SaveProposals(ctx(), []cm.Group{group(0.9, "k1", "k3")}, "match")
	must(t, err)
	if res.Superseded != 1 {
		t.Fatalf("not superseded: %+v", res)
	}
	_, err = s.Group(ctx(), g.ID)
	wantCode(t, err, cm.ENOTFOUND)
	if ds, _ := s.Decisions(ctx(), g.ID); len(ds) != 1 || ds[0].Actor != "bob" || ds[0].Approve {
		t.Fatalf("decisions of the superseded group = %+v", ds)
	}
	if got := pairsOf(constraintsOf(t, e, cm.ConstraintFilter{})); !slices.Equal(got, []string{"cannot_link:k1-k2@" + g.ID}) {
		t.Fatalf("constraints after supersede: %v", got)
	}
}

// testRejectionWithdraws: recording a cannot-link withdraws the other
// proposed groups that hold the pair and sends ready ones back to
// preflight, in the same transaction; groups that hold one end only, and
// approved ones, stay.
func testRejectionWithdraws(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	seedGroups(t, s, group(0.9, "w1", "w2", "w3"), group(0.9, "w1", "w2"), group(0.9, "w1", "w4"),
		group(0.9, "w2", "w1", "w5"), group(0.9, "w2", "w3", "w6"))
	id := func(ms ...string) string { return cm.GroupID(ms) }
	decided, proposed, oneEnd, ready, approved := id("w1", "w2", "w3"), id("w1", "w2"), id("w1", "w4"), id("w1", "w2", "w5"), id("w2", "w3", "w6")
	for _, to := range []cm.GroupState{cm.StateApproved, cm.StateReady} {
		_, err := s.Transition(ctx(), cm.Transition{GroupID: ready, To: to})
		must(t, err)
	}
	_, err := s.Transition(ctx(), cm.Transition{GroupID: approved, To: cm.StateApproved})
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: decided, To: cm.StateRejected, Actor: "bob",
		Constraints: []cm.PairConstraint{{Kind: cm.CannotLink, A: "w1", B: "w2"}, {Kind: cm.CannotLink, A: "w2", B: "w3"}}})
	must(t, err)
	_, err = s.Group(ctx(), proposed)
	wantCode(t, err, cm.ENOTFOUND)
	if got := e.groupsByMember("w4"); len(got["w4"]) != 1 {
		t.Fatalf("group members of w4: %v", got)
	}
	for gid, want := range map[string]cm.GroupState{decided: cm.StateRejected, oneEnd: cm.StateProposed, ready: cm.StateApproved, approved: cm.StateApproved} {
		g, err := s.Group(ctx(), gid)
		must(t, err)
		if g.State != want {
			t.Errorf("group %s is %s, want %s", gid, g.State, want)
		}
		if gid == ready && (!strings.Contains(g.Reason, "holds w1–w2, which bob rejected on group "+decided) || g.Version != 4) {
			t.Errorf("ready group sent back: %+v", g)
		}
	}
	if got := e.groupsByMember("w1"); slices.Contains(got["w1"], proposed) {
		t.Errorf("the withdrawn group's member rows remain: %v", got)
	}
	notes := ledgerRows(t, s, cm.LedgerFilter{GroupID: proposed, Kinds: []cm.LedgerKind{cm.LedgerNote}})
	if len(notes) != 1 || notes[0].Actor != "bob" || !strings.HasPrefix(notes[0].Detail, "withdrawn: the proposal holds w1–w2") {
		t.Errorf("withdraw note = %+v", notes)
	}
	tr := ledgerRows(t, s, cm.LedgerFilter{GroupID: ready, Kinds: []cm.LedgerKind{cm.LedgerTransition}})
	if l := tr[len(tr)-1]; l.From != cm.StateReady || l.To != cm.StateApproved || l.Actor != "bob" {
		t.Errorf("ready group's row = %+v", l)
	}
	// The same through ChangeConstraints.
	_, err = s.Transition(ctx(), cm.Transition{GroupID: oneEnd, To: cm.StateProposed})
	must(t, err)
	must(t, s.ChangeConstraints(ctx(), cm.ConstraintChange{Actor: "cy", Add: []cm.PairConstraint{{Kind: cm.CannotLink, A: "w4", B: "w1"}}}))
	_, err = s.Group(ctx(), oneEnd)
	wantCode(t, err, cm.ENOTFOUND)
}
