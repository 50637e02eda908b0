package match

import (
	"context"
	"slices"
	"testing"
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
	cs, st, err := clusterLinks(context.Background(), w.score, w.links(6.6), 25, 0.5, 6.6, -100)
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
	cs, _, _ = clusterLinks(context.Background(), w.score, w.links(6.6), 25, 0.5, 6.6, -100)
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
	cs, st, _ := clusterLinks(context.Background(), w.score, w.links(6.6), 25, 0.3, 6.6, -25)
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
	cs, st, _ := clusterLinks(context.Background(), w.score, w.links(6.6), 25, 0.5, 6.6, -100)
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
