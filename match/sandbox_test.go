package match

import (
	"context"
	"testing"

	"github.com/contactmerge/contactmerge/sandbox"
)

func TestSandboxOrgs(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 5000
	}
	for _, tc := range []struct {
		name          string
		seed          int64
		noIdentifiers bool
		minF1         float64
	}{
		{"seed1", 1, false, 0.97},
		{"seed2", 2, false, 0.97},
		{"seed3", 3, false, 0.97},
		{"noIdentifiers-seed1", 1, true, 0},
		{"noIdentifiers-seed4", 4, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org := sandbox.Generate(sandbox.GenConfig{Contacts: n, Seed: tc.seed, DupRate: 0.2, NoIdentifiers: tc.noIdentifiers})
			cfg := DefaultConfig()
			rep, err := EvaluateBlocking(context.Background(), org.Contacts, org.Truth, cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := MatchContacts(context.Background(), org.Contacts, cfg)
			if err != nil {
				t.Fatal(err)
			}
			p, r, f1, tp, fp, fn := PairwiseScores(groupMembers(res), org.Truth)
			t.Logf("%s: %d contacts, pair completeness %.4f (%d/%d), candidates %d", tc.name, len(org.Contacts), rep.PairCompleteness, rep.FoundPairs, rep.TruePairs, rep.CandidatePairs)
			t.Logf("%s: precision %.4f recall %.4f F1 %.4f (tp %d fp %d fn %d); %v", tc.name, p, r, f1, tp, fp, fn, res.Stats)
			if p < 0.99 || f1 < tc.minF1 {
				t.Errorf("%s: precision %.4f (want >= 0.99), F1 %.4f (want >= %.2f)", tc.name, p, f1, tc.minF1)
			}
		})
	}
}
