package match

import (
	"context"
	"math"
	"slices"
)

// link is a scored candidate pair at or above the match threshold.
type link struct {
	a, b int32
	w    float64
}

// cluster is a group under construction.
type cluster struct {
	members []int32
	// tree holds the links that joined the cluster (a maximum spanning tree).
	tree []link
	// weakest is the smallest weight in tree.
	weakest float64
}

type clusterStats struct {
	refusedSize, refusedDensity, refusedConflict int
	refusedCannotLink                            int // joins a steward's cannot-link refused
	crossComparisons                             int
	splitComponents                              int
}

// record puts what clustering counted into stats: the split groups and the
// refused joins by reason. The cross-cluster comparisons are the caller's
// to add, to the comparisons it counts.
func (cst *clusterStats) record(stats *Stats) {
	stats.SplitGroups = cst.splitComponents
	stats.RefusedJoins["maxGroupSize"] = cst.refusedSize
	stats.RefusedJoins["density"] = cst.refusedDensity
	stats.RefusedJoins["conflict"] = cst.refusedConflict
	stats.RefusedJoins["cannotLink"] = cst.refusedCannotLink
}

// clusterLinks groups records by their links, strongest first. Two clusters
// are joined by a link only when the joined group stays within maxSize,
// at least minDensity of the pairs across them are links, and no pair across
// them scores below cannotLink (weights, not probabilities). It returns the
// clusters of two or more records.
//
// pc (nil: none) are stewards' decisions, which outrank every score. A
// must-link is a link stronger than any scored one, so must-linked records
// are joined first, without the density and score-conflict rules (a person
// said they are one customer); a must-linked pair counts as a link and a
// cannot-linked pair as a conflict wherever pairs across two clusters are
// weighed. No join ever puts a cannot-link pair in one cluster, must-link
// or not: when the links connect a cannot-link pair, the link refused is
// the one that would first join their clusters, which, links being taken
// strongest first (ties by record number), is the weakest link of the
// strongest path between them. The component is cut there, the same way on
// every run.
//
// rank (nil: record order) orders the records as their contact ids do (rank[r] is record r's
// position in id order): links of equal weight are taken in the id order of
// their ends, and each link's a is its end of lower id, so that the
// clusters of a component depend on its records and links alone and not
// on the record numbers of the run (an incremental match re-clusters a
// component within another dataset, see incremental.go).
func clusterLinks(ctx context.Context, score func(a, b int32) float64, links []link, rank []int32, maxSize int, minDensity, threshold, cannotLink float64, pc *pairConstraints) ([]*cluster, clusterStats, error) {
	var st clusterStats
	if pc != nil {
		base := score
		score = func(a, b int32) float64 {
			switch {
			case pc.isMust(a, b):
				return math.Inf(1)
			case pc.isCannot(a, b):
				return math.Inf(-1)
			}
			return base(a, b)
		}
		links = append(slices.Clip(links), pc.mustLinks()...)
	}
	rk := func(r int32) int32 { return r } // rank nil: record order
	if rank != nil {
		rk = func(r int32) int32 { return rank[r] }
	}
	for q := range links {
		if l := &links[q]; rk(l.a) > rk(l.b) {
			l.a, l.b = l.b, l.a
		}
	}
	slices.SortFunc(links, func(x, y link) int {
		switch {
		case x.w > y.w:
			return -1
		case x.w < y.w:
			return 1
		case x.a != y.a:
			return int(rk(x.a) - rk(y.a))
		}
		return int(rk(x.b) - rk(y.b))
	})
	owner := map[int32]*cluster{}
	get := func(r int32) *cluster {
		if c, ok := owner[r]; ok {
			return c
		}
		return &cluster{members: []int32{r}}
	}
	in := func(r int32, c *cluster) bool {
		if o, ok := owner[r]; ok {
			return o == c
		}
		return len(c.members) == 1 && c.members[0] == r
	}
	// Components of the link graph, to count components that ended split.
	comp := newUnionFind()
	for q, l := range links {
		if q&0xfff == 0 && ctx.Err() != nil {
			return nil, st, ctx.Err()
		}
		comp.union(l.a, l.b)
		ca, cb := get(l.a), get(l.b)
		if ca == cb {
			continue
		}
		if pc.separates(ca, cb, in) {
			st.refusedCannotLink++
			continue
		}
		if len(ca.members)+len(cb.members) > maxSize {
			st.refusedSize++
			continue
		}
		if !math.IsInf(l.w, 1) && (len(ca.members) > 1 || len(cb.members) > 1) {
			strong, total := 0, 0
			conflict := false
			for _, x := range ca.members {
				for _, y := range cb.members {
					w := score(x, y)
					st.crossComparisons++
					total++
					if w >= threshold {
						strong++
					}
					if w < cannotLink {
						conflict = true
					}
				}
			}
			if conflict {
				st.refusedConflict++
				continue
			}
			if float64(strong) < minDensity*float64(total) {
				st.refusedDensity++
				continue
			}
		}
		// Join the smaller into the larger.
		if len(ca.members) < len(cb.members) {
			ca, cb = cb, ca
		}
		if len(ca.tree) == 0 || l.w < ca.weakest {
			ca.weakest = l.w
		}
		if len(cb.tree) > 0 && cb.weakest < ca.weakest {
			ca.weakest = cb.weakest
		}
		ca.members = append(ca.members, cb.members...)
		ca.tree = append(append(ca.tree, cb.tree...), l)
		for _, r := range ca.members {
			owner[r] = ca
		}
	}
	seen := map[*cluster]bool{}
	var out []*cluster
	groupsPerComp := map[int32]int{}
	for _, l := range links {
		for _, r := range []int32{l.a, l.b} {
			c := get(r)
			if seen[c] {
				continue
			}
			seen[c] = true
			groupsPerComp[comp.find(r)]++
			if len(c.members) > 1 {
				slices.Sort(c.members)
				out = append(out, c)
			}
		}
	}
	for _, n := range groupsPerComp {
		if n > 1 {
			st.splitComponents++
		}
	}
	slices.SortFunc(out, func(x, y *cluster) int { return int(x.members[0] - y.members[0]) })
	return out, st, nil
}

// unionFind is a sparse disjoint-set forest (records absent from parent
// are their own sets), for the records of the link graph; denseUnionFind
// is the one over every record.
type unionFind struct{ parent map[int32]int32 }

func newUnionFind() *unionFind { return &unionFind{parent: map[int32]int32{}} }

func (u *unionFind) find(x int32) int32 {
	r := x
	for {
		p, ok := u.parent[r]
		if !ok || p == r {
			break
		}
		r = p
	}
	for x != r {
		p := u.parent[x]
		u.parent[x] = r
		x = p
	}
	return r
}

func (u *unionFind) union(a, b int32) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u.parent[ra] = rb
	}
}
