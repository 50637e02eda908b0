package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// matchedOrg returns a store on dsn holding a generated organization of n
// contacts and the groups match proposes for it, with the ground truth.
func matchedOrg(t *testing.T, dsn string, n int) (store.Store, [][]string) {
	t.Helper()
	ctx := context.Background()
	org := sandbox.Generate(sandbox.GenConfig{Contacts: n, Seed: 7})
	cfg := match.DefaultConfig()
	st, err := store.Open(ctx, dsn, store.Options{Normalizer: match.NormalizerFunc(cfg), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.UpsertContacts(ctx, org.Contacts); err != nil {
		t.Fatal(err)
	}
	res, err := match.Run(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveProposals(ctx, res.Groups, "match"); err != nil {
		t.Fatal(err)
	}
	return st, org.Truth
}

func proposedGroups(t *testing.T, st cm.Store) []cm.Group {
	t.Helper()
	gs, err := st.Groups(context.Background(), cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}})
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

// TestApplyShadowThenEnforce runs the policy on a generated organization:
// shadow mode records a verdict for every proposed group and changes no
// group; Compare then measures the verdicts against the stewards'
// decisions and the ground truth; enforce mode approves, as "ACTOR
// (policy)" and with no pair constraint, exactly the cap's worth of the
// most confident groups that pass, and never a group a person decided.
// On SQLite and, with TEST_DATABASE_URL, PostgreSQL.
func TestApplyShadowThenEnforce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testApplyShadowThenEnforce(t, testdb.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { testApplyShadowThenEnforce(t, testdb.Postgres(t)) })
}

func testApplyShadowThenEnforce(t *testing.T, dsn string) {
	ctx := context.Background()
	st, truth := matchedOrg(t, dsn, 600)
	before := proposedGroups(t, st)
	if len(before) < 20 {
		t.Fatalf("only %d proposed groups", len(before))
	}
	p := &Policy{Mode: Shadow, MinConfidence: 0.99, MaxGroupSize: 4, MaxMergesPerCycle: 1000,
		UniqueCustomFields: []string{"loyaltyId"}, BirthDateFields: DefaultBirthDateFields(), TypeRule: TypeAny}
	now := func() time.Time { return t0 }
	res, err := p.Apply(ctx, st, ApplyOptions{Cycle: "c1", Actor: "nightly", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Evaluated != len(before) || res.Approved != 0 || res.WouldApprove == 0 || res.WouldApprove == res.Evaluated {
		t.Fatalf("shadow result %+v (of %d groups)", res, len(before))
	}
	if n := len(proposedGroups(t, st)); n != len(before) {
		t.Fatalf("shadow mode changed groups: %d proposed, was %d", n, len(before))
	}
	vs, err := store.PolicyVerdicts(ctx, st, store.PolicyVerdictFilter{Cycle: "c1"})
	if err != nil || len(vs) != len(before) {
		t.Fatalf("recorded %d verdicts (%v), want %d", len(vs), err, len(before))
	}
	held := 0
	for _, v := range vs {
		if v.Mode != "shadow" || v.Applied {
			t.Fatalf("shadow verdict %+v", v)
		}
		if !v.Approve {
			held++
			if len(v.Reasons) == 0 {
				t.Fatalf("held without a reason: %+v", v)
			}
		}
	}
	if held != res.Evaluated-res.WouldApprove {
		t.Fatalf("held %d, result %+v", held, res)
	}

	// A steward decides two groups: rejects one the policy would approve,
	// approves one it holds.
	var wouldApprove, wouldHold cm.Group
	for _, v := range vs {
		g, err := st.Group(ctx, v.GroupID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Approve && wouldApprove.ID == "" {
			wouldApprove = g
		}
		if !v.Approve && wouldHold.ID == "" && len(g.Members) <= 4 {
			wouldHold = g
		}
	}
	if _, err := review.Decide(ctx, st, wouldApprove, cm.Decision{Approve: false, Actor: "ann", At: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := review.Decide(ctx, st, wouldHold, cm.Decision{Approve: true, Actor: "ann", At: t0}); err != nil {
		t.Fatal(err)
	}
	a, err := Compare(ctx, st, truth)
	if err != nil {
		t.Fatal(err)
	}
	if a.Groups != len(before) || a.Steward.FP != 1 || a.Steward.FN != 1 || a.Steward.Total() != 2 || a.Undecided != len(before)-2 {
		t.Fatalf("agreement with the steward: %+v", a)
	}
	if a.Truth == nil || a.Truth.Total() != len(before) || a.Truth.Precision < 0.9 {
		t.Fatalf("agreement with the truth: %+v", a.Truth)
	}
	if len(a.Disagreements) != 2 || len(a.ByGuard) == 0 {
		t.Fatalf("disagreements %+v, by guard %+v", a.Disagreements, a.ByGuard)
	}
	t.Logf("shadow on 600 contacts: %d groups, policy approves %d; truth TP %d FP %d FN %d TN %d, precision %.3f recall %.3f",
		a.Groups, a.Approve, a.Truth.TP, a.Truth.FP, a.Truth.FN, a.Truth.TN, a.Truth.Precision, a.Truth.Recall)

	// The steward takes the rejection back: the group is proposed again,
	// and the policy leaves it to a person.
	if _, _, err := review.Unreject(ctx, st, wouldApprove.ID, "ann", "look again"); err != nil {
		t.Fatal(err)
	}

	// Enforce, with a cap of 3.
	p.Mode, p.MaxMergesPerCycle = Enforce, 3
	res, err = p.Apply(ctx, st, ApplyOptions{Cycle: "c2", Actor: "nightly", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Approved != 3 || res.WouldApprove != 3 || res.Capped != res.Passed-3 || res.HeldBy[GuardSteward] < 1 {
		t.Fatalf("enforce result %+v", res)
	}
	vs, err = store.PolicyVerdicts(ctx, st, store.PolicyVerdictFilter{Cycle: "c2"})
	if err != nil {
		t.Fatal(err)
	}
	var minApproved, maxCapped float64 = 2, -1
	for _, v := range vs {
		switch {
		case v.GroupID == wouldApprove.ID:
			if v.Approve || !strings.HasPrefix(v.Reasons[0], GuardSteward+": ann rejected the group") {
				t.Fatalf("the unrejected group: %+v", v)
			}
		case v.Applied:
			minApproved = min(minApproved, v.Confidence)
			g, err := st.Group(ctx, v.GroupID)
			if err != nil || g.State != cm.StateApproved {
				t.Fatalf("approved group %s is %s (%v)", v.GroupID, g.State, err)
			}
			ds, err := st.Decisions(ctx, v.GroupID)
			if err != nil || len(ds) != 1 || ds[0].Actor != "nightly (policy)" {
				t.Fatalf("decisions of %s: %+v %v", v.GroupID, ds, err)
			}
			cs, err := st.Constraints(ctx, cm.ConstraintFilter{GroupID: v.GroupID})
			if err != nil || len(cs) != 0 {
				t.Fatalf("a policy approval recorded constraints %+v %v", cs, err)
			}
		case len(v.Reasons) == 1 && guardOf(v.Reasons[0]) == GuardCap:
			maxCapped = max(maxCapped, v.Confidence)
		}
	}
	if maxCapped > minApproved {
		t.Fatalf("the cap approved a group of confidence %v and left one of %v", minApproved, maxCapped)
	}
	// The group the steward approved was not judged again (not proposed).
	for _, v := range vs {
		if v.GroupID == wouldHold.ID {
			t.Fatalf("a group a person approved was judged: %+v", v)
		}
	}
}
