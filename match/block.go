package match

import (
	"context"
	"slices"
	"sync"
)

// RuleStats counts what one blocking rule produced.
type RuleStats struct {
	Name          string `json:"name"`
	Blocks        int    `json:"blocks"`        // blocks of 2+ contacts that were compared
	SkippedBlocks int    `json:"skippedBlocks"` // blocks larger than MaxBlockSize
	Pairs         int    `json:"pairs"`         // pairs the rule generated (before de-duplication across rules)
}

// SkippedBlock describes a block that was too large to compare (a
// switchboard number, a shared mailbox, a very common name).
type SkippedBlock struct {
	Rule string `json:"rule"`
	Key  string `json:"key"`
	Size int    `json:"size"`
}

const fnvOffset = 14695981039346656037
const fnvPrime = 1099511628211

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	h ^= 0xff
	h *= fnvPrime
	return h
}

// blocker computes the block keys of records for one rule.
type blocker struct {
	d     *dataset
	cross bool
	// derived per-symbol keys for name columns
	firstCanon          [][]string
	firstSdx, lastSdx   []string
	customCols, extCols []*column
}

func newBlockerBase(d *dataset, nick nicknames, cross bool) *blocker {
	b := &blocker{d: d, cross: cross}
	fc := d.cols[colFirst]
	b.firstCanon = make([][]string, len(fc.syms))
	b.firstSdx = make([]string, len(fc.syms))
	for i, s := range fc.syms {
		b.firstCanon[i] = nick.canonical(s)
		b.firstSdx[i] = Soundex(s)
	}
	lc := d.cols[colLast]
	b.lastSdx = make([]string, len(lc.syms))
	for i, s := range lc.syms {
		b.lastSdx[i] = Soundex(s)
	}
	for _, name := range d.extraColumns() {
		if len(name) > 7 && name[:7] == "custom." {
			b.customCols = append(b.customCols, d.cols[name])
		} else {
			b.extCols = append(b.extCols, d.cols[name])
		}
	}
	return b
}

// partValues returns the values of one key part of record r (appended to buf).
func (b *blocker) partValues(part string, r int32, buf []string) []string {
	p := b.compilePart(part)
	return p.values(b, r, buf)
}

// keyText returns a readable key of record r under a rule (for reports).
func (b *blocker) keyText(keys []string, r int32) string {
	s := ""
	for i, k := range keys {
		vals := b.partValues(k, r, nil)
		if i > 0 {
			s += " + "
		}
		if len(vals) > 0 {
			s += k + "=" + vals[0]
		}
	}
	return s
}

// blockEntry is one record's key under one rule.
type blockEntry struct {
	h uint64
	r int32
}

func compareEntries(x, y blockEntry) int {
	if x.h != y.h {
		if x.h < y.h {
			return -1
		}
		return 1
	}
	return int(x.r - y.r)
}

// sortEntries sorts entries by compareEntries (key, then record) and
// returns the sorted slice (entries itself or a buffer of its length).
// Entries are appended in record order, so a stable radix sort on the key
// alone gives that order, in linear time: eight byte-wide passes from the
// low byte, skipping the passes where every key has the same byte. A slice
// not in record order is sorted with slices.SortFunc.
func sortEntries(entries []blockEntry) []blockEntry {
	if len(entries) < 256 || !slices.IsSortedFunc(entries, func(x, y blockEntry) int { return int(x.r - y.r) }) {
		slices.SortFunc(entries, compareEntries)
		return entries
	}
	var counts [8][256]int
	for _, e := range entries {
		h := e.h
		for b := range 8 {
			counts[b][byte(h>>(8*b))]++
		}
	}
	src, dst := entries, make([]blockEntry, len(entries))
	for b := range 8 {
		c := &counts[b]
		if c[byte(src[0].h>>(8*b))] == len(src) {
			continue // every key has this byte
		}
		var pos [256]int
		sum := 0
		for v := range 256 {
			pos[v] = sum
			sum += c[v]
		}
		shift := 8 * b
		for _, e := range src {
			v := byte(e.h >> shift)
			dst[pos[v]] = e
			pos[v]++
		}
		src, dst = dst, src
	}
	return src
}

// ruleMaxSize is the largest block of rule that is compared.
func ruleMaxSize(cfg *Config, rule BlockingRule) int {
	if rule.MaxBlockSize > 0 && rule.MaxBlockSize < cfg.MaxBlockSize {
		return rule.MaxBlockSize
	}
	return cfg.MaxBlockSize
}

type blockResult struct {
	// entries holds each rule's keys sorted (when block was asked to keep
	// them, for the match state).
	entries [][]blockEntry
	pairs   []uint64
	perRule [][]uint64 // a sample of each rule's pairs, for training
	stats   []RuleStats
	skipped []SkippedBlock
	blocks  int
}

