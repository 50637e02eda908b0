package match

import (
	"context"

	cm "github.com/contactmerge/contactmerge"
)

// PairwiseScores compares groups with the true clusters as sets of pairs:
// tp counts pairs inside a group that are inside a true cluster, fp pairs
// inside a group that are not, fn true pairs not inside any group.
// Precision, recall and F1 are 1 when their denominators are 0.
func PairwiseScores(groups [][]string, truth [][]string) (precision, recall, f1 float64, tp, fp, fn int) {
	entity := map[string]int{}
	trueSize := map[int]int{}
	truePairs := 0
	for e, members := range truth {
		for _, id := range members {
			entity[id] = e
		}
		trueSize[e] = len(members)
		truePairs += len(members) * (len(members) - 1) / 2
	}
	predicted := 0
	for _, g := range groups {
		predicted += len(g) * (len(g) - 1) / 2
		counts := map[int]int{}
		for _, id := range g {
			if e, ok := entity[id]; ok {
				counts[e]++
			}
		}
		for _, n := range counts {
			tp += n * (n - 1) / 2
		}
	}
	fp = predicted - tp
	fn = truePairs - tp
	precision, recall = 1, 1
	if predicted > 0 {
		precision = float64(tp) / float64(predicted)
	}
	if truePairs > 0 {
		recall = float64(tp) / float64(truePairs)
	}
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	return precision, recall, f1, tp, fp, fn
}

// pairSet returns the unordered pairs inside each group.
func pairSet(truth [][]string) map[[2]string]bool {
	s := map[[2]string]bool{}
	for _, g := range truth {
		for i := range g {
			for j := i + 1; j < len(g); j++ {
				a, b := g[i], g[j]
				if a > b {
					a, b = b, a
				}
				s[[2]string{a, b}] = true
			}
		}
	}
	return s
}

// BlockingReport measures the blocking of cfg on contacts with known true
// clusters.
type BlockingReport struct {
	Contacts       int `json:"contacts"`
	CandidatePairs int `json:"candidatePairs"`
	TruePairs      int `json:"truePairs"`
	FoundPairs     int `json:"foundPairs"` // true pairs that are candidates
	// PairCompleteness is FoundPairs / TruePairs (blocking recall).
	PairCompleteness float64 `json:"pairCompleteness"`
	// ReductionRatio is 1 - CandidatePairs / all pairs.
	ReductionRatio float64     `json:"reductionRatio"`
	Rules          []RuleStats `json:"rules"`
	SkippedBlocks  int         `json:"skippedBlocks"`
}

// EvaluateBlocking runs only the blocking of cfg on cs and reports pair
// completeness against truth (the true clusters as lists of contact ids).
func EvaluateBlocking(ctx context.Context, cs []cm.Contact, truth [][]string, cfg Config) (BlockingReport, error) {
	var rep BlockingReport
	if err := cfg.Validate(); err != nil {
		return rep, err
	}
	in := NewMemoryInput(cs, cfg)
	d := newDataset()
	for i, id := range in.ids {
		d.addEncoded(id, in.norms[i], in.fp)
	}
	d.finish()
	br, err := block(ctx, d, &cfg, newNicknames(cfg.Nicknames))
	if err != nil {
		return rep, err
	}
	cand := make(map[[2]string]bool, len(br.pairs))
	for _, p := range br.pairs {
		a, b := d.ids[p>>32], d.ids[p&0xffffffff]
		if a > b {
			a, b = b, a
		}
		cand[[2]string{a, b}] = true
	}
	tp := pairSet(truth)
	rep.Contacts = d.n
	rep.CandidatePairs = len(br.pairs)
	rep.TruePairs = len(tp)
	for p := range tp {
		if cand[p] {
			rep.FoundPairs++
		}
	}
	rep.PairCompleteness = 1
	if rep.TruePairs > 0 {
		rep.PairCompleteness = float64(rep.FoundPairs) / float64(rep.TruePairs)
	}
	if all := float64(d.n) * float64(d.n-1) / 2; all > 0 {
		rep.ReductionRatio = 1 - float64(rep.CandidatePairs)/all
	}
	rep.Rules = br.stats
	for _, r := range br.stats {
		rep.SkippedBlocks += r.SkippedBlocks
	}
	return rep, nil
}
