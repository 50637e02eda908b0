package match

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// scorePairs scores the pairs to score and updates the links: the links
// of edited or deleted contacts and of rechecked pairs go, the new ones
// above the threshold come; the ends of both are affected.
func (r *incRun) scorePairs() error {
	st := r.st
	var ends []int32
	for p := range r.score {
		ends = append(ends, int32(p>>32), int32(uint32(p)))
	}
	ends = st.byID(uniqueSorted(ends))
	if err := readNorms(r.ctx, r.in, r.normer, st.ids, ends, r.norms, &r.stats); err != nil {
		return err
	}
	if err := haveAll(st.ids, ends, r.norms); err != nil {
		return err
	}
	dA := subsetDataset(st.ids, ends, r.norms)
	sA := st.model.scorer(dA, r.cfg, r.nick)
	atA := map[int32]int32{}
	for k, s := range ends {
		atA[s] = int32(k)
	}
	thr := weightAt(r.cfg.MatchThreshold)
	pairs := make([]uint64, 0, len(r.score))
	for p := range r.score {
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
	r.ch.ScoredPairs = len(pairs)
	r.stats.CandidatePairs = len(pairs)
	r.stats.Comparisons = len(pairs)
	links := make([]link, 0, len(r.prev.links)+len(added))
	for _, l := range r.prev.links {
		if r.changedOld[l.a] || r.changedOld[l.b] {
			for _, s := range []int32{l.a, l.b} {
				if !st.dead[s] {
					r.affected[s] = true
				}
			}
			continue
		}
		if r.recheck[pairKey(l.a, l.b)] {
			r.affected[l.a], r.affected[l.b] = true, true
			continue // scored again if still a candidate
		}
		links = append(links, l)
	}
	for _, l := range added {
		r.affected[l.a], r.affected[l.b] = true, true
		links = append(links, l)
	}
	r.links = links
	st.links = links
	r.stats.Links = len(links)
	return nil
}

// components returns the slots in the connected components (links and
// must-links) that hold an affected slot, sorted by id.
func (r *incRun) components() []int32 {
	st := r.st
	n := len(st.ids)
	u := newDenseUnionFind(n)
	for _, l := range r.links {
		u.union(l.a, l.b)
	}
	for _, c := range r.cons {
		if c.Kind == cm.MustLink {
			if a, b := st.liveSlot(c.A), st.liveSlot(c.B); a >= 0 && b >= 0 {
				u.union(a, b)
			}
		}
	}
	roots := map[int32]bool{}
	for s := range r.affected {
		roots[u.find(s)] = true
	}
	var R []int32
	for s := range int32(n) {
		if !st.dead[s] && roots[u.find(s)] {
			R = append(R, s)
		}
	}
	return st.byID(R)
}

// cluster re-clusters the components of the affected contacts and keeps
// every other group as it is (see runIncremental).
func (r *incRun) cluster() (*Result, *State, error) {
	st, cfg := r.st, r.cfg
	t := time.Now()
	R := r.components()
	inR := make([]bool, len(st.ids))
	for _, s := range R {
		inR[s] = true
	}
	r.ch.Affected = len(R)
	// The old groups that change: those holding a deleted, edited or
	// re-clustered contact.
	var keptGroups []stateGroup
	for _, g := range r.prev.groups {
		gone := false
		for _, s := range g.members {
			if r.changedOld[s] || inR[s] {
				gone = true
				break
			}
		}
		if !gone {
			keptGroups = append(keptGroups, g)
		}
	}
	if err := readNorms(r.ctx, r.in, r.normer, st.ids, R, r.norms, &r.stats); err != nil {
		return nil, nil, err
	}
	if err := haveAll(st.ids, R, r.norms); err != nil {
		return nil, nil, err
	}
	dR := subsetDataset(st.ids, R, r.norms)
	dR.clusterOrder()
	dR.pc = newPairConstraints(r.cons, dR.ids)
	sR := st.model.scorer(dR, cfg, r.nick)
	// dR's records are R reordered: R[dR.rank[k]] is record k.
	atR := make(map[int32]int32, len(R))
	for k := range int32(dR.n) {
		atR[R[dR.rank[k]]] = k
	}
	var linksR []link
	for _, l := range r.links {
		if inR[l.a] {
			linksR = append(linksR, link{atR[l.a], atR[l.b], l.w})
		}
	}
	thr := weightAt(cfg.MatchThreshold)
	cannot := math.Inf(-1)
	if cfg.CannotLinkWeight < 0 {
		cannot = sR.prior + cfg.CannotLinkWeight
	}
	clusters, cst, err := clusterLinks(r.ctx, sR.score, linksR, dR.rank, cfg.MaxGroupSize, cfg.MinLinkDensity, thr, cannot, dR.pc)
	if err != nil {
		return nil, nil, err
	}
	stats := &r.stats
	stats.Durations["cluster"] = time.Since(t)
	cst.record(stats)
	stats.Comparisons += cst.crossComparisons
	t = time.Now()
	groups, err := buildGroups(r.ctx, dR, sR, clusters, cfg, func(ctx context.Context, ids []string) (map[string]cm.Contact, error) {
		return r.in.Contacts(ctx, ids)
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
		st.groups = append(st.groups, stateGroupOf(c.members, func(k int32) int32 { return R[dR.rank[k]] }, st.ids))
	}
	stats.Contacts = st.live
	stats.Groups = len(st.groups)
	stats.Model = st.model.Model
	stats.Model.ThresholdWeight = thr
	res := &Result{Groups: groups, Stats: *stats, Unchanged: unchanged, Changes: r.ch,
		Mode: Mode{Incremental: true, Reason: fmt.Sprintf("a match state of the same configuration exists (kept model, drift %.1f%%)", 100*st.DriftShare())}}
	return res, st, nil
}
