package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
)

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
	byMember := e.groupsByMember("a1", "d1", "c2", "zz")
	if d := cmp.Diff(map[string][]string{"a1": {idA}, "c2": {idC}}, byMember); d != "" {
		t.Fatalf("group members after supersede (-want +got):\n%s", d)
	}
	// D was decided before it was superseded; its decision rows stay.
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
	if ds, _ := s.Decisions(ctx(), idD); len(ds) != 1 || ds[0].Actor != "bob" {
		t.Fatalf("decisions of a superseded group were not kept: %+v", ds)
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

// A re-match refreshes a decided group's confidence and explanation, but
// keeps the survivor and merged record a steward chose: a steward's decision
// is law. A group approved without a choice takes the new survivor.
func testRefreshKeepsStewardChoice(t *testing.T, h Harness) {
	s := newEnv(t, h).s
	chosen, plain := group(0.9, "k1", "k2"), group(0.9, "p1", "p2")
	seedGroups(t, s, chosen, plain)
	idChosen, idPlain := cm.GroupID(chosen.Members), cm.GroupID(plain.Members)
	_, err := s.Transition(ctx(), cm.Transition{GroupID: idChosen, To: cm.StateApproved, Actor: "ann",
		Decision: &cm.Decision{Approve: true, Actor: "ann", Survivor: "k2", Take: map[string]string{"firstName": "k1"}},
		Update: func(g *cm.Group) {
			g.SurvivorID = "k2"
			g.Merged = &cm.Contact{ID: "k2", LastName: "Chosen"}
		}})
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: idPlain, To: cm.StateApproved, Actor: "ann",
		Decision: &cm.Decision{Approve: true, Actor: "ann"}})
	must(t, err)

	again := func(g cm.Group) cm.Group {
		g.SurvivorID = g.Members[0]
		g.Merged = &cm.Contact{ID: g.Members[0], LastName: "Policy"}
		g.Confidence = 0.97
		return g
	}
	_, err = s.SaveProposals(ctx(), []cm.Group{again(chosen), again(plain)}, "match")
	must(t, err)
	c, err := s.Group(ctx(), idChosen)
	must(t, err)
	if c.Confidence != 0.97 || c.SurvivorID != "k2" || c.Merged == nil || c.Merged.LastName != "Chosen" {
		t.Errorf("the steward's group after a re-match: survivor %s, merged %+v, confidence %v; want k2, Chosen, 0.97",
			c.SurvivorID, c.Merged, c.Confidence)
	}
	p, err := s.Group(ctx(), idPlain)
	must(t, err)
	if p.SurvivorID != "p1" || p.Merged == nil || p.Merged.LastName != "Policy" {
		t.Errorf("a group approved without a choice: survivor %s, merged %+v; want the match's p1, Policy", p.SurvivorID, p.Merged)
	}
}
