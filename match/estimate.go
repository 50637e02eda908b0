package match

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// Estimating the model: u from random pairs, the comparison patterns of the
// candidate pairs, m and the prior by EM (per blocking rule), and the final
// weights.

// estimateU estimates u probabilities from random pairs (all pairs when
// there are few). It returns the number of pairs compared.
func (s *scorer) estimateU(ctx context.Context, cfg *Config) int {
	n := s.d.n
	total := int64(n) * int64(n-1) / 2
	sample := int64(cfg.USamplePairs)
	counts := make([][]float64, len(s.comps))
	for k, c := range s.comps {
		counts[k] = make([]float64, c.numLevels())
	}
	workers := cfg.workers()
	var mu sync.Mutex
	var wg sync.WaitGroup
	all := total <= sample
	if all {
		sample = total
	}
	tables := make([]*patternTable, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		tables[w] = newPatternTable()
		go func() {
			defer wg.Done()
			local := make([][]float64, len(s.comps))
			for k, c := range s.comps {
				local[k] = make([]float64, c.numLevels())
			}
			lv := make([]uint8, len(s.comps))
			tab := tables[w]
			tally := func(i, j int32) {
				s.levels(i, j, lv)
				tab.add(lv, 1)
				for k, l := range lv {
					if l != levelMissing {
						local[k][l]++
					}
				}
			}
			if all {
				for i := int32(w); i < int32(n); i += int32(workers) {
					if ctx.Err() != nil {
						return
					}
					for j := i + 1; j < int32(n); j++ {
						tally(i, j)
					}
				}
			} else {
				rng := rand.New(rand.NewPCG(cfg.Seed, uint64(w)+1))
				per := sample / int64(workers)
				for q := int64(0); q < per; q++ {
					if q&0xffff == 0 && ctx.Err() != nil {
						return
					}
					i := int32(rng.IntN(n))
					j := int32(rng.IntN(n - 1))
					if j >= i {
						j++
					}
					tally(i, j)
				}
			}
			mu.Lock()
			for k := range local {
				for l, v := range local[k] {
					counts[k][l] += v
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	s.uPats = newPatternTable()
	for _, t := range tables {
		for id, p := range t.pats {
			s.uPats.add(p, t.counts[id])
		}
	}
	for k, c := range s.comps {
		var sum float64
		for _, v := range counts[k] {
			sum += v
		}
		c.u = make([]float64, c.numLevels())
		for l, v := range counts[k] {
			c.u[l] = math.Max((v+0.5)/(sum+0.5*float64(c.numLevels())), probFloor)
		}
	}
	if !all {
		sample = sample / int64(workers) * int64(workers)
	}
	return int(sample)
}

// patternTable interns comparison vectors.
type patternTable struct {
	index  map[string]uint32
	pats   [][]uint8
	counts []float64
}

func newPatternTable() *patternTable { return &patternTable{index: map[string]uint32{}} }

func (t *patternTable) add(lv []uint8, n float64) uint32 {
	if id, ok := t.index[string(lv)]; ok {
		t.counts[id] += n
		return id
	}
	id := uint32(len(t.pats))
	p := append([]uint8(nil), lv...)
	t.pats = append(t.pats, p)
	t.counts = append(t.counts, n)
	t.index[string(p)] = id
	return id
}

// compareCandidates computes the comparison vector of every candidate pair
// in parallel; it returns the pattern of each pair and the pattern table.
func (s *scorer) compareCandidates(ctx context.Context, pairs []uint64, workers int) ([]uint32, *patternTable, error) {
	pids := make([]uint32, len(pairs))
	tables := make([]*patternTable, workers)
	var wg sync.WaitGroup
	chunk := (len(pairs) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo := w * chunk
		hi := min(len(pairs), lo+chunk)
		tables[w] = newPatternTable()
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := tables[w]
			lv := make([]uint8, len(s.comps))
			for q := lo; q < hi; q++ {
				if q&0xffff == 0 && ctx.Err() != nil {
					return
				}
				p := pairs[q]
				s.levels(int32(p>>32), int32(p&0xffffffff), lv)
				pids[q] = t.add(lv, 1)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	global := newPatternTable()
	remap := make([][]uint32, workers)
	for w, t := range tables {
		remap[w] = make([]uint32, len(t.pats))
		for id, p := range t.pats {
			remap[w][id] = global.add(p, t.counts[id])
		}
	}
	for w := 0; w < workers; w++ {
		lo := w * chunk
		hi := min(len(pairs), lo+chunk)
		for q := lo; q < hi; q++ {
			pids[q] = remap[w][pids[q]]
		}
	}
	return pids, global, nil
}

// emCore runs expectation-maximisation over comparison patterns (with
// their counts). Comparators with skip[k] set take no part (their levels
// are treated as missing). The u probabilities of the non-match class are
// free during EM (candidate non-matches agree more often than random pairs);
// scoring uses the random-pair u. It returns m per comparator (nil where
// skipped) and the match share.
func (s *scorer) emCore(pats [][]uint8, counts []float64, skip []bool, iterations int) (m [][]float64, lambda float64, iters int, converged bool) {
	nc := len(s.comps)
	m = make([][]float64, nc)
	u := make([][]float64, nc)
	for k, c := range s.comps {
		L := c.numLevels()
		m[k] = make([]float64, L)
		u[k] = make([]float64, L)
		// Start: matches mostly agree exactly; non-matches as random pairs.
		for l := 0; l < L; l++ {
			switch {
			case l == 0:
				m[k][l] = 0.8
			case l == L-1:
				m[k][l] = 0.05
			default:
				m[k][l] = 0.15 / float64(L-2)
			}
			u[k][l] = c.u[l]
		}
		if L == 2 {
			m[k][0], m[k][1] = 0.9, 0.1
		}
	}
	lambda = 0.3
	mAcc := make([][]float64, nc)
	uAcc := make([][]float64, nc)
	for k := range s.comps {
		mAcc[k] = make([]float64, len(m[k]))
		uAcc[k] = make([]float64, len(u[k]))
	}
	active := func(k int, l uint8) bool { return l != levelMissing && (skip == nil || !skip[k]) }
	for iters = 1; iters <= iterations; iters++ {
		for k := range mAcc {
			clear(mAcc[k])
			clear(uAcc[k])
		}
		var gSum, nSum float64
		for pi, p := range pats {
			lm, lu := math.Log(lambda), math.Log(1-lambda)
			for k, l := range p {
				if active(k, l) {
					lm += math.Log(m[k][l])
					lu += math.Log(u[k][l])
				}
			}
			g := 1 / (1 + math.Exp(lu-lm))
			n := counts[pi]
			gSum += g * n
			nSum += n
			for k, l := range p {
				if active(k, l) {
					mAcc[k][l] += g * n
					uAcc[k][l] += (1 - g) * n
				}
			}
		}
		if nSum == 0 {
			break
		}
		newLambda := math.Min(math.Max(gSum/nSum, 1e-9), 1-1e-9)
		delta := math.Abs(newLambda - lambda)
		lambda = newLambda
		for k := range m {
			var ms, us float64
			for l := range m[k] {
				ms += mAcc[k][l]
				us += uAcc[k][l]
			}
			for l := range m[k] {
				nm, nu := m[k][l], u[k][l]
				if ms > 0 {
					nm = math.Max(mAcc[k][l]/ms, probFloor)
				}
				if us > 0 {
					nu = math.Max(uAcc[k][l]/us, probFloor)
				}
				delta = math.Max(delta, math.Max(math.Abs(nm-m[k][l]), math.Abs(nu-u[k][l])))
				m[k][l], u[k][l] = nm, nu
			}
		}
		if delta < 1e-7 {
			converged = true
			break
		}
	}
	iters = min(iters, iterations)
	for k := range m {
		if skip != nil && skip[k] {
			m[k] = nil
		}
	}
	return m, lambda, iters, converged
}

// ruleFields returns the comparator fields a blocking rule's keys fix.
func ruleFields(keys []string) func(field string) bool {
	return func(field string) bool {
		for _, k := range keys {
			switch k {
			case "email", "phone", "city", "postalCode", "address1":
				if field == k || (field == "address" && k != "email" && k != "phone") {
					return true
				}
			case "streetNumber":
				if field == "address1" || field == "address" {
					return true
				}
			case "externalId":
				if strings.HasPrefix(field, "externalId.") {
					return true
				}
			case "custom", "customDate":
				if strings.HasPrefix(field, "custom.") {
					return true
				}
			case "firstName", "firstNameCanon", "firstSoundex", "firstInitial":
				if field == colFirst {
					return true
				}
			case "lastName", "lastSoundex":
				if field == colLast {
					return true
				}
			case "nameSet":
				if field == colFirst || field == colLast {
					return true
				}
			}
		}
		return false
	}
}

// train estimates the m probabilities the way Splink does: for each
// blocking rule, EM over (a sample of) the rule's pairs, ignoring the
// fields the rule fixes; each field's m is the average over the rules that
// estimated it, weighted by their expected matches. Fields no rule could
// estimate take the m of an EM over all candidates.
func (s *scorer) train(pt *patternTable, pids []uint32, pairs []uint64, perRule [][]uint64, rules []BlockingRule, iterations int) (iters int, converged bool) {
	nc := len(s.comps)
	acc := make([][]float64, nc)
	wsum := make([]float64, nc)
	converged = true
	for ri, rp := range perRule {
		if len(rp) < 30 {
			continue
		}
		fixed := ruleFields(rules[ri].Keys)
		skip := make([]bool, nc)
		for k, c := range s.comps {
			skip[k] = fixed(c.field)
		}
		sub := newPatternTable()
		lv := make([]uint8, nc)
		for _, p := range rp {
			q, ok := slices.BinarySearch(pairs, p)
			if !ok {
				continue
			}
			copy(lv, pt.pats[pids[q]])
			for k := range lv {
				if skip[k] {
					lv[k] = levelMissing
				}
			}
			sub.add(lv, 1)
		}
		m, lambda, it, conv := s.emCore(sub.pats, sub.counts, skip, iterations)
		iters = max(iters, it)
		converged = converged && conv
		weight := lambda * float64(len(rp))
		for k := range m {
			if m[k] == nil {
				continue
			}
			if acc[k] == nil {
				acc[k] = make([]float64, len(m[k]))
			}
			for l, v := range m[k] {
				acc[k][l] += weight * v
			}
			wsum[k] += weight
		}
	}
	var all [][]float64
	for k, c := range s.comps {
		if wsum[k] > 0 {
			// One pseudo-match at every level: a level no expected match
			// reached is rare among matches, not impossible (a middle
			// initial mistyped once must not weigh -20 bits).
			L := float64(c.numLevels())
			c.m = make([]float64, c.numLevels())
			for l := range c.m {
				c.m[l] = math.Max((acc[k][l]+1)/(wsum[k]+L), probFloor)
			}
			continue
		}
		if all == nil {
			var it int
			var conv bool
			all, _, it, conv = s.emCore(pt.pats, pt.counts, nil, iterations)
			iters = max(iters, it)
			converged = converged && conv
		}
		c.m = all[k]
	}
	return iters, converged
}

// estimateLambda finds the prior match probability by a fixed-point
// iteration over the candidate patterns with the learned weights: the
// expected number of matches among candidates over allPairs. It returns the
// prior and the match share among candidates.
func (s *scorer) estimateLambda(pt *patternTable, allPairs float64) (lambda, candShare float64) {
	var n float64
	pw := make([]float64, len(pt.pats))
	for pi, p := range pt.pats {
		pw[pi] = s.patternWeight(p)
		n += pt.counts[pi]
	}
	if n == 0 || allPairs <= 0 {
		return 1e-9, 0
	}
	lambda = math.Min(0.5*n/allPairs, 0.5)
	var e float64
	for range 200 {
		prior := math.Log2(lambda / (1 - lambda))
		e = 0
		for pi := range pt.pats {
			e += pt.counts[pi] * probability(prior+pw[pi])
		}
		next := math.Min(math.Max(e/allPairs, 1e-12), 0.5)
		if math.Abs(next-lambda) < 1e-6*lambda {
			lambda = next
			break
		}
		lambda = next
	}
	return lambda, e / n
}

// finishWeights computes each level's weight from m and u (or the fixed
// weight).
func (s *scorer) finishWeights() {
	for _, c := range s.comps {
		c.w = make([]float64, c.numLevels())
		for l := range c.w {
			if fw, ok := c.fixed[l]; ok {
				c.w[l] = fw
				continue
			}
			c.w[l] = clampWeight(math.Log2(c.m[l] / c.u[l]))
		}
	}
}

// model returns the learned parameters for display.
func (s *scorer) model() []FieldModel {
	out := make([]FieldModel, 0, len(s.comps))
	for _, c := range s.comps {
		fm := FieldModel{Field: c.field, TermFrequency: c.tf}
		for l := 0; l < c.numLevels(); l++ {
			_, fixed := c.fixed[l]
			lm := LevelModel{Name: c.levelName(uint8(l)), M: c.m[l], U: c.u[l], Weight: c.w[l], Fixed: fixed}
			if c.shift != nil {
				lm.LabelShift, lm.HouseholdShift = c.shift[l], c.hhShift[l]
			}
			fm.Levels = append(fm.Levels, lm)
		}
		out = append(out, fm)
	}
	return out
}
