package match

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortEntries checks the radix sort of block entries against
// slices.SortFunc(compareEntries): keys that repeat, records with two
// entries of one key, keys differing in one byte only, and input not in
// record order (the fallback).
func TestSortEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 100, 255, 256, 5000, 70000} {
		for _, keys := range []int{1, 3, 1000, 1 << 30} {
			var in []blockEntry
			for r := int32(0); len(in) < n; r++ {
				for range 1 + rng.IntN(3) {
					h := uint64(rng.IntN(keys))
					if keys == 3 {
						h <<= 40 // keys differ in one high byte
					} else {
						h *= 0x9e3779b97f4a7c15
					}
					in = append(in, blockEntry{h, r})
				}
			}
			want := slices.Clone(in)
			slices.SortFunc(want, compareEntries)
			if got := sortEntries(slices.Clone(in)); !slices.Equal(got, want) {
				t.Fatalf("n=%d keys=%d: radix order differs from compareEntries", n, keys)
			}
			rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
			if got := sortEntries(in); !slices.Equal(got, want) {
				t.Fatalf("n=%d keys=%d, shuffled: order differs from compareEntries", n, keys)
			}
		}
	}
}
