package match

import (
	"context"
	"slices"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

func grouped(res *Result, a, b string) bool {
	for _, g := range res.Groups {
		if slices.Contains(g.Members, a) && slices.Contains(g.Members, b) {
			return true
		}
	}
	return false
}

// TestDivisions: contacts are only matched within their division unless
// CrossDivision is set.
func TestDivisions(t *testing.T) {
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 4000, Seed: 5})
	cfg := DefaultConfig()
	res, err := MatchContacts(context.Background(), org.Contacts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A true pair the matcher groups.
	var a, b string
	for _, g := range org.Truth {
		if len(g) == 2 && grouped(res, g[0], g[1]) {
			a, b = g[0], g[1]
			break
		}
	}
	if a == "" {
		t.Fatal("no grouped true pair")
	}
	cs := slices.Clone(org.Contacts)
	for i := range cs {
		if cs[i].ID == b {
			cs[i].Division = &cm.Ref{ID: "another-division"}
		}
	}
	res, err = MatchContacts(context.Background(), cs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if grouped(res, a, b) {
		t.Errorf("%s and %s grouped across divisions", a, b)
	}
	cfg.CrossDivision = true
	res, err = MatchContacts(context.Background(), cs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !grouped(res, a, b) {
		t.Errorf("%s and %s not grouped with CrossDivision", a, b)
	}
	// Every group is well formed.
	for _, g := range res.Groups {
		if g.ID != cm.GroupID(g.Members) || !slices.IsSorted(g.Members) || g.State != cm.StateProposed ||
			!slices.Contains(g.Members, g.SurvivorID) || g.Merged == nil || g.Merged.ID != "" ||
			g.Confidence < cfg.MatchThreshold || len(g.Members) > cfg.MaxGroupSize ||
			g.Explanation == nil || len(g.Explanation.Links) != len(g.Members)-1 {
			t.Fatalf("malformed group %+v", g)
		}
		for _, l := range g.Explanation.Links {
			sum := 0.0
			for _, f := range l.Fields {
				sum += f.Weight
			}
			if d := sum - l.Weight; d > 1e-6 || d < -1e-6 {
				t.Fatalf("waterfall does not add up: %v vs %v", sum, l.Weight)
			}
		}
	}
}
