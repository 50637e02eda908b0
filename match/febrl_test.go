package match

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// febrlDir finds the FEBRL files: $CONTACTMERGE_FEBRL, else shared/ beside
// the repository (as laid out for developers and CI), else /work/shared.
func febrlDir() string {
	for _, dir := range []string{
		os.Getenv("CONTACTMERGE_FEBRL"),
		filepath.Join("..", "..", "shared", "bench-data", "febrl"),
		"/work/shared/bench-data/febrl",
	} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "dataset1.csv")); err == nil {
			return dir
		}
	}
	return ""
}

func febrlSets(t testing.TB) map[string][]string {
	t.Helper()
	febrlDir := febrlDir()
	if febrlDir == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("FEBRL data not found beside the repository (../shared/bench-data/febrl) nor in $CONTACTMERGE_FEBRL")
		}
		t.Skip("FEBRL data not found: set CONTACTMERGE_FEBRL to its folder")
	}
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
