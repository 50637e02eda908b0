package match

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

// weights is a symmetric pair-weight table for clustering tests; absent
// pairs score def.
type weights struct {
	m   map[[2]int32]float64
	def float64
}

func (w weights) score(a, b int32) float64 {
	if a > b {
		a, b = b, a
	}
	if v, ok := w.m[[2]int32{a, b}]; ok {
		return v
	}
	return w.def
}

func (w weights) links(thr float64) []link {
	var out []link
	for p, v := range w.m {
		if v >= thr {
			out = append(out, link{p[0], p[1], v})
		}
	}
	return out
}

func members(cs []*cluster) [][]int32 {
	var out [][]int32
	for _, c := range cs {
		out = append(out, c.members)
	}
	return out
}

func TestClusterAntiChaining(t *testing.T) {
	// Two strong clusters {0,1,2} and {3,4,5}, joined by one weak link 2-3.
	w := weights{m: map[[2]int32]float64{}, def: -3}
	for _, c := range [][]int32{{0, 1, 2}, {3, 4, 5}} {
		for i := range c {
			for j := i + 1; j < len(c); j++ {
				w.m[[2]int32{c[i], c[j]}] = 30
			}
		}
	}
	w.m[[2]int32{2, 3}] = 8 // above the threshold, but alone
	cs, st, err := clusterLinks(context.Background(), w.score, w.links(6.6), nil, 25, 0.5, 6.6, -100, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := members(cs)
	want := [][]int32{{0, 1, 2}, {3, 4, 5}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("clusters %v, want %v", got, want)
	}
	if st.refusedDensity != 1 || st.splitComponents != 1 {
		t.Errorf("stats %+v", st)
	}
	if cs[0].weakest != 30 {
		t.Errorf("confidence link %v", cs[0].weakest)
	}

	// With enough links across, they join.
	for _, a := range []int32{0, 1, 2} {
		for _, b := range []int32{3, 4} {
			w.m[[2]int32{a, b}] = 9
		}
	}
	cs, _, _ = clusterLinks(context.Background(), w.score, w.links(6.6), nil, 25, 0.5, 6.6, -100, nil)
	if got := members(cs); len(got) != 1 || len(got[0]) != 6 {
		t.Errorf("dense join: %v", got)
	}
	if cs[0].weakest != 9 {
		t.Errorf("weakest %v, want 9", cs[0].weakest)
	}
}

func TestClusterCannotLink(t *testing.T) {
	// 0-1 and 1-2 link strongly but 0 and 2 contradict each other.
	w := weights{m: map[[2]int32]float64{{0, 1}: 20, {1, 2}: 19, {0, 2}: -40}, def: -3}
	cs, st, _ := clusterLinks(context.Background(), w.score, w.links(6.6), nil, 25, 0.3, 6.6, -25, nil)
	if got := members(cs); len(got) != 1 || !slices.Equal(got[0], []int32{0, 1}) {
		t.Errorf("clusters %v", got)
	}
	if st.refusedConflict != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestClusterMaxGroupSize(t *testing.T) {
	w := weights{m: map[[2]int32]float64{}, def: -3}
	for i := int32(0); i < 30; i++ {
		for j := i + 1; j < 30; j++ {
			w.m[[2]int32{i, j}] = 25
		}
	}
	cs, st, _ := clusterLinks(context.Background(), w.score, w.links(6.6), nil, 25, 0.5, 6.6, -100, nil)
	total := 0
	for _, c := range cs {
		if len(c.members) > 25 {
			t.Errorf("group of %d > 25", len(c.members))
		}
		total += len(c.members)
	}
	if total != 30 || len(cs) != 2 || st.refusedSize == 0 {
		t.Errorf("groups %v stats %+v", members(cs), st)
	}
}

// constraintsOf builds pair constraints over records 0..n-1 (contact ids
// "r0", "r1", ...) from must and cannot pairs.
func constraintsOf(n int, must, cannot [][2]int32) *pairConstraints {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("r%d", i)
	}
	var cs []cm.PairConstraint
	for k, ps := range map[cm.ConstraintKind][][2]int32{cm.MustLink: must, cm.CannotLink: cannot} {
		for _, p := range ps {
			cs = append(cs, cm.PairConstraint{Kind: k, A: ids[p[0]], B: ids[p[1]]})
		}
	}
	return newPairConstraints(cs, ids)
}

// clique sets every pair of rs to w.
func (w weights) clique(wt float64, rs ...int32) {
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			w.m[[2]int32{min(rs[i], rs[j]), max(rs[i], rs[j])}] = wt
		}
	}
}

