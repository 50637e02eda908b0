package store

import (
	"cmp"
	"context"
	"path/filepath"
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

// TestSQLiteBulkCache: a bulk write of contacts gives the SQLite writer a
// page cache sized to them for its transaction, and the usual one after.
func TestSQLiteBulkCache(t *testing.T) {
	ctx := context.Background()
	b, err := openSQLite(ctx, filepath.Join(t.TempDir(), "cm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	tx, err := b.begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.rollback(ctx) }()
	cache := func() int64 {
		var kib int64
		if err := tx.queryRow(ctx, "PRAGMA cache_size").Scan(&kib); err != nil {
			t.Fatal(err)
		}
		return kib
	}
	undo := bulkWrite(ctx, tx, 1_000_000)
	if got, want := cache(), -int64(1_000_000*sqliteBulkPageBytes>>10); got != want {
		t.Errorf("cache_size %d in the bulk write, want %d", got, want)
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if got := cache(); got != -sqliteCacheKiB {
		t.Errorf("cache_size %d after the bulk write, want %d", got, -sqliteCacheKiB)
	}
}