// block runs every rule and returns the de-duplicated candidate pairs
// (i<<32 | j with i < j). With keep, the result holds every rule's sorted
// keys.
func block(ctx context.Context, d *dataset, cfg *Config, nick nicknames, keep bool) (*blockResult, error) {
	b := newBlockerBase(d, nick, cfg.CrossDivision)
	res := &blockResult{stats: make([]RuleStats, len(cfg.Blocking))}
	if keep {
		res.entries = make([][]blockEntry, len(cfg.Blocking))
	}
	perRule := make([][]uint64, len(cfg.Blocking))
	skipped := make([][]SkippedBlock, len(cfg.Blocking))
	var wg sync.WaitGroup
	sem := make(chan struct{}, cfg.workers())
	for ri, rule := range cfg.Blocking {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			type entry = blockEntry
			var entries []entry
			var hs []uint64
			var parts [][]string
			rk := b.compileRule(ri, rule.Keys, true)
			// Sized once (the rules' entries were 1.1 GB of growing
			// slices at 1M contacts, and the match state keeps them).
			size := 0
			for r := int32(0); r < int32(d.n); r++ {
				size += b.maxKeys(rk, r)
			}
			entries = make([]entry, 0, size)
			for r := int32(0); r < int32(d.n); r++ {
				if r&0xffff == 0 && ctx.Err() != nil {
					return
				}
				hs, parts = b.keysOf(rk, r, hs[:0], parts)
				for _, h := range hs {
					entries = append(entries, entry{h, r})
				}
			}
			entries = sortEntries(entries)
			if keep {
				res.entries[ri] = entries
			}
			st := RuleStats{Name: rule.Name}
			maxSize := ruleMaxSize(cfg, rule)
			var pairs []uint64
			for i := 0; i < len(entries); {
				j := i + 1
				for j < len(entries) && entries[j].h == entries[i].h {
					j++
				}
				size := j - i
				// a record with two values hashing alike appears twice
				if size >= 2 {
					if size > maxSize {
						st.SkippedBlocks++
						skipped[ri] = append(skipped[ri], SkippedBlock{Rule: rule.Name, Key: b.keyText(rule.Keys, entries[i].r), Size: size})
					} else {
						st.Blocks++
						for x := i; x < j; x++ {
							for y := x + 1; y < j; y++ {
								a, c := entries[x].r, entries[y].r
								if a == c {
									continue
								}
								if a > c {
									a, c = c, a
								}
								pairs = append(pairs, uint64(a)<<32|uint64(c))
							}
						}
					}
				}
				i = j
			}
			st.Pairs = len(pairs)
			slices.Sort(pairs)
			perRule[ri] = slices.Compact(pairs)
			res.stats[ri] = st
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.pairs = mergeSorted(perRule)
	res.perRule = make([][]uint64, len(perRule))
	for ri, ps := range perRule {
		res.perRule[ri] = strided(ps, trainPairsPerRule)
	}
	for ri := range perRule {
		res.blocks += res.stats[ri].Blocks
		res.skipped = append(res.skipped, skipped[ri]...)
	}
	slices.SortFunc(res.skipped, func(x, y SkippedBlock) int { return y.Size - x.Size })
	return res, nil
}

// mergeSorted merges sorted, de-duplicated slices into one sorted,
// de-duplicated slice.
func mergeSorted(lists [][]uint64) []uint64 {
	for len(lists) > 1 {
		var next [][]uint64
		for i := 0; i < len(lists); i += 2 {
			if i+1 == len(lists) {
				next = append(next, lists[i])
				continue
			}
			a, b := lists[i], lists[i+1]
			out := make([]uint64, 0, len(a)+len(b))
			x, y := 0, 0
			for x < len(a) && y < len(b) {
				switch {
				case a[x] < b[y]:
					out = append(out, a[x])
					x++
				case a[x] > b[y]:
					out = append(out, b[y])
					y++
				default:
					out = append(out, a[x])
					x++
					y++
				}
			}
			out = append(out, a[x:]...)
			out = append(out, b[y:]...)
			next = append(next, out)
		}
		lists = next
	}
	if len(lists) == 0 {
		return nil
	}
	return lists[0]
}

// trainPairsPerRule bounds the pairs of one rule used to train the model.
const trainPairsPerRule = 200000

// strided returns ps when it has at most k elements, else k elements of ps
// taken at even strides (a deterministic sample).
func strided(ps []uint64, k int) []uint64 {
	if len(ps) <= k {
		return ps
	}
	out := make([]uint64, 0, k)
	step := float64(len(ps)) / float64(k)
	for i := 0; i < k; i++ {
		out = append(out, ps[int(float64(i)*step)])
	}
	return out
}
