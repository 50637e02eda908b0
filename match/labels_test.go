package match

import (
	"context"
	"math"
	"slices"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestLabelsFromDecisions(t *testing.T) {
	got := LabelsFromGroups([][]string{{"a", "b", "c"}}, [][]string{{"x", "y"}, {"p", "q", "r"}})
	want := []LabelledPair{{"a", "b", true}, {"a", "c", true}, {"b", "c", true}, {"x", "y", false}}
	if !slices.Equal(got, want) {
		t.Errorf("LabelsFromGroups = %v, want %v", got, want)
	}
	got = LabelsFromSplit([][]string{{"a", "b"}, {"c"}})
	want = []LabelledPair{{"a", "b", true}, {"a", "c", false}, {"b", "c", false}}
	if !slices.Equal(got, want) {
		t.Errorf("LabelsFromSplit = %v, want %v", got, want)
	}
}

func TestSolve(t *testing.T) {
	h := []float64{4, 1, 0, 1, 3, 1, 0, 1, 2}
	x := solve(slices.Clone(h), []float64{1, 2, 3}, 3)
	for r := range 3 {
		var v float64
		for c := range 3 {
			v += h[r*3+c] * x[c]
		}
		if math.Abs(v-float64(r+1)) > 1e-12 {
			t.Fatalf("h·x = %v at row %d", v, r)
		}
	}
}

func TestReviewOrder(t *testing.T) {
	groups := []cm.Group{
		{ID: "sure", Members: []string{"a", "b"}, Confidence: 0.9999},
		{ID: "coin", Members: []string{"c", "d"}, Confidence: 0.5},
		{ID: "big", Members: []string{"e", "f", "g"}, Confidence: 0.9},
		{ID: "small", Members: []string{"h", "i"}, Confidence: 0.9},
	}
	if got := RankGroups(groups); !slices.Equal(got, []int{1, 2, 3, 0}) {
		t.Errorf("RankGroups = %v", got)
	}
	pairs := []ScoredPair{{A: "a", B: "b", Probability: 0.01}, {A: "c", B: "d", Probability: 0.55}, {A: "e", B: "f", Probability: 0.97}}
	if got := UncertainPairs(pairs, 2); len(got) != 2 || got[0].A != "c" || got[1].A != "e" {
		t.Errorf("UncertainPairs = %v", got)
	}
	if entropy(0.5) != 1 || entropy(0) != 0 || entropy(1) != 0 {
		t.Error("entropy")
	}
}

// TestDecisionsTeach simulates a steward: 50 decisions on the pairs the
// model is least sure of (UncertainPairs, the review queue of possible
// matches), answered from the truth, become Config.Labels; the next match
// of the same organization has a higher F1. Decisions on groups of a
// review run (RankGroups on a run at MatchThreshold 0.5, rejected groups
// split into their true parts) teach it too.
func TestDecisionsTeach(t *testing.T) {
	if testing.Short() {
		t.Skip("matches a 20,000-contact organization four times")
	}
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 20000, Seed: 5, DupRate: 0.2})
	entity := map[string]int{}
	for e, g := range org.Truth {
		for _, id := range g {
			entity[id] = e + 1
		}
	}
	same := func(a, b string) bool { return entity[a] != 0 && entity[a] == entity[b] }
	cfg := DefaultConfig()
	cfg.ReportPairs = true
	before, err := MatchContacts(context.Background(), org.Contacts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev0 := Evaluate(before, org.Truth)
	var labels []LabelledPair
	for _, p := range UncertainPairs(before.Pairs, 50) {
		labels = append(labels, LabelledPair{A: p.A, B: p.B, Match: same(p.A, p.B)})
	}
	cfg.Labels = labels
	after, err := MatchContacts(context.Background(), org.Contacts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev1 := Evaluate(after, org.Truth)
	t.Logf("before: %v", ev0)
	t.Logf("after 50 pair decisions (%d labels used, prior shift %.2f bits): %v", after.Stats.Model.Labels, after.Stats.Model.LabelShift, ev1)
	if ev1.F1 <= ev0.F1 || ev1.Precision < 0.998 || after.Stats.Model.Labels != 50 {
		t.Errorf("F1 %.4f after the decisions, %.4f before (precision %.4f)", ev1.F1, ev0.F1, ev1.Precision)
	}

	review := DefaultConfig()
	review.MatchThreshold = 0.5
	queue, err := MatchContacts(context.Background(), org.Contacts, review)
	if err != nil {
		t.Fatal(err)
	}
	var approved [][]string
	var split []LabelledPair
	for k, gi := range RankGroups(queue.Groups) {
		if k == 50 {
			break
		}
		g := queue.Groups[gi]
		parts := map[int][]string{}
		var order []int
		for i, id := range g.Members {
			e := entity[id]
			if e == 0 {
				e = -1 - i
			}
			if _, ok := parts[e]; !ok {
				order = append(order, e)
			}
			parts[e] = append(parts[e], id)
		}
		if len(order) == 1 {
			approved = append(approved, g.Members)
			continue
		}
		var ps [][]string
		for _, e := range order {
			ps = append(ps, parts[e])
		}
		split = append(split, LabelsFromSplit(ps)...)
	}
	cfg.Labels = append(LabelsFromGroups(approved, nil), split...)
	grouped, err := MatchContacts(context.Background(), org.Contacts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev2 := Evaluate(grouped, org.Truth)
	t.Logf("after 50 group decisions (%d approved, %d labels): %v", len(approved), len(cfg.Labels), ev2)
	if ev2.F1 <= ev0.F1 || ev2.Precision < 0.998 {
		t.Errorf("F1 %.4f after the group decisions, %.4f before (precision %.4f)", ev2.F1, ev0.F1, ev2.Precision)
	}
}

// decidedInput is an Input holding stewards' decisions.
type decidedInput struct {
	*MemoryInput
	cs []cm.PairConstraint
}

func (d *decidedInput) Constraints(context.Context, cm.ConstraintFilter) ([]cm.PairConstraint, error) {
	return d.cs, nil
}

// TestLearnFromDecisions: with LearnFromDecisions, the must-links and
// cannot-links of a ConstraintSource are labels too.
func TestLearnFromDecisions(t *testing.T) {
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 2000, Seed: 3})
	cfg := DefaultConfig()
	var cs []cm.PairConstraint
	for i, g := range org.Truth[:20] {
		kind := cm.MustLink
		if i%4 == 0 {
			kind = cm.CannotLink // a steward's mistake, as far as the truth goes
		}
		cs = append(cs, cm.PairConstraint{ID: int64(i + 1), Kind: kind, A: g[0], B: g[1], Actor: "ann"})
	}
	in := &decidedInput{MemoryInput: NewMemoryInput(org.Contacts, cfg), cs: cs}
	res, err := Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Model.Labels != 0 {
		t.Errorf("labels %d without LearnFromDecisions", res.Stats.Model.Labels)
	}
	cfg.LearnFromDecisions = true
	res, err = Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Model.Labels != len(cs) {
		t.Errorf("labels %d, want the %d decisions", res.Stats.Model.Labels, len(cs))
	}
}
