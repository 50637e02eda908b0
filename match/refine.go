package match

import (
	"context"
	"math"
	"slices"
	"sync"
)

// uRounds is the number of rounds of the u correction: each corrects u for
// the matches the current prior expects among the random pairs, then
// re-estimates the prior with the new weights.
const uRounds = 3

// maxTFComponent bounds the records the term-frequency correction takes
// for one customer.
const maxTFComponent = 50

// tfFloor is the smallest number of other customers assumed to hold a
// value (term-frequency correction): a value seen only on one customer's
// records is still not proof, as if half another customer held it.
const tfFloor = 0.5

// refine finishes the model after EM: it corrects the u probabilities and
// the term frequencies for the true matches among the pairs they were
// counted on, estimates the prior and applies labelled pairs (labels.go).
// It returns
// the prior match probability and the match share among candidates.
//
// Random pairs include true matches (a share λ of them), which agree like
// matches: on small, duplicate-dense data (FEBRL 3: one random pair in 2,000
// is a match) they are most of the random pairs that agree exactly on an
// identifier, so u, and with it the weight of every agreement, is off by
// orders of magnitude. Each random pair counts as a non-match with weight
// 1 - p, p its match probability under the model. Term frequencies have
// the same bias: a phone on the three records of one customer is held by
// three records, but by no other customer. The share of other customers
// holding a value v is (customers(v) - 1) / records, customers(v) the
// customers (see correctTF) among the records holding v; at least
// min(tfFloor, u·records)/records, u the exact level's corrected u.
func (s *scorer) refine(ctx context.Context, pt *patternTable, pids []uint32, pairs []uint64, allPairs float64, cfg *Config) (lambda, candShare float64) {
	lambda, candShare = s.estimateLambda(pt, allPairs)
	s.prior = math.Log2(lambda / (1 - lambda))
	for range uRounds {
		s.correctU()
		s.finishWeights()
		lambda, candShare = s.estimateLambda(pt, allPairs)
		s.prior = math.Log2(lambda / (1 - lambda))
	}
	if ctx.Err() != nil {
		return lambda, candShare
	}
	s.correctTF(pt, pids, pairs, cfg.workers())
	labels := cfg.Labels
	if cfg.LearnFromDecisions {
		labels = append(slices.Clip(labels), s.d.pc.labels(s.d.ids)...)
	}
	if len(labels) > 0 {
		s.labelled = s.applyLabels(labels)
	}
	return lambda, candShare
}

// correctU re-estimates each comparator's u from the random pairs, each
// pair counting as a non-match with weight 1 - p, p its match probability
// under the current model and prior (an EM step for u on the random pairs:
// the matches among them no longer pass for non-matches that agree).
func (s *scorer) correctU() {
	if s.uPats == nil {
		return
	}
	nc := len(s.comps)
	acc := make([][]float64, nc)
	for k, c := range s.comps {
		acc[k] = make([]float64, c.numLevels())
	}
	for pi, p := range s.uPats.pats {
		nm := s.uPats.counts[pi] * (1 - probability(s.prior+s.patternWeight(p)))
		for k, l := range p {
			if l != levelMissing {
				acc[k][l] += nm
			}
		}
	}
	for k, c := range s.comps {
		if c.m == nil {
			continue
		}
		var n float64
		for _, v := range acc[k] {
			n += v
		}
		L := float64(c.numLevels())
		for l, v := range acc[k] {
			c.u[l] = math.Max((v+0.5)/(n+0.5*L), probFloor)
		}
	}
}

// correctTF sets each term-frequency comparator's corrected frequencies
// from the customers the model sees: records joined by candidate pairs at
// match probability 0.5 or more under the model without term frequencies
// form one customer (components larger than maxTFComponent, a chain
// through weak links, count each record as its own), and the other
// customers holding a value are the customers holding it less one.
func (s *scorer) correctTF(pt *patternTable, pids []uint32, pairs []uint64, workers int) {
	var tfc []int
	for k, c := range s.comps {
		if _, fixed := c.fixed[0]; c.tf && !fixed && tfable(c.levels[0].kind) && c.col.total > 0 {
			tfc = append(tfc, k)
		}
	}
	if len(tfc) == 0 {
		return
	}
	u := newDenseUnionFind(s.d.n)
	linked := make([]bool, len(pt.pats))
	for pi, p := range pt.pats {
		linked[pi] = s.prior+s.patternWeight(p) >= 0
	}
	for q, p := range pairs {
		if linked[pids[q]] {
			u.union(int32(p>>32), int32(p&0xffffffff))
		}
	}
	customer := make([]int32, s.d.n)
	for r := range customer {
		root := u.find(int32(r))
		if u.setSize(root) > maxTFComponent {
			root = int32(r)
		}
		customer[r] = root
	}
	// One comparator per goroutine; a value held by one record is held by
	// one customer and needs no sorting.
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, workers))
	for _, k := range tfc {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c := s.comps[k]
			customers := make([]float32, len(c.col.syms))
			var keys []uint64
			for r := int32(0); r < int32(s.d.n); r++ {
				for _, v := range c.col.values(r) {
					if c.col.counts[v] > 1 {
						keys = append(keys, uint64(v)<<32|uint64(customer[r]))
					} else {
						customers[v] = 1
					}
				}
			}
			slices.Sort(keys)
			keys = slices.Compact(keys)
			for _, key := range keys {
				customers[key>>32]++
			}
			total := float32(c.col.total)
			floor := min(float32(tfFloor), float32(c.u[0])*total)
			c.tfFloor = floor / total // a value on one customer: max(1-1, floor) / total
			tfU := make([]float32, len(c.col.syms))
			for v, n := range customers {
				tfU[v] = max(n-1, floor) / total
			}
			c.tfU = tfU
		})
	}
	wg.Wait()
}
