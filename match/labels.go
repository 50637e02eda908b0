package match

import (
	"maps"
	"math"
	"slices"

	cm "github.com/contactmerge/contactmerge"
)

// LabelledPair is a steward's decision on two contacts: the same customer
// (Match) or not.
type LabelledPair struct {
	A     string `json:"a"`
	B     string `json:"b"`
	Match bool   `json:"match"`
}

// LabelsFromGroups turns decided groups into labelled pairs: every pair of
// an approved group is a match, and the two members of a rejected group of
// two are not. A rejected group of more members names no pair (which of
// its members is the stranger?) and gives no label: a steward who splits
// it says more (LabelsFromSplit). Groups are lists of contact ids.
func LabelsFromGroups(approved, rejected [][]string) []LabelledPair {
	var out []LabelledPair
	for _, g := range approved {
		out = append(out, LabelsFromSplit([][]string{g})...)
	}
	for _, g := range rejected {
		if len(g) == 2 && g[0] != g[1] {
			out = append(out, LabelledPair{A: g[0], B: g[1]})
		}
	}
	return out
}

// LabelsFromSplit labels a group a steward split into parts: every pair
// inside a part is a match, every pair across two parts is not (a part of
// one member is a contact taken out of the group).
func LabelsFromSplit(parts [][]string) []LabelledPair {
	var out []LabelledPair
	for p, part := range parts {
		for i := range part {
			for j := i + 1; j < len(part); j++ {
				if part[i] != part[j] {
					out = append(out, LabelledPair{A: part[i], B: part[j], Match: true})
				}
			}
			for _, other := range parts[p+1:] {
				for _, b := range other {
					if part[i] != b {
						out = append(out, LabelledPair{A: part[i], B: b})
					}
				}
			}
		}
	}
	return out
}

// labels returns the stewards' decisions of a run's constraints as
// labelled pairs: a must-link is a match, a cannot-link is not (ids[r]
// names record r).
func (pc *pairConstraints) labels(ids []string) []LabelledPair {
	if pc == nil {
		return nil
	}
	var out []LabelledPair
	for _, side := range []struct {
		m     map[int32][]int32
		match bool
	}{{pc.must, true}, {pc.cannot, false}} {
		for _, a := range slices.Sorted(maps.Keys(side.m)) {
			for _, b := range side.m[a] {
				if a < b {
					out = append(out, LabelledPair{A: ids[a], B: ids[b], Match: side.match})
				}
			}
		}
	}
	return out
}

// Label learning. Labelled pairs come from a review queue, not at random:
// they sit where the model hesitates, so they cannot re-estimate m and u
// the way random pairs and EM do. They correct the model where they are
// enough instead: a logistic fit of the labels on the model's own weight
// learns a shift (bits) of each level's weight log2(m/u) that at least
// labelMinPairs labelled pairs show, a separate shift of the contact
// points the household rule zeroes (so that a steward can teach that a
// shared phone with another given name is the same customer after all, or
// not), and a shift of the prior, which moves every pair against the match
// threshold. Each shift has a Gaussian prior of labelSigma bits around 0:
// a few labels move the weights a little, many move them as far as the
// decisions require.
//
// Labelled pairs the model weighs below labelMinWeight take no part: two
// members of an approved group with nothing in common are one customer
// through the other members, and their own comparison says nothing about
// what the levels weigh.
const (
	labelMinPairs   = 3
	labelSigma      = 3.0
	labelPriorSigma = 1.0
	labelNewton     = 30
	labelMinWeight  = -10.0
)