func TestClusterStewardCannotLink(t *testing.T) {
	tests := []struct {
		name       string
		w          map[[2]int32]float64
		minDensity float64
		cannot     [][2]int32
		want       [][]int32
		refused    int
	}{{
		// Two cliques that would join densely: a rejected pair across
		// them keeps them apart, each whole.
		name: "dense join refused",
		w: func() map[[2]int32]float64 {
			w := weights{m: map[[2]int32]float64{}}
			w.clique(30, 0, 1, 2)
			w.clique(30, 3, 4, 5)
			for _, a := range []int32{0, 1, 2} {
				for _, b := range []int32{3, 4, 5} {
					w.m[[2]int32{a, b}] = 9
				}
			}
			return w.m
		}(),
		minDensity: 0.5, cannot: [][2]int32{{0, 5}}, want: [][]int32{{0, 1, 2}, {3, 4, 5}}, refused: 9,
	}, {
		name:   "chain cut at its weakest link (middle)",
		w:      map[[2]int32]float64{{0, 1}: 20, {1, 2}: 8, {2, 3}: 15},
		cannot: [][2]int32{{0, 3}}, want: [][]int32{{0, 1}, {2, 3}}, refused: 1,
	}, {
		name:   "chain cut at its weakest link (first)",
		w:      map[[2]int32]float64{{0, 1}: 8, {1, 2}: 20, {2, 3}: 15},
		cannot: [][2]int32{{0, 3}}, want: [][]int32{{1, 2, 3}}, refused: 1,
	}, {
		name:   "a strongly linked pair a person rejected",
		w:      map[[2]int32]float64{{0, 1}: 40},
		cannot: [][2]int32{{0, 1}}, want: nil, refused: 1,
	}, {
		name: "every pair of a rejected group: no subset of two or more",
		w: func() map[[2]int32]float64 {
			w := weights{m: map[[2]int32]float64{}}
			w.clique(30, 0, 1, 2, 3)
			return w.m
		}(),
		minDensity: 0.5, cannot: [][2]int32{{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}}, want: nil, refused: 6,
	}, {
		name: "split: 3 against the rest",
		w: func() map[[2]int32]float64 {
			w := weights{m: map[[2]int32]float64{}}
			w.clique(30, 0, 1, 2, 3)
			return w.m
		}(),
		minDensity: 0.5, cannot: [][2]int32{{0, 3}, {1, 3}, {2, 3}}, want: [][]int32{{0, 1, 2}}, refused: 3,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := weights{m: tt.w, def: -3}
			pc := constraintsOf(6, nil, tt.cannot)
			cs, st, err := clusterLinks(context.Background(), w.score, w.links(6.6), nil, 25, tt.minDensity, 6.6, -100, pc)
			if err != nil {
				t.Fatal(err)
			}
			if got := members(cs); !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("clusters %v, want %v", got, tt.want)
			}
			if st.refusedCannotLink != tt.refused {
				t.Errorf("refused %d joins for cannot-links, want %d (%+v)", st.refusedCannotLink, tt.refused, st)
			}
		})
	}
}

