package match

import (
	"context"
	"fmt"
	"slices"
	"sync"

	cm "github.com/contactmerge/contactmerge"
)

// buildGroups turns clusters into proposed groups with survivorship and
// explanations.
func buildGroups(ctx context.Context, d *dataset, s *scorer, clusters []*cluster, cfg *Config, fetch func(context.Context, []string) (map[string]cm.Contact, error)) ([]cm.Group, error) {
	// Chunks of clusters (about 2000 members each) are fetched and built by
	// cfg.workers() goroutines, so that fetching overlaps with building.
	type chunk struct{ lo, hi int }
	var chunks []chunk
	for lo := 0; lo < len(clusters); {
		hi, n := lo, 0
		for hi < len(clusters) && n < 2000 {
			n += len(clusters[hi].members)
			hi++
		}
		chunks = append(chunks, chunk{lo, hi})
		lo = hi
	}
	workers := cfg.workers()
	results := make([][]cm.Group, workers)
	errs := make([]error, workers)
	next := make(chan chunk)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range next {
				var ids []string
				for _, c := range clusters[ch.lo:ch.hi] {
					for _, r := range c.members {
						ids = append(ids, d.ids[r])
					}
				}
				cs, err := fetch(gctx, ids)
				if err != nil {
					errs[w] = err
					cancel()
					continue
				}
				for _, c := range clusters[ch.lo:ch.hi] {
					results[w] = append(results[w], buildGroup(d, s, c, cs, cfg))
				}
			}
		}()
	}
	for _, ch := range chunks {
		select {
		case next <- ch:
		case <-gctx.Done():
		}
		if gctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("match: read group members: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	groups := make([]cm.Group, 0, len(clusters))
	for _, r := range results {
		groups = append(groups, r...)
	}
	slices.SortFunc(groups, func(a, b cm.Group) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return groups, nil
}

// buildGroup makes the proposed group of one cluster.
func buildGroup(d *dataset, s *scorer, c *cluster, cs map[string]cm.Contact, cfg *Config) cm.Group {
	g := cm.Group{State: cm.StateProposed}
	members := make([]cm.Contact, 0, len(c.members))
	for _, r := range c.members {
		g.Members = append(g.Members, d.ids[r])
		if ct, ok := cs[d.ids[r]]; ok {
			members = append(members, ct)
		}
	}
	g.Members = cm.SortedIDs(g.Members)
	g.ID = cm.GroupID(g.Members)
	g.Confidence = probability(c.weakest)
	sv := SurviveGroup(members, cfg.SurviveOptions())
	g.SurvivorID, g.Merged, g.Unkept = sv.SurvivorID, sv.Merged, sv.Unkept
	ex := &cm.Explanation{}
	for _, l := range c.tree {
		ex.Links = append(ex.Links, s.evidence(l.a, l.b))
	}
	if len(members) < len(c.members) {
		ex.Notes = append(ex.Notes, fmt.Sprintf("%d member(s) missing from the snapshot at survivorship", len(c.members)-len(members)))
	}
	g.Explanation = ex
	return g
}
