package store

import (
	"cmp"
	"slices"
	"testing"
)

// TestSortHalves: sortHalves sorts like slices.SortFunc, small and large
// slices alike, and keeps every element.
func TestSortHalves(t *testing.T) {
	for _, n := range []int{0, 1, 7, 3 * upsertChunk, 50001} {
		s := make([]int, n)
		for i := range s {
			s[i] = (i * 7919) % (n/3 + 1)
		}
		want := slices.Clone(s)
		slices.Sort(want)
		if got := sortHalves(s, cmp.Compare[int]); !slices.Equal(got, want) {
			t.Errorf("%d elements: not sorted (or not all kept)", n)
		}
	}
}
