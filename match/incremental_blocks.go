package match

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// block recomputes the changed contacts' keys and, per touched key (a key
// a changed contact has or had), collects the pairs of its block that
// touch a changed contact (r.score); a block whose size crossed the rule's
// limit also gains or loses pairs of unchanged contacts (r.recheck). The
// new state's keys keep the base and hold the changed contacts' keys in
// the overlay. The rules are blocked by cfg.workers() goroutines, each
// into sets of its own (the pairs are sets: their order is the sort of
// scorePairs).
func (r *incRun) block() {
	st, cfg := r.st, r.cfg
	dC := subsetDataset(st.ids, r.C, r.norms)
	bC := newBlockerBase(dC, r.nick, cfg.CrossDivision)
	st.keys = make([]ruleKeys, len(cfg.Blocking))
	workers := max(1, min(cfg.workers(), len(cfg.Blocking)))
	scores, rechecks := make([]map[uint64]bool, workers), make([]map[uint64]bool, workers)
	var next atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		scores[w], rechecks[w] = map[uint64]bool{}, map[uint64]bool{}
		wg.Go(func() {
			var bs blockScratch
			for {
				ri := int(next.Add(1) - 1)
				if ri >= len(cfg.Blocking) {
					return
				}
				r.blockRule(ri, dC, bC, &bs, scores[w], rechecks[w])
			}
		})
	}
	wg.Wait()
	for w := range workers {
		maps.Copy(r.score, scores[w])
		maps.Copy(r.recheck, rechecks[w])
	}
}

// blockScratch is a block goroutine's reused buffers.
type blockScratch struct {
	ob, nb []blockEntry
	hs     []uint64
	parts  [][]string
	side   []int32
}

// blockRule is block of rule ri, into score and recheck.
func (r *incRun) blockRule(ri int, dC *dataset, bC *blocker, bs *blockScratch, score, recheck map[uint64]bool) {
	st, prev, cfg := r.st, r.prev, r.cfg
	rule := cfg.Blocking[ri]
	rk := bC.compileRule(ri, rule.Keys, false)
	var add []blockEntry
	for k := range int32(dC.n) {
		bs.hs, bs.parts = bC.keysOf(rk, k, bs.hs[:0], bs.parts)
		for _, h := range bs.hs {
			add = append(add, blockEntry{h, r.C[k]})
		}
	}
	slices.SortFunc(add, compareEntries)
	var old ruleKeys
	if ri < len(prev.keys) {
		old = prev.keys[ri]
	}
	touched := map[uint64]bool{}
	old.keysOf(r.changedOld, r.oldVoid, func(h uint64) { touched[h] = true })
	kept := make([]blockEntry, 0, len(old.over))
	for _, e := range old.over {
		if !r.changedOld[e.r] {
			kept = append(kept, e)
		}
	}
	for _, e := range add {
		touched[e.h] = true
	}
	nk := ruleKeys{base: old.base, over: mergeEntries(kept, add)}
	st.keys[ri] = nk
	maxSize := ruleMaxSize(cfg, rule)
	for h := range touched {
		// One base for both: the span of h is searched once.
		lo, hi := old.base.span(h)
		bs.ob = old.blockIn(lo, hi, h, r.oldVoid, bs.ob)
		bs.nb = nk.blockIn(lo, hi, h, st.void, bs.nb)
		ob, nb := bs.ob, bs.nb
		if len(nb) >= 2 && len(nb) <= maxSize {
			for x := range nb {
				for y := x + 1; y < len(nb); y++ {
					a, b := nb[x].r, nb[y].r
					if a != b && (r.changed[a] || r.changed[b]) {
						score[pairKey(a, b)] = true
					}
				}
			}
		}
		if (len(ob) <= maxSize) == (len(nb) <= maxSize) {
			continue
		}
		// The block crossed the limit: its unchanged pairs on the
		// compared side may come or go.
		side := bs.side[:0]
		if len(ob) <= maxSize {
			for _, e := range ob {
				if !r.changedOld[e.r] {
					side = append(side, e.r)
				}
			}
		} else {
			for _, e := range nb {
				if !r.changed[e.r] {
					side = append(side, e.r)
				}
			}
		}
		for x := range side {
			for y := x + 1; y < len(side); y++ {
				if side[x] != side[y] {
					recheck[pairKey(side[x], side[y])] = true
				}
			}
		}
		bs.side = side
	}
}

// recheckPairs scores again the unchanged pairs whose blocks crossed a
// limit when they are still candidates: some rule puts both in a block
// within its limit.
func (r *incRun) recheckPairs() error {
	if len(r.recheck) == 0 {
		return nil
	}
	st, cfg := r.st, r.cfg
	var recs []int32
	for p := range r.recheck {
		recs = append(recs, int32(p>>32), int32(uint32(p)))
	}
	recs = st.byID(uniqueSorted(recs))
	if err := readNorms(r.ctx, r.in, r.normer, st.ids, recs, r.norms, &r.stats); err != nil {
		return err
	}
	if err := haveAll(st.ids, recs, r.norms); err != nil {
		return err
	}
	dR := subsetDataset(st.ids, recs, r.norms)
	bR := newBlockerBase(dR, r.nick, cfg.CrossDivision)
	at := map[int32]int32{}
	for k, s := range recs {
		at[s] = int32(k)
	}
	keys := make([][][]uint64, len(cfg.Blocking))
	for ri, rule := range cfg.Blocking {
		keys[ri] = make([][]uint64, len(recs))
		rk := bR.compileRule(ri, rule.Keys, false)
		var parts [][]string
		for k := range recs {
			keys[ri][k], parts = bR.keysOf(rk, int32(k), nil, parts)
		}
	}
	for p := range r.recheck {
		a, b := at[int32(p>>32)], at[int32(uint32(p))]
		cand := false
		for ri, rule := range cfg.Blocking {
			maxSize := ruleMaxSize(cfg, rule)
			for _, h := range keys[ri][a] {
				if slices.Contains(keys[ri][b], h) && st.keys[ri].size(h, st.void) <= maxSize {
					cand = true
					break
				}
			}
			if cand {
				break
			}
		}
		if cand {
			r.score[p] = true
		}
	}
	return nil
}

// byID sorts slots by their contacts' ids (a dataset of slots is built
// in id order, as a full match's is) and returns them.
func (s *State) byID(rs []int32) []int32 {
	slices.SortFunc(rs, func(a, b int32) int { return strings.Compare(s.ids[a], s.ids[b]) })
	return rs
}
