package match

import (
	"slices"
	"strings"
)

// block recomputes the changed contacts' keys and, per touched key (a key
// a changed contact has or had), collects the pairs of its block that
// touch a changed contact (r.score); a block whose size crossed the rule's
// limit also gains or loses pairs of unchanged contacts (r.recheck). The
// new state's keys keep the base and hold the changed contacts' keys in
// the overlay.
func (r *incRun) block() {
	st, prev, cfg := r.st, r.prev, r.cfg
	dC := subsetDataset(st.ids, r.C, r.norms)
	bC := newBlockerBase(dC, r.nick, cfg.CrossDivision)
	st.keys = make([]ruleKeys, len(cfg.Blocking))
	var ob, nb []blockEntry
	for ri, rule := range cfg.Blocking {
		var add []blockEntry
		var hs []uint64
		var parts [][]string
		for k := range int32(dC.n) {
			hs, parts = bC.recordKeys(ri, rule.Keys, k, hs[:0], parts)
			for _, h := range hs {
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
			ob = old.blockIn(lo, hi, h, r.oldVoid, ob)
			nb = nk.blockIn(lo, hi, h, st.void, nb)
			if len(nb) >= 2 && len(nb) <= maxSize {
				for x := range nb {
					for y := x + 1; y < len(nb); y++ {
						a, b := nb[x].r, nb[y].r
						if a != b && (r.changed[a] || r.changed[b]) {
							r.score[pairKey(a, b)] = true
						}
					}
				}
			}
			if (len(ob) <= maxSize) == (len(nb) <= maxSize) {
				continue
			}
			// The block crossed the limit: its unchanged pairs on the
			// compared side may come or go.
			var side []int32
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
						r.recheck[pairKey(side[x], side[y])] = true
					}
				}
			}
		}
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
		var parts [][]string
		for k := range recs {
			keys[ri][k], parts = bR.recordKeys(ri, rule.Keys, int32(k), nil, parts)
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
