package match

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// readNorms reads into norms the encodings of the records rs (of ids) it
// does not hold yet: the stored norm, or the contact normalized when the
// stored norm is unusable. Records no longer stored stay absent.
func readNorms(ctx context.Context, in StateInput, normer *normalizer, ids []string, rs []int32, norms map[int32][]byte, stats *Stats) error {
	var want []string
	at := map[string]int32{}
	for _, r := range rs {
		if _, ok := norms[r]; !ok {
			want = append(want, ids[r])
			at[ids[r]] = r
		}
	}
	if len(want) == 0 {
		return nil
	}
	got, err := in.Norms(ctx, want)
	if err != nil {
		return fmt.Errorf("match: read norms: %w", err)
	}
	var missing []int32
	for id, b := range got {
		if usableNorm(b, normer.fp) {
			norms[at[id]] = b
		} else {
			missing = append(missing, at[id])
		}
	}
	return normalizeInto(ctx, in, normer, ids, missing, norms, stats)
}

// normalizeInto normalizes the records rs (of ids) from their contacts
// into norms (records no longer stored stay absent).
func normalizeInto(ctx context.Context, in StateInput, normer *normalizer, ids []string, rs []int32, norms map[int32][]byte, stats *Stats) error {
	if len(rs) == 0 {
		return nil
	}
	want := make([]string, len(rs))
	for k, r := range rs {
		want[k] = ids[r]
	}
	cs, err := in.Contacts(ctx, want)
	if err != nil {
		return fmt.Errorf("match: read contacts: %w", err)
	}
	for _, r := range rs {
		if c, ok := cs[ids[r]]; ok {
			norms[r] = normer.encoded(&c)
			stats.Normalized++
		}
	}
	return nil
}

// haveAll checks that norms holds every record of rs (a contact deleted
// while the match ran has none).
func haveAll(ids []string, rs []int32, norms map[int32][]byte) error {
	for _, r := range rs {
		if _, ok := norms[r]; !ok {
			return fmt.Errorf("match: contact %s was deleted during the match; run it again", ids[r])
		}
	}
	return nil
}

// subsetDataset is the dataset of the records rs (sorted) of ids, from
// their encodings in norms (records without one are left out).
func subsetDataset(ids []string, rs []int32, norms map[int32][]byte) *dataset {
	d := newDataset()
	bs := make([][]byte, 0, len(rs))
	for _, r := range rs {
		if b, ok := norms[r]; ok {
			bs = append(bs, b)
			d.ids = append(d.ids, ids[r])
			d.hash = append(d.hash, normHash(b))
		}
	}
	d.n = len(bs)
	// The two parts of an encoding fill disjoint columns (the first the
	// division and the fixed columns, the second the others): tens of
	// thousands of records are added by two goroutines, a part each.
	var wg sync.WaitGroup
	part0 := func() {
		for r, b := range bs {
			d.addPart(r, b, 0)
		}
	}
	if len(bs) >= 4096 {
		wg.Go(part0)
	} else {
		part0()
	}
	for r, b := range bs {
		d.addPart(r, b, 1)
	}
	wg.Wait()
	d.finish()
	return d
}

// entriesOf returns the entries of key h in sorted es.
func entriesOf(es []blockEntry, h uint64) []blockEntry {
	lo, _ := slices.BinarySearchFunc(es, h, func(e blockEntry, h uint64) int {
		switch {
		case e.h < h:
			return -1
		case e.h > h:
			return 1
		}
		return 0
	})
	hi := lo
	for hi < len(es) && es[hi].h == h {
		hi++
	}
	return es[lo:hi]
}

// mergeEntries merges two sorted entry lists.
func mergeEntries(a, b []blockEntry) []blockEntry {
	out := make([]blockEntry, 0, len(a)+len(b))
	x, y := 0, 0
	for x < len(a) && y < len(b) {
		if compareEntries(a[x], b[y]) <= 0 {
			out = append(out, a[x])
			x++
		} else {
			out = append(out, b[y])
			y++
		}
	}
	out = append(out, a[x:]...)
	return append(out, b[y:]...)
}

func uniqueSorted(rs []int32) []int32 {
	slices.Sort(rs)
	return slices.Compact(rs)
}

func cutNUL(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
