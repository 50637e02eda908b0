package match

import (
	"context"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

// constrainedInput is a MemoryInput that also holds stewards' decisions.
type constrainedInput struct {
	*MemoryInput
	cs []cm.PairConstraint
}

func (c *constrainedInput) Constraints(context.Context, cm.ConstraintFilter) ([]cm.PairConstraint, error) {
	return c.cs, nil
}

// TestRunRespectsConstraints: on a generated organization, rejecting the
// groups a first run proposed (every pair of one, a split of another)
// keeps every rejected pair out of the groups of the next run, and
// must-linking two unrelated contacts groups them, with notes that name
// the decisions.
func TestRunRespectsConstraints(t *testing.T) {
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 2000, Seed: 5})
	cfg := DefaultConfig()
	base, err := MatchContacts(context.Background(), org.Contacts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var big []cm.Group
	for _, g := range base.Groups {
		if len(g.Members) >= 3 {
			big = append(big, g)
		}
	}
	if len(big) < 3 {
		t.Fatalf("only %d groups of three or more", len(big))
	}
	var cs []cm.PairConstraint
	add := func(kind cm.ConstraintKind, g string, ps ...cm.Pair) {
		for _, p := range ps {
			cs = append(cs, cm.PairConstraint{ID: int64(len(cs) + 1), Kind: kind, A: p.A, B: p.B, GroupID: g, Actor: "ann"})
		}
	}
	whole, split := big[0], big[1]
	add(cm.CannotLink, whole.ID, cm.Pairs(whole.Members)...)
	add(cm.CannotLink, split.ID, cm.CrossPairs(split.Members[:1], split.Members)...)
	// Two contacts in no group, linked by a person.
	grouped := map[string]bool{}
	for _, g := range base.Groups {
		for _, m := range g.Members {
			grouped[m] = true
		}
	}
	var loners []string
	for _, c := range org.Contacts {
		if !grouped[c.ID] && len(loners) < 2 {
			loners = append(loners, c.ID)
		}
	}
	add(cm.MustLink, "", cm.MakePair(loners[0], loners[1]))

	in := &constrainedInput{MemoryInput: NewMemoryInput(org.Contacts, cfg), cs: cs}
	res, err := Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cannot := map[cm.Pair]bool{}
	for _, c := range cs {
		if c.Kind == cm.CannotLink {
			cannot[c.Pair()] = true
		}
	}
	var linked *cm.Group
	for i, g := range res.Groups {
		for _, p := range cm.Pairs(g.Members) {
			if cannot[p] {
				t.Errorf("group %s holds the rejected pair %v", g.ID, p)
			}
		}
		if g.ID == whole.ID || g.ID == split.ID {
			t.Errorf("rejected group %s proposed again", g.ID)
		}
		if slices.Contains(g.Members, loners[0]) {
			linked = &res.Groups[i]
		}
	}
	if linked == nil || !slices.Contains(linked.Members, loners[1]) || linked.Confidence != 1 {
		t.Fatalf("must-linked contacts %v: group %+v", loners, linked)
	}
	if notes := strings.Join(linked.Explanation.Notes, "\n"); !strings.Contains(notes, "steward decision: "+loners[0]+"–"+loners[1]+" linked by ann") &&
		!strings.Contains(notes, "steward decision: "+loners[1]+"–"+loners[0]+" linked by ann") {
		t.Errorf("notes of the linked group: %q", notes)
	}
	// The split's other members may still form a group; it says that its
	// members were rejected against the split-off one.
	rest := split.Members[1:]
	for _, g := range res.Groups {
		if slices.Equal(g.Members, rest) {
			if !strings.Contains(strings.Join(g.Explanation.Notes, "\n"), "(outside this group)") {
				t.Errorf("the rest of the split has no note: %q", g.Explanation.Notes)
			}
		}
	}
	if res.Stats.RefusedJoins["cannotLink"] == 0 {
		t.Errorf("no join refused for a cannot-link: %+v", res.Stats.RefusedJoins)
	}
	// Without constraints the run is as before.
	again, err := Run(context.Background(), NewMemoryInput(org.Contacts, cfg), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Groups) != len(base.Groups) || again.Groups[0].ID != base.Groups[0].ID {
		t.Errorf("a run without constraints changed")
	}
}