// applyLabels fits the label shifts and sets them on the comparators and
// the prior.
func (s *scorer) applyLabels(labels []LabelledPair) int {
	index := make(map[string]int32, 2*len(labels))
	for _, l := range labels {
		index[l.A], index[l.B] = -1, -1
	}
	for r, id := range s.d.ids {
		if _, ok := index[id]; ok {
			index[id] = int32(r)
		}
	}
	// Feature j of a comparator: 2·level (plain) or 2·level+1 (household).
	off := make([]int, len(s.comps)+1)
	for k, c := range s.comps {
		off[k+1] = off[k] + 2*c.numLevels()
	}
	nf := off[len(s.comps)] + 1 // + the prior
	type sample struct {
		base  float64
		feats []int
		y     float64
	}
	var samples []sample

	seen := map[[2]int32]bool{}
	lv := make([]uint8, len(s.comps))
	for _, l := range labels {
		i, j := index[l.A], index[l.B]
		if i < 0 || j < 0 || i == j {
			continue
		}
		if i > j {
			i, j = j, i
		}
		if seen[[2]int32{i, j}] {
			continue
		}
		seen[[2]int32{i, j}] = true
		s.levels(i, j, lv)
		sup := s.suppressed(lv)
		smp := sample{base: s.weight(i, j, lv), feats: []int{nf - 1}} // the prior
		if smp.base < labelMinWeight {
			continue
		}
		if l.Match {
			smp.y = 1
		}
		for k, lev := range lv {
			if lev == levelMissing {
				continue
			}
			f := off[k] + 2*int(lev)
			if sup && s.hhField[k] {
				f++
			}
			smp.feats = append(smp.feats, f)
		}
		samples = append(samples, smp)
	}
	if len(samples) == 0 {
		return 0
	}
	count := make([]int, nf)
	for _, smp := range samples {
		for _, f := range smp.feats {
			count[f]++
		}
	}
	var free []int // features the labels can move
	pos := make([]int, nf)
	for f := range nf {
		pos[f] = -1
		if count[f] >= labelMinPairs {
			pos[f] = len(free)
			free = append(free, f)
		}
	}
	if len(free) == 0 {
		return len(samples)
	}
	// Newton's method on the penalized log-likelihood, in bits, each step
	// halved until the objective decreases.
	delta := make([]float64, len(free))
	n := len(free)
	precOf := make([]float64, n)
	for a, f := range free {
		precOf[a] = 1 / (labelSigma * labelSigma)
		if f == nf-1 {
			precOf[a] = 1 / (labelPriorSigma * labelPriorSigma)
		}
	}
	objective := func(d []float64) float64 {
		var o float64
		for a := range n {
			o += d[a] * d[a] * precOf[a] / 2
		}
		for _, smp := range samples {
			z := smp.base
			for _, f := range smp.feats {
				if p := pos[f]; p >= 0 {
					z += d[p]
				}
			}
			// -log σ(±z·ln2), computed stably.
			t := math.Ln2 * z
			if smp.y == 0 {
				t = -t
			}
			if t > 0 {
				o += math.Log1p(math.Exp(-t))
			} else {
				o += -t + math.Log1p(math.Exp(t))
			}
		}
		return o
	}
	cur := objective(delta)
	for range labelNewton {
		g := make([]float64, n)
		h := make([]float64, n*n)
		for a := range n {
			g[a] = delta[a] * precOf[a]
			h[a*n+a] = precOf[a]
		}
		for _, smp := range samples {
			z := smp.base
			var fs []int
			for _, f := range smp.feats {
				if p := pos[f]; p >= 0 {
					z += delta[p]
					fs = append(fs, p)
				}
			}
			p := probability(z)
			gr := math.Ln2 * (p - smp.y)
			cv := math.Ln2 * math.Ln2 * p * (1 - p)
			for _, a := range fs {
				g[a] += gr
				for _, b := range fs {
					h[a*n+b] += cv
				}
			}
		}
		step := solve(h, g, n)
		next := make([]float64, n)
		scale := 1.0
		var val float64
		for range 40 {
			for a := range n {
				next[a] = delta[a] - scale*step[a]
			}
			if val = objective(next); val <= cur {
				break
			}
			scale /= 2
		}
		if val > cur {
			break
		}
		var move float64
		for a := range n {
			move = math.Max(move, math.Abs(next[a]-delta[a]))
		}
		delta, cur = next, val
		if move < 1e-6 {
			break
		}
	}
	for k, c := range s.comps {
		L := c.numLevels()
		c.shift, c.hhShift = make([]float64, L), make([]float64, L)
		for l := range L {
			if p := pos[off[k]+2*l]; p >= 0 {
				c.shift[l] = delta[p]
			}
			if p := pos[off[k]+2*l+1]; p >= 0 {
				c.hhShift[l] = delta[p]
			}
		}
	}
	if p := pos[nf-1]; p >= 0 {
		s.labelShift = delta[p]
		s.prior += delta[p]
	}
	return len(samples)
}

