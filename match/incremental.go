package match

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Incremental matching (see "Incremental matching" in the package
// documentation). With the model kept, a pair's weight depends on its two
// contacts alone and a record's blocking keys on the record alone, so a
// match after a scan only has to
//
//  1. find the contacts new, edited (modifyDate, or a write since the last
//     match that changed the norm) or deleted, and the stewards' decisions
//     (constraints) added, changed or removed;
//  2. recompute the changed contacts' keys and, per touched key, the pairs
//     of its block that touch a changed contact; a block whose size
//     crossed the rule's limit also gains or loses pairs of unchanged
//     contacts, which are checked against every rule;
//  3. score those pairs and update the links;
//  4. re-cluster the connected components (links and must-links) that
//     hold a changed contact, an end of a link added or removed or a
//     changed decision. Every other component has the same records, links,
//     decisions and scores as at the last match, and clustering a
//     component depends on nothing else (ties are broken by contact id),
//     so its groups, with their ids and decisions, stay as they are.
//
// The result is the one a full match with the same kept model gives on the
// same snapshot: TestIncrementalEqualsFull checks it after random new,
// edited and deleted contacts, platform merges and decisions.

// Match runs the match the options ask for: incremental when o.Prev holds a
// state of the same config and the drift is small, else full (estimating
// the model when asked, when there is no kept model or the drift is
// large). It returns the result and the state to keep. An incremental
// result's Groups are only the groups of the re-clustered contacts;
// Result.Unchanged lists the ids of the others.
func Match(ctx context.Context, in StateInput, cfg Config, o MatchOptions) (*Result, *State, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	maxDrift := o.MaxDrift
	if maxDrift == 0 {
		maxDrift = DefaultMaxDrift
	}
	prev := o.Prev
	fp := ConfigFingerprint(cfg)
	var reason string
	switch {
	case o.Reestimate:
		reason = "--reestimate"
	case prev == nil:
		reason = "no previous match state"
	case prev.ConfigFP != fp:
		reason = "the configuration changed since the last match"
	case prev.DriftShare() > maxDrift:
		reason = fmt.Sprintf("drift %.1f%% of the contacts since the model was estimated (over %.0f%%)", 100*prev.DriftShare(), 100*maxDrift)
	}
	if reason != "" {
		res, st, err := runFull(ctx, in, cfg, nil, true)
		if err != nil {
			return nil, nil, err
		}
		res.Mode = Mode{Estimated: true, Reason: reason}
		return res, st, nil
	}
	if o.Full {
		res, st, err := runFull(ctx, in, cfg, prev.model, true)
		if err != nil {
			return nil, nil, err
		}
		st.Estimated = prev.Estimated
		st.Churn = prev.Churn + churn(prev, st)
		res.Mode = Mode{Reason: "--full"}
		return res, st, nil
	}
	res, st, err := runIncremental(ctx, in, cfg, prev)
	if err != nil {
		return nil, nil, err
	}
	if st.DriftShare() > maxDrift {
		// This run's changes took the drift over: estimate now.
		res, st, err := runFull(ctx, in, cfg, nil, true)
		if err != nil {
			return nil, nil, err
		}
		res.Mode = Mode{Estimated: true, Reason: fmt.Sprintf("drift %.1f%% of the contacts since the model was estimated (over %.0f%%)", 100*float64(prev.Churn+res.Changes.total())/float64(max(1, prev.Estimated)), 100*maxDrift)}
		return res, st, nil
	}
	return res, st, nil
}

// runIncremental is the incremental match of in against prev.
func runIncremental(ctx context.Context, in StateInput, cfg Config, prev *State) (*Result, *State, error) {
	stats := Stats{Durations: map[string]time.Duration{}, RefusedJoins: map[string]int{}, Workers: cfg.workers()}
	t0 := time.Now()
	km := prev.model
	normer := newNormalizer(cfg)
	nick := newNicknames(cfg.Nicknames)
	wm, err := readWriteMark(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	// 1. What changed: the contacts written since the last match (less
	// the margin) with a new modifyDate (or none: those are compared by
	// norm), the deleted ones, the decisions.
	stats.Durations["changes.mark"] = time.Since(t0)
	ws, lastUp, err := readStamps(ctx, in, prev.MaxUpdated-writeMargin)
	if err != nil {
		return nil, nil, err
	}
	stats.Durations["changes.stamps"] = time.Since(t0)
	maxUp := max(prev.MaxUpdated, wm.lastWritten, lastUp)
	gone := map[string]bool{}
	for _, id := range wm.deleted {
		if _, ok := slices.BinarySearchFunc(ws, id, func(w stamp, id string) int { return strings.Compare(w.id, id) }); !ok {
			gone[id] = true
		}
	}
	oldToNew := make([]int32, len(prev.ids))
	ids := make([]string, 0, len(prev.ids)+len(ws))
	modify := make([]int64, 0, len(prev.ids)+len(ws))
	var newOld []int32
	var look []int32 // records whose norm is read: new, or written with a new (or no) modifyDate
	var deletedOld []int32
	i, j := 0, 0
	for i < len(prev.ids) || j < len(ws) {
		r := int32(len(ids))
		switch {
		case j == len(ws) || (i < len(prev.ids) && prev.ids[i] < ws[j].id):
			if gone[prev.ids[i]] {
				oldToNew[i] = -1
				deletedOld = append(deletedOld, int32(i))
			} else {
				oldToNew[i] = r
				ids = append(ids, prev.ids[i])
				modify = append(modify, prev.modify[i])
				newOld = append(newOld, int32(i))
			}
			i++
			continue
		case i == len(prev.ids) || ws[j].id < prev.ids[i]:
			newOld = append(newOld, -1)
			look = append(look, r)
		default:
			oldToNew[i] = r
			newOld = append(newOld, int32(i))
			if ws[j].modify != prev.modify[i] || ws[j].modify == 0 {
				look = append(look, r)
			}
			i++
		}
		ids = append(ids, ws[j].id)
		modify = append(modify, ws[j].modify)
		j++
	}
	n := len(ids)
	stats.Durations["changes.merge"] = time.Since(t0)
	norms := map[int32][]byte{} // record → its encoding
	if err := readNorms(ctx, in, normer, ids, look, norms, &stats); err != nil {
		return nil, nil, err
	}
	stats.Durations["changes.norms"] = time.Since(t0)
	st := &State{ConfigFP: prev.ConfigFP, MaxUpdated: maxUp, Estimated: prev.Estimated, model: km,
		ids: ids, modify: modify, hash: make([]uint64, n), consumed: wm.consumed}
	for r, o := range newOld {
		if o >= 0 {
			st.hash[r] = prev.hash[o]
		}
	}
	stats.Durations["changes"] = time.Since(t0)
	changed := make([]bool, n) // new records new or edited
	var ch Changes
	var C []int32
	for _, r := range look {
		b, ok := norms[r]
		if !ok {
			return nil, nil, fmt.Errorf("match: contact %s was deleted during the match; run it again", ids[r])
		}
		h := normHash(b)
		if o := newOld[r]; o >= 0 && h == prev.hash[o] {
			delete(norms, r) // written again, same norm
			continue
		}
		st.hash[r] = h
		changed[r] = true
		C = append(C, r)
		if newOld[r] < 0 {
			ch.New++
		} else {
			ch.Edited++
		}
	}
	ch.Deleted = len(deletedOld)
	changedOld := make([]bool, len(prev.ids))
	for _, r := range C {
		if o := newOld[r]; o >= 0 {
			changedOld[o] = true
		}
	}
	for _, o := range deletedOld {
		changedOld[o] = true
	}
	var cons []cm.PairConstraint
	if src, ok := Input(in).(ConstraintSource); ok {
		if cons, err = src.Constraints(ctx, cm.ConstraintFilter{}); err != nil {
			return nil, nil, fmt.Errorf("match: read constraints: %w", err)
		}
	}
	st.cons = constraintKeys(cons)
	index := func(id string) int32 {
		if k, ok := slices.BinarySearch(ids, id); ok {
			return int32(k)
		}
		return -1
	}
	affected := map[int32]bool{}
	for _, r := range C {
		affected[r] = true
	}
	if !slices.Equal(st.cons, prev.cons) {
		old := map[string]bool{}
		for _, k := range prev.cons {
			old[k] = true
		}
		now := map[string]bool{}
		for _, c := range cons {
			k := constraintKey(c)
			now[k] = true
			if !old[k] {
				for _, id := range []string{c.A, c.B} {
					if r := index(id); r >= 0 {
						affected[r] = true
						ch.Constraints++
					}
				}
			}
		}
		for _, k := range prev.cons {
			if !now[k] {
				a, rest, _ := cutNUL(k)
				b, _, _ := cutNUL(rest)
				for _, id := range []string{a, b} {
					if r := index(id); r >= 0 {
						affected[r] = true
						ch.Constraints++
					}
				}
			}
		}
	}
	stats.Durations["normalize"] = time.Since(t0)
	st.Churn = prev.Churn + ch.total()
	if len(C) == 0 && len(deletedOld) == 0 && len(affected) == 0 {
		st.entries, st.links, st.groups = prev.entries, prev.links, prev.groups
		res := &Result{Stats: stats, Mode: Mode{Incremental: true, Reason: "nothing changed since the last match"}, Unchanged: prev.GroupIDs(), Changes: ch}
		res.Stats.Contacts, res.Stats.Groups, res.Stats.Links = n, len(prev.groups), len(prev.links)
		res.Stats.Model = km.Model
		return res, st, nil
	}

	// 2. Keys and blocks.
	t := time.Now()
	dC := subsetDataset(ids, C, norms)
	bC := newBlockerBase(dC, nick, cfg.CrossDivision)
	type pairKey = uint64
	pk := func(a, b int32) pairKey {
		if a > b {
			a, b = b, a
		}
		return uint64(a)<<32 | uint64(uint32(b))
	}
	score := map[pairKey]bool{}   // pairs to score
	recheck := map[pairKey]bool{} // unchanged pairs whose blocks crossed a limit
	st.entries = make([][]blockEntry, len(cfg.Blocking))
	for ri, rule := range cfg.Blocking {
		var add []blockEntry
		var hs []uint64
		var parts [][]string
		for r := range int32(dC.n) {
			hs, parts = bC.recordKeys(ri, rule.Keys, r, hs[:0], parts)
			for _, h := range hs {
				add = append(add, blockEntry{h, C[r]})
			}
		}
		slices.SortFunc(add, compareEntries)
		var old []blockEntry
		if ri < len(prev.entries) {
			old = prev.entries[ri]
		}
		touched := map[uint64]bool{}
		kept := make([]blockEntry, 0, len(old))
		for _, e := range old {
			if changedOld[e.r] {
				touched[e.h] = true
				continue
			}
			kept = append(kept, blockEntry{e.h, oldToNew[e.r]})
		}
		for _, e := range add {
			touched[e.h] = true
		}
		merged := mergeEntries(kept, add)
		st.entries[ri] = merged
		maxSize := ruleMaxSize(&cfg, rule)
		for h := range touched {
			ob := entriesOf(old, h)
			nb := entriesOf(merged, h)
			if len(nb) >= 2 && len(nb) <= maxSize {
				for x := range nb {
					for y := x + 1; y < len(nb); y++ {
						a, b := nb[x].r, nb[y].r
						if a != b && (changed[a] || changed[b]) {
							score[pk(a, b)] = true
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
					if !changedOld[e.r] {
						side = append(side, oldToNew[e.r])
					}
				}
			} else {
				for _, e := range nb {
					if !changed[e.r] {
						side = append(side, e.r)
					}
				}
			}
			for x := range side {
				for y := x + 1; y < len(side); y++ {
					if side[x] != side[y] {
						recheck[pk(side[x], side[y])] = true
					}
				}
			}
		}
		if ri < len(prev.entries) {
			prev.entries[ri] = nil // the old keys are done with: free them
		}
	}
	if len(recheck) > 0 {
		// An unchanged pair is a candidate when some rule puts both in a
		// block within its limit.
		var recs []int32
		for p := range recheck {
			recs = append(recs, int32(p>>32), int32(uint32(p)))
		}
		recs = uniqueSorted(recs)
		if err := readNorms(ctx, in, normer, ids, recs, norms, &stats); err != nil {
			return nil, nil, err
		}
		if err := haveAll(ids, recs, norms); err != nil {
			return nil, nil, err
		}
		dR := subsetDataset(ids, recs, norms)
		bR := newBlockerBase(dR, nick, cfg.CrossDivision)
		at := map[int32]int32{}
		for k, r := range recs {
			at[r] = int32(k)
		}
		keys := make([][][]uint64, len(cfg.Blocking))
		for ri, rule := range cfg.Blocking {
			keys[ri] = make([][]uint64, len(recs))
			var parts [][]string
			for k := range recs {
				keys[ri][k], parts = bR.recordKeys(ri, rule.Keys, int32(k), nil, parts)
			}
		}
		for p := range recheck {
			a, b := at[int32(p>>32)], at[int32(uint32(p))]
			cand := false
			for ri, rule := range cfg.Blocking {
				maxSize := ruleMaxSize(&cfg, rule)
				for _, h := range keys[ri][a] {
					if slices.Contains(keys[ri][b], h) && len(entriesOf(st.entries[ri], h)) <= maxSize {
						cand = true
						break
					}
				}
				if cand {
					break
				}
			}
			if cand {
				score[p] = true
			}
		}
	}
	stats.Durations["block"] = time.Since(t)

	// 3. Score.
	t = time.Now()
	var ends []int32
	for p := range score {
		ends = append(ends, int32(p>>32), int32(uint32(p)))
	}
	ends = uniqueSorted(ends)
	if err := readNorms(ctx, in, normer, ids, ends, norms, &stats); err != nil {
		return nil, nil, err
	}
	if err := haveAll(ids, ends, norms); err != nil {
		return nil, nil, err
	}
	dA := subsetDataset(ids, ends, norms)
	sA := km.scorer(dA, &cfg, nick)
	atA := map[int32]int32{}
	for k, r := range ends {
		atA[r] = int32(k)
	}
	thr := weightAt(cfg.MatchThreshold)
	pairs := make([]pairKey, 0, len(score))
	for p := range score {
		pairs = append(pairs, p)
	}
	slices.Sort(pairs)
	var added []link
	lv := make([]uint8, len(sA.comps))
	for _, p := range pairs {
		a, b := int32(p>>32), int32(uint32(p))
		if w := sA.pairWeight(atA[a], atA[b], lv); w >= thr {
			added = append(added, link{a, b, w})
		}
	}
	ch.ScoredPairs = len(pairs)
	stats.CandidatePairs = len(pairs)
	stats.Comparisons = len(pairs)
	links := make([]link, 0, len(prev.links)+len(added))
	for _, l := range prev.links {
		if changedOld[l.a] || changedOld[l.b] {
			for _, o := range []int32{l.a, l.b} {
				if r := oldToNew[o]; r >= 0 {
					affected[r] = true
				}
			}
			continue
		}
		a, b := oldToNew[l.a], oldToNew[l.b]
		if recheck[pk(a, b)] {
			affected[a], affected[b] = true, true
			continue // scored again if still a candidate
		}
		links = append(links, link{a, b, l.w})
	}
	for _, l := range added {
		affected[l.a], affected[l.b] = true, true
		links = append(links, l)
	}
	st.links = links
	stats.Links = len(links)
	stats.Durations["score"] = time.Since(t)

	// 4. Components of the affected records: union-find over the links
	// and must-links.
	t = time.Now()
	parent := make([]int32, n)
	for r := range parent {
		parent[r] = int32(r)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b int32) {
		if ra, rb := find(a), find(b); ra != rb {
			parent[ra] = rb
		}
	}
	for _, l := range links {
		union(l.a, l.b)
	}
	for _, c := range cons {
		if c.Kind == cm.MustLink {
			if a, b := index(c.A), index(c.B); a >= 0 && b >= 0 {
				union(a, b)
			}
		}
	}
	roots := map[int32]bool{}
	for r := range affected {
		roots[find(r)] = true
	}
	var R []int32
	inR := make([]bool, n)
	for r := range int32(n) {
		if roots[find(r)] {
			R = append(R, r)
			inR[r] = true
		}
	}
	ch.Affected = len(R)
	// The old groups that change: those holding a deleted, edited or
	// re-clustered contact.
	var keptGroups []stateGroup
	for _, g := range prev.groups {
		gone := false
		for _, o := range g.members {
			if changedOld[o] || inR[oldToNew[o]] {
				gone = true
				break
			}
		}
		if gone {
			continue
		}
		m := make([]int32, len(g.members))
		for k, o := range g.members {
			m[k] = oldToNew[o]
		}
		keptGroups = append(keptGroups, stateGroup{id: g.id, members: m})
	}
	if err := readNorms(ctx, in, normer, ids, R, norms, &stats); err != nil {
		return nil, nil, err
	}
	if err := haveAll(ids, R, norms); err != nil {
		return nil, nil, err
	}
	dR := subsetDataset(ids, R, norms)
	dR.clusterOrder()
	dR.pc = newPairConstraints(cons, dR.ids)
	sR := km.scorer(dR, &cfg, nick)
	// dR's records are R reordered: R[dR.rank[r]] is record r.
	atR := make(map[int32]int32, len(R))
	for r := range int32(dR.n) {
		atR[R[dR.rank[r]]] = r
	}
	var linksR []link
	for _, l := range links {
		if inR[l.a] {
			linksR = append(linksR, link{atR[l.a], atR[l.b], l.w})
		}
	}
	cannot := math.Inf(-1)
	if cfg.CannotLinkWeight < 0 {
		cannot = sR.prior + cfg.CannotLinkWeight
	}
	clusters, cst, err := clusterLinks(ctx, sR.score, linksR, dR.rank, cfg.MaxGroupSize, cfg.MinLinkDensity, thr, cannot, dR.pc)
	if err != nil {
		return nil, nil, err
	}
	stats.Durations["cluster"] = time.Since(t)
	stats.SplitGroups = cst.splitComponents
	stats.RefusedJoins["maxGroupSize"] = cst.refusedSize
	stats.RefusedJoins["density"] = cst.refusedDensity
	stats.RefusedJoins["conflict"] = cst.refusedConflict
	stats.RefusedJoins["cannotLink"] = cst.refusedCannotLink
	stats.Comparisons += cst.crossComparisons
	t = time.Now()
	groups, err := buildGroups(ctx, dR, sR, clusters, &cfg, func(ctx context.Context, ids []string) (map[string]cm.Contact, error) {
		return in.Contacts(ctx, ids)
	})
	if err != nil {
		return nil, nil, err
	}
	dR.pc.annotate(groups)
	stats.Durations["survive"] = time.Since(t)
	st.groups = keptGroups
	unchanged := make([]string, len(keptGroups))
	for k, g := range keptGroups {
		unchanged[k] = g.id
	}
	for _, c := range clusters {
		st.groups = append(st.groups, stateGroupOf(c.members, func(r int32) int32 { return R[dR.rank[r]] }, st.ids))
	}
	stats.Contacts = n
	stats.Groups = len(st.groups)
	stats.Model = km.Model
	stats.Model.ThresholdWeight = thr
	res := &Result{Groups: groups, Stats: stats, Unchanged: unchanged, Changes: ch,
		Mode: Mode{Incremental: true, Reason: "a match state of the same configuration exists (kept model, drift " + fmt.Sprintf("%.1f%%", 100*st.DriftShare()) + ")"}}
	return res, st, nil
}