func TestClusterStewardMustLink(t *testing.T) {
	tests := []struct {
		name         string
		w            map[[2]int32]float64
		minDensity   float64
		must, cannot [][2]int32
		want         [][]int32
		weakest      []float64
	}{{
		name: "linked although not scored as a link",
		w:    map[[2]int32]float64{}, must: [][2]int32{{0, 1}}, want: [][]int32{{0, 1}}, weakest: []float64{math.Inf(1)},
	}, {
		name: "linked although the score contradicts",
		w:    map[[2]int32]float64{{0, 1}: -50}, must: [][2]int32{{0, 1}}, want: [][]int32{{0, 1}}, weakest: []float64{math.Inf(1)},
	}, {
		name: "never against a cannot-link (a chain of must-links)",
		w:    map[[2]int32]float64{}, must: [][2]int32{{0, 1}, {1, 2}}, cannot: [][2]int32{{0, 2}},
		want: [][]int32{{0, 1}}, weakest: []float64{math.Inf(1)},
	}, {
		name: "a scored member joins a must-linked pair under the usual rules",
		w:    map[[2]int32]float64{{0, 2}: 12, {1, 2}: 10}, must: [][2]int32{{0, 1}}, minDensity: 0.5,
		want: [][]int32{{0, 1, 2}}, weakest: []float64{12},
	}, {
		name: "density still guards scored joins onto a must-linked pair",
		w:    map[[2]int32]float64{{0, 2}: 12}, must: [][2]int32{{0, 1}}, minDensity: 0.6,
		want: [][]int32{{0, 1}}, weakest: []float64{math.Inf(1)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := weights{m: tt.w, def: -3}
			pc := constraintsOf(4, tt.must, tt.cannot)
			cs, _, err := clusterLinks(context.Background(), w.score, w.links(6.6), nil, 25, tt.minDensity, 6.6, -25, pc)
			if err != nil {
				t.Fatal(err)
			}
			if got := members(cs); !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Fatalf("clusters %v, want %v", got, tt.want)
			}
			for i, c := range cs {
				if c.weakest != tt.weakest[i] {
					t.Errorf("cluster %v: weakest %v, want %v", c.members, c.weakest, tt.weakest[i])
				}
			}
			if p := probability(cs[0].weakest); math.IsNaN(p) || p <= 0 || p > 1 {
				t.Errorf("confidence %v", p)
			}
		})
	}
}

// TestClusterConstraintsProperty: over random link graphs and random
// constraints, no cluster holds a cannot-link pair, every must-link pair
// whose records are not kept apart by a cannot-link or the size limit ends
// in one cluster, and the result does not depend on the order of the links.
func TestClusterConstraintsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for iter := range 500 {
		n := 4 + rng.IntN(12)
		w := weights{m: map[[2]int32]float64{}, def: -3}
		for a := int32(0); a < int32(n); a++ {
			for b := a + 1; b < int32(n); b++ {
				if rng.IntN(3) == 0 {
					w.m[[2]int32{a, b}] = 6.6 + float64(rng.IntN(30))
				}
			}
		}
		var must, cannot [][2]int32
		used := map[[2]int32]bool{}
		for range rng.IntN(6) {
			a, b := int32(rng.IntN(n)), int32(rng.IntN(n))
			p := [2]int32{min(a, b), max(a, b)}
			if a == b || used[p] {
				continue
			}
			used[p] = true
			if rng.IntN(2) == 0 {
				must = append(must, p)
			} else {
				cannot = append(cannot, p)
			}
		}
		pc := constraintsOf(n, must, cannot)
		links := w.links(6.6)
		cs, _, err := clusterLinks(context.Background(), w.score, slices.Clone(links), nil, 25, 0.5, 6.6, -100, pc)
		if err != nil {
			t.Fatal(err)
		}
		owner := map[int32]int{}
		for i, c := range cs {
			for _, r := range c.members {
				owner[r] = i + 1
			}
		}
		for _, p := range cannot {
			if owner[p[0]] != 0 && owner[p[0]] == owner[p[1]] {
				t.Fatalf("iteration %d: cannot-link %v in cluster %v (must %v, cannot %v)", iter, p, cs[owner[p[0]]-1].members, must, cannot)
			}
		}
		if len(cannot) == 0 {
			for _, p := range must {
				if owner[p[0]] == 0 || owner[p[0]] != owner[p[1]] {
					t.Fatalf("iteration %d: must-link %v apart: %v", iter, p, members(cs))
				}
			}
		}
		rng.Shuffle(len(links), func(i, j int) { links[i], links[j] = links[j], links[i] })
		again, _, _ := clusterLinks(context.Background(), w.score, links, nil, 25, 0.5, 6.6, -100, pc)
		if !slices.EqualFunc(members(again), members(cs), slices.Equal) {
			t.Fatalf("iteration %d: link order changed the clusters: %v vs %v", iter, members(again), members(cs))
		}
	}
}
