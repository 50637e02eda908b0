package policy

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

// TestCompare fills every cell of both tables: four groups with recorded
// verdicts, a person's decision on each of three (a policy's approval on
// the fourth does not count as a person's), and a truth in which one group
// the policy approves is two customers. Only the latest verdict of a group
// counts.
func TestCompare(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testdb.SQLite(t), store.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	a, b, c, d := proposed(0.999, "a1", "a2"), proposed(0.999, "b1", "b2"), proposed(0.9, "c1", "c2"), proposed(0.999, "d1", "d2")
	if _, err := st.SaveProposals(ctx, []cm.Group{a, b, c, d}, "match"); err != nil {
		t.Fatal(err)
	}
	verdict := func(cycle string, g cm.Group, approve bool, reasons ...string) store.PolicyVerdict {
		return store.PolicyVerdict{Cycle: cycle, GroupID: g.ID, Mode: "shadow", Approve: approve, Confidence: g.Confidence, Members: 2, Reasons: reasons}
	}
	if err := store.SavePolicyVerdicts(ctx, st, []store.PolicyVerdict{
		verdict("c1", a, false, "minConfidence: low"), // replaced by c2's
		verdict("c1", b, true), verdict("c1", c, false, "minConfidence: 0.9 is below 0.999", "maxGroupSize: big"), verdict("c1", d, true),
	}); err != nil {
		t.Fatal(err)
	}
	if err := store.SavePolicyVerdicts(ctx, st, []store.PolicyVerdict{{Cycle: "c2", GroupID: a.ID, Mode: "shadow", Approve: true, At: t0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	decide := func(g cm.Group, approve bool) {
		g, err := st.Group(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := review.Decide(ctx, st, g, cm.Decision{Approve: approve, Actor: "ann", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	decide(a, true)  // TP
	decide(b, false) // FP
	decide(c, true)  // FN
	g, err := st.Group(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := review.ApproveAsPolicy(ctx, st, g, "nightly", "test", t0); err != nil { // no person's decision
		t.Fatal(err)
	}
	truth := [][]string{{"a1", "a2"}, {"b1"}, {"b2"}, {"c1", "c2"}, {"d1", "d2"}}
	got, err := Compare(ctx, st, truth)
	if err != nil {
		t.Fatal(err)
	}
	want := Agreement{
		Groups: 4, Approve: 3,
		Steward:   Confusion{TP: 1, FP: 1, FN: 1, Precision: 0.5, Recall: 0.5},
		Undecided: 1,
		Truth:     &Confusion{TP: 2, FP: 1, FN: 1, Precision: 2.0 / 3, Recall: 2.0 / 3},
		ByGuard: []GuardRow{
			{Guard: GuardGroupSize, Held: 1, StewardApproved: 1, TrueDuplicates: 1},
			{Guard: GuardConfidence, Held: 1, StewardApproved: 1, TrueDuplicates: 1},
		},
		Disagreements: []Disagreement{
			{GroupID: b.ID, Policy: true, Actor: "ann"},
			{GroupID: c.ID, Steward: true, Actor: "ann", Reasons: []string{"minConfidence: 0.9 is below 0.999", "maxGroupSize: big"}},
		},
	}
	if b.ID > c.ID {
		want.Disagreements[0], want.Disagreements[1] = want.Disagreements[1], want.Disagreements[0]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Compare (-want +got):\n%s", d)
	}
	// Without truth, no truth table.
	if got, err := Compare(ctx, st, nil); err != nil || got.Truth != nil {
		t.Fatalf("Compare without truth: %+v %v", got.Truth, err)
	}
}