// solve returns x with h·x = g for the n×n symmetric positive definite
// matrix h (row-major), by Gaussian elimination with partial pivoting; h
// and g are overwritten.
func solve(h, g []float64, n int) []float64 {
	for col := range n {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(h[r*n+col]) > math.Abs(h[piv*n+col]) {
				piv = r
			}
		}
		if piv != col {
			for c := range n {
				h[col*n+c], h[piv*n+c] = h[piv*n+c], h[col*n+c]
			}
			g[col], g[piv] = g[piv], g[col]
		}
		d := h[col*n+col]
		if d == 0 {
			continue
		}
		for r := col + 1; r < n; r++ {
			f := h[r*n+col] / d
			if f == 0 {
				continue
			}
			for c := col; c < n; c++ {
				h[r*n+c] -= f * h[col*n+c]
			}
			g[r] -= f * g[col]
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		v := g[r]
		for c := r + 1; c < n; c++ {
			v -= h[r*n+c] * x[c]
		}
		if d := h[r*n+r]; d != 0 {
			x[r] = v / d
		}
	}
	return x
}

// Review order. A steward's decision teaches the model most where the
// model is least sure: the binary entropy of a match probability p,
// H(p) = -p·log2 p - (1-p)·log2(1-p), is 1 bit at p = 0.5 and 0 at 0 or 1.

// entropy returns H(p) in bits.
func entropy(p float64) float64 {
	if p <= 0 || p >= 1 {
		return 0
	}
	return -p*math.Log2(p) - (1-p)*math.Log2(1-p)
}

// RankGroups returns the indexes of groups, most informative first for a
// steward's review (uncertainty sampling): by the entropy of the group's
// confidence (its weakest link's match probability), then larger groups
// first (a decision labels more pairs), then by id. Groups proposed just
// above the match threshold come first; a review run with a lower
// MatchThreshold (e.g. 0.5) also proposes the possible matches below it.
func RankGroups(groups []cm.Group) []int {
	order := make([]int, len(groups))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ha, hb := entropy(groups[a].Confidence), entropy(groups[b].Confidence)
		switch {
		case ha > hb:
			return -1
		case ha < hb:
			return 1
		case len(groups[a].Members) != len(groups[b].Members):
			return len(groups[b].Members) - len(groups[a].Members)
		case groups[a].ID < groups[b].ID:
			return -1
		case groups[a].ID > groups[b].ID:
			return 1
		}
		return 0
	})
	return order
}

// UncertainPairs returns the n scored pairs (Result.Pairs) whose match
// probability has the largest entropy, most uncertain first (ties by
// ids): the pairs a steward's decision teaches the model most about,
// including possible matches below the match threshold that no group
// proposes.
func UncertainPairs(pairs []ScoredPair, n int) []ScoredPair {
	out := slices.Clone(pairs)
	slices.SortStableFunc(out, func(a, b ScoredPair) int {
		ha, hb := entropy(a.Probability), entropy(b.Probability)
		switch {
		case ha > hb:
			return -1
		case ha < hb:
			return 1
		case a.A != b.A:
			if a.A < b.A {
				return -1
			}
			return 1
		case a.B < b.B:
			return -1
		case a.B > b.B:
			return 1
		}
		return 0
	})
	if n >= 0 && n < len(out) {
		out = out[:n]
	}
	return out
}
