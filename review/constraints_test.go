package review_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

// pairs returns "kind a-b@group" of the store's constraints matching f.
func pairs(t *testing.T, st cm.Store, f cm.ConstraintFilter) []string {
	t.Helper()
	cs, err := st.Constraints(ctx(), f)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, c := range cs {
		g := c.GroupID
		if g != "" {
			g = "@" + g[:6]
		}
		out = append(out, string(c.Kind)[:4]+" "+c.A+"-"+c.B+g)
	}
	return out
}

// contacts upserts bare contacts with ids.
func contacts(t *testing.T, st cm.Store, ids ...string) {
	t.Helper()
	var cs []cm.Contact
	for _, id := range ids {
		cs = append(cs, cm.Contact{ID: id, LastName: "X", ModifyDate: t0})
	}
	if err := st.UpsertContacts(ctx(), cs); err != nil {
		t.Fatal(err)
	}
}

// TestDecideRecordsConstraints: a person's approval records a must-link for
// every pair, a rejection a cannot-link for every pair, a split only the
// pairs across; a new decision on the group lifts the old one's pairs; a
// decision against someone else's constraint is refused, writing nothing.
func TestDecideRecordsConstraints(t *testing.T) {
	st := openStore(t)
	g := seed(t, st, group(0.9, "a1", "a2", "a3"))[0]
	all := cm.ConstraintFilter{}
	g, err := review.Decide(ctx(), st, g, cm.Decision{Approve: true, Actor: "ann", Reason: "same person", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	gid := "@" + g.ID[:6]
	if got, want := pairs(t, st, all), []string{"must a1-a2" + gid, "must a1-a3" + gid, "must a2-a3" + gid}; !slices.Equal(got, want) {
		t.Fatalf("after approve: %v, want %v", got, want)
	}
	cs, _ := st.Constraints(ctx(), all)
	if cs[0].Actor != "ann" || cs[0].Reason != "same person" || !cs[0].At.Equal(t0) {
		t.Errorf("constraint = %+v", cs[0])
	}
	// Rejecting the approved group replaces its must-links.
	g, err = review.Decide(ctx(), st, g, cm.Decision{Actor: "bob", Reason: "different people"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pairs(t, st, all), []string{"cann a1-a2" + gid, "cann a1-a3" + gid, "cann a2-a3" + gid}; !slices.Equal(got, want) {
		t.Fatalf("after reject: %v, want %v", got, want)
	}
	var decisionRows []cm.LedgerEvent
	if err := st.Ledger(ctx(), cm.LedgerFilter{GroupID: g.ID, Kinds: []cm.LedgerKind{cm.LedgerDecision}}, func(ev cm.LedgerEvent) error {
		decisionRows = append(decisionRows, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(decisionRows) != 2 || decisionRows[1].Actor != "bob" || !strings.Contains(decisionRows[1].Detail, "lifted must_link a1–a2") {
		t.Errorf("decision rows = %+v", decisionRows)
	}

	// Another group over two of them cannot be approved while the
	// rejection stands; nothing is written.
	other := seed(t, st, group(0.9, "a1", "a2"))[0]
	before := pairs(t, st, all)
	_, err = review.Decide(ctx(), st, other, cm.Decision{Approve: true, Actor: "cy"})
	if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), "a1–a2 rejected by bob") ||
		!strings.Contains(err.Error(), "contactmerge plan unreject "+g.ID) {
		t.Fatalf("approving against a rejection: %v", err)
	}
	if got := pairs(t, st, all); !slices.Equal(got, before) || get(t, st, other.ID).State != cm.StateProposed {
		t.Fatalf("a refused decision wrote: %v", got)
	}
	// The policy does not approve it either, and says why.
	out, err := review.ApprovePolicy(ctx(), st, 0, "demo", now)
	if err != nil || out.Decided != 0 || len(out.Held) != 1 || !strings.Contains(out.Held[0].Reason, "touches a rejected pair") {
		t.Fatalf("policy = %+v, %v", out, err)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		split []string
		want  []string
		err   string
	}{
		{name: "one member against the rest", split: []string{"a3"}, want: []string{"cann a1-a3", "cann a2-a3", "cann a3-a4"}},
		{name: "two against two", split: []string{"a4", "a1"}, want: []string{"cann a1-a2", "cann a1-a3", "cann a2-a4", "cann a3-a4"}},
		{name: "not a member", split: []string{"a1", "zz"}, err: "zz is not a member (members: a1, a2, a3, a4)"},
		{name: "nobody", split: nil, err: "a split names the members to split off"},
		{name: "everybody", split: []string{"a1", "a2", "a3", "a4"}, err: "a split names some members, not all of them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			g := seed(t, st, group(0.9, "a1", "a2", "a3", "a4"))[0]
			got, err := review.Split(ctx(), st, g, tt.split, cm.Decision{Actor: "ann"})
			if tt.err != "" {
				if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want EINVALID with %q", err, tt.err)
				}
				if n := pairs(t, st, cm.ConstraintFilter{}); len(n) != 0 || get(t, st, g.ID).State != cm.StateProposed {
					t.Fatalf("a refused split wrote %v", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.State != cm.StateRejected {
				t.Errorf("state %s", got.State)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, w+"@"+g.ID[:6])
			}
			if p := pairs(t, st, cm.ConstraintFilter{}); !slices.Equal(p, want) {
				t.Errorf("pairs %v, want %v", p, want)
			}
		})
	}
}

func TestPolicyHold(t *testing.T) {
	g := cm.Group{ID: "g_1", Members: []string{"a", "b", "c"}}
	must := func(a, b string) cm.PairConstraint {
		return cm.PairConstraint{Kind: cm.MustLink, A: a, B: b, Actor: "ann"}
	}
	cannot := func(a, b string) cm.PairConstraint {
		return cm.PairConstraint{Kind: cm.CannotLink, A: a, B: b, Actor: "bob"}
	}
	tests := []struct {
		name string
		cs   []cm.PairConstraint
		want string // "" may approve; else a substring of the reason
	}{
		{name: "no decision: the policy's", cs: nil},
		{name: "a constraint between others is ignored", cs: []cm.PairConstraint{cannot("x", "y")}},
		{name: "a rejected pair inside", cs: []cm.PairConstraint{cannot("a", "b")}, want: "touches a rejected pair: a–b rejected by bob"},
		{name: "a member rejected against an outsider", cs: []cm.PairConstraint{cannot("a", "z")}, want: "touches a rejected pair: a–z"},
		{name: "every pair must-linked", cs: []cm.PairConstraint{must("a", "b"), must("a", "c"), must("b", "c")}},
		{name: "must-linked through a member", cs: []cm.PairConstraint{must("a", "b"), must("b", "c")}},
		{name: "an approved pair plus a new member", cs: []cm.PairConstraint{must("a", "b")}, want: "a steward linked some of its members but not c"},
		{name: "a member linked to an outsider", cs: []cm.PairConstraint{must("a", "b"), must("b", "c"), must("c", "z")},
			want: "a steward linked a member to a contact outside the group: c–z"},
		{name: "links and a rejection", cs: []cm.PairConstraint{must("a", "b"), must("b", "c"), cannot("c", "z")}, want: "touches a rejected pair"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := review.PolicyHold(g, tt.cs)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("PolicyHold = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestApprovePolicy: the policy approves what no decision touches and what
// a person already linked whole, holds the rest, and records no
// constraint.
func TestApprovePolicy(t *testing.T) {
	st := openStore(t)
	contacts(t, st, "l1", "l2", "x1")
	gs := seed(t, st, group(0.99, "a1", "a2"), group(0.99, "l1", "l2"), group(0.99, "l1", "l2", "x1"), group(0.99, "r1", "r2"))
	for _, p := range [][2]string{{"l1", "l2"}} {
		if _, err := review.Link(ctx(), st, p[0], p[1], "ann", "", t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ChangeConstraints(ctx(), cm.ConstraintChange{Actor: "bob", Add: []cm.PairConstraint{{Kind: cm.CannotLink, A: "r1", B: "r9"}}}); err != nil {
		t.Fatal(err)
	}
	before := pairs(t, st, cm.ConstraintFilter{})
	out, err := review.ApprovePolicy(ctx(), st, 0.9, "demo", now)
	if err != nil {
		t.Fatal(err)
	}
	want := []cm.GroupState{cm.StateApproved, cm.StateApproved, cm.StateProposed, cm.StateProposed}
	if got := states(t, st, gs...); !slices.Equal(got, want) || out.Decided != 2 || len(out.Held) != 2 {
		t.Fatalf("states %v, outcome %+v; want %v", got, out, want)
	}
	if got := pairs(t, st, cm.ConstraintFilter{}); !slices.Equal(got, before) {
		t.Errorf("the policy recorded constraints: %v", got)
	}
	if n, err := review.ApproveAbove(ctx(), st, 0.9, "demo", now); err != nil || n != 0 {
		t.Errorf("ApproveAbove again = %d, %v", n, err)
	}
}

// TestDecideWhereHolds: a person's bulk decision holds the groups it would
// contradict a constraint on and decides the others.
func TestDecideWhereHolds(t *testing.T) {
	st := openStore(t)
	contacts(t, st, "a1", "a2")
	gs := seed(t, st, group(0.9, "a1", "a2"), group(0.9, "b1", "b2"))
	if _, err := review.Link(ctx(), st, "a1", "a2", "ann", "", t0); err != nil {
		t.Fatal(err)
	}
	out, err := review.DecideWhere(ctx(), st, cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}}, false, "bob", "", now)
	if err != nil || out.Decided != 1 || len(out.Held) != 1 || out.Held[0].GroupID != gs[0].ID ||
		!strings.Contains(out.Held[0].Reason, "contactmerge plan unlink a1 a2") {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if got := states(t, st, gs...); !slices.Equal(got, []cm.GroupState{cm.StateProposed, cm.StateRejected}) {
		t.Errorf("states %v", got)
	}
}

func TestLinkUnlinkUnreject(t *testing.T) {
	st := openStore(t)
	contacts(t, st, "a1", "a2", "a3")
	g := seed(t, st, group(0.9, "a1", "a2", "a3"))[0]
	// Bad input changes nothing.
	for name, tc := range map[string]struct {
		a, b, want string
	}{
		"a contact not in the store": {"a1", "zz", "no contact zz in the store"},
		"the same contact twice":     {"a1", "a1", "two different contact ids"},
	} {
		if _, err := review.Link(ctx(), st, tc.a, tc.b, "ann", "", t0); !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if added, err := review.Link(ctx(), st, "a2", "a1", "ann", "passport", t0); err != nil || !added {
		t.Fatalf("link = %v, %v", added, err)
	}
	if added, err := review.Link(ctx(), st, "a1", "a2", "ann", "", t0); err != nil || added {
		t.Fatalf("link again = %v, %v", added, err)
	}
	// A rejection of the group contradicts the link: refused; a split of
	// a3 is not.
	if _, err := review.Decide(ctx(), st, g, cm.Decision{Actor: "bob"}); !cm.IsCode(err, cm.EINVALID) ||
		!strings.Contains(err.Error(), "a1–a2 linked by ann") || !strings.Contains(err.Error(), "--members") {
		t.Fatalf("reject against a link: %v", err)
	}
	g, err := review.Split(ctx(), st, g, []string{"a3"}, cm.Decision{Actor: "bob", Reason: "other person"})
	if err != nil {
		t.Fatal(err)
	}
	// Linking a rejected pair is refused, naming the way out.
	if _, err := review.Link(ctx(), st, "a1", "a3", "ann", "", t0); !cm.IsCode(err, cm.EINVALID) ||
		!strings.Contains(err.Error(), "plan unreject "+g.ID) {
		t.Fatalf("link of a rejected pair: %v", err)
	}
	// Unlink: nothing of that kind is EINVALID; the must-link goes.
	if _, err := review.Unlink(ctx(), st, "a1", "a3", cm.MustLink, "ann", ""); !cm.IsCode(err, cm.EINVALID) ||
		!strings.Contains(err.Error(), "there is a cannot_link: plan unlink --cannot-link a1 a3") {
		t.Fatalf("unlink of nothing: %v", err)
	}
	gone, err := review.Unlink(ctx(), st, "a2", "a1", cm.MustLink, "ann", "mistake")
	if err != nil || len(gone) != 1 || gone[0].Kind != cm.MustLink {
		t.Fatalf("unlink = %+v, %v", gone, err)
	}
	// Unreject: back to proposed, the split's pairs lifted.
	if _, _, err := review.Unreject(ctx(), st, "g_nothing", "ann", ""); !cm.IsCode(err, cm.EINVALID) {
		t.Errorf("unreject of an unknown group: %v", err)
	}
	ng, lifted, err := review.Unreject(ctx(), st, g.ID, "cy", "changed my mind")
	if err != nil || ng.State != cm.StateProposed || len(lifted) != 2 {
		t.Fatalf("unreject = %+v, %+v, %v", ng, lifted, err)
	}
	if p := pairs(t, st, cm.ConstraintFilter{}); len(p) != 0 {
		t.Errorf("constraints left: %v", p)
	}
	if _, _, err := review.Unreject(ctx(), st, g.ID, "cy", ""); !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), "is proposed, not rejected") {
		t.Errorf("unreject of a proposed group: %v", err)
	}
	// A rejected group superseded since: its pairs are lifted all the same.
	g = get(t, st, g.ID)
	if _, err := review.Decide(ctx(), st, g, cm.Decision{Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	seed(t, st, group(0.9, "a1", "a9"))
	ng, lifted, err = review.Unreject(ctx(), st, g.ID, "cy", "")
	if err != nil || ng.ID != "" || len(lifted) != 3 {
		t.Fatalf("unreject of a superseded group = %+v, %d lifted, %v", ng, len(lifted), err)
	}
	var kinds []cm.LedgerKind
	var actors []string
	if err := st.Ledger(ctx(), cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerDecision}}, func(ev cm.LedgerEvent) error {
		kinds = append(kinds, ev.Kind)
		actors = append(actors, ev.Actor)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// link, split, unlink, unreject, reject, unreject: one row each.
	if want := []string{"ann", "bob", "ann", "cy", "bob", "cy"}; !slices.Equal(actors, want) {
		t.Errorf("decision rows by %v, want %v", actors, want)
	}
}

func TestWriteConstraints(t *testing.T) {
	st := openStore(t)
	contacts(t, st, "a1", "a2", "z9")
	g := seed(t, st, group(0.9, "a1", "a2"))[0]
	if _, err := review.Link(ctx(), st, "a1", "a2", "ann", "passport", t0); err != nil {
		t.Fatal(err)
	}
	if err := st.ChangeConstraints(ctx(), cm.ConstraintChange{Actor: "bob", Add: []cm.PairConstraint{{Kind: cm.CannotLink, A: "a2", B: "z9", GroupID: "g_old"}}}); err != nil {
		t.Fatal(err)
	}
	cs, err := review.ConstraintsFor(ctx(), st, g)
	if err != nil || len(cs) != 2 {
		t.Fatalf("ConstraintsFor = %+v, %v", cs, err)
	}
	var b bytes.Buffer
	if err := review.WriteConstraints(&b, g, cs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Steward decisions touching these members (2):", "a1 – a2", "must_link", "ann", "passport",
		"a2 – z9 (z9 outside)", "cannot_link", "g_old", "2026-05-01T10:00:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := review.WriteConstraints(&b, g, nil); err != nil || b.Len() != 0 {
		t.Errorf("no constraints wrote %q", b.String())
	}
}
