package match

import (
	"context"
	"path/filepath"
	"testing"
)

const febrlDir = "/work/shared/bench-data/febrl"

func febrlSets(t testing.TB) map[string][]string {
	t.Helper()
	return map[string][]string{
		"dataset1": {filepath.Join(febrlDir, "dataset1.csv")},
		"dataset2": {filepath.Join(febrlDir, "dataset2.csv")},
		"dataset3": {filepath.Join(febrlDir, "dataset3.csv")},
		"dataset4": {filepath.Join(febrlDir, "dataset4a.csv"), filepath.Join(febrlDir, "dataset4b.csv")},
	}
}

func groupMembers(r *Result) [][]string {
	out := make([][]string, 0, len(r.Groups))
	for _, g := range r.Groups {
		out = append(out, g.Members)
	}
	return out
}

func TestFEBRL(t *testing.T) {
	for _, name := range []string{"dataset1", "dataset2", "dataset3", "dataset4"} {
		t.Run(name, func(t *testing.T) {
			cs, truth, err := LoadFEBRLFiles(febrlSets(t)[name]...)
			if err != nil {
				t.Skipf("FEBRL data not available: %v", err)
			}
			cfg := DefaultConfig()
			rep, err := EvaluateBlocking(context.Background(), cs, truth, cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := MatchContacts(context.Background(), cs, cfg)
			if err != nil {
				t.Fatal(err)
			}
			p, r, f1, tp, fp, fn := PairwiseScores(groupMembers(res), truth)
			t.Logf("%s: %d contacts, pair completeness %.4f (%d/%d), candidates %d, reduction %.5f", name, len(cs), rep.PairCompleteness, rep.FoundPairs, rep.TruePairs, rep.CandidatePairs, rep.ReductionRatio)
			t.Logf("%s: precision %.4f recall %.4f F1 %.4f (tp %d fp %d fn %d); %v", name, p, r, f1, tp, fp, fn, res.Stats)
			if p < 0.99 || f1 < 0.97 {
				t.Errorf("%s: precision %.4f (want >= 0.99), F1 %.4f (want >= 0.97)", name, p, f1)
			}
		})
	}
}
