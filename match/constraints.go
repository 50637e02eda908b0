package match

import (
	"context"
	"fmt"
	"math"
	"slices"

	cm "github.com/contactmerge/contactmerge"
)

// ConstraintSource is implemented by an Input that also holds stewards'
// decisions about pairs of contacts (cm.Store does). Run reads every
// constraint from it and respects them: see "Stewards' decisions" in the
// package documentation. An Input without it (MemoryInput) has none.
type ConstraintSource interface {
	Constraints(ctx context.Context, f cm.ConstraintFilter) ([]cm.PairConstraint, error)
}

// mustLinkWeight is the weight of a must-link: above every scored link.
func mustLinkWeight() float64 { return math.Inf(1) }

// pairConstraints are a run's constraints between records of its dataset.
type pairConstraints struct {
	must, cannot map[int32][]int32 // each record's partners, both ways
	// byID are the constraints touching each contact id, for the notes of
	// the groups that hold it.
	byID map[string][]cm.PairConstraint
}

// loadConstraints reads the constraints of in (when it is a
// ConstraintSource) between records of d, after d's records have their
// final order. Constraints naming a contact d does not hold are ignored.
// It returns nil when there are none, and every constraint read.
func loadConstraints(ctx context.Context, in Input, d *dataset) (*pairConstraints, []cm.PairConstraint, error) {
	src, ok := in.(ConstraintSource)
	if !ok {
		return nil, nil, nil
	}
	cs, err := src.Constraints(ctx, cm.ConstraintFilter{})
	if err != nil {
		return nil, nil, fmt.Errorf("match: read constraints: %w", err)
	}
	return newPairConstraints(cs, d.ids), cs, nil
}

// newPairConstraints indexes cs by the record numbers of ids (ids[r] is
// record r); nil when cs is empty.
func newPairConstraints(cs []cm.PairConstraint, ids []string) *pairConstraints {
	if len(cs) == 0 {
		return nil
	}
	pc := &pairConstraints{must: map[int32][]int32{}, cannot: map[int32][]int32{}, byID: map[string][]cm.PairConstraint{}}
	rec := map[string]int32{}
	for _, c := range cs {
		rec[c.A], rec[c.B] = -1, -1
		pc.byID[c.A] = append(pc.byID[c.A], c)
		pc.byID[c.B] = append(pc.byID[c.B], c)
	}
	for r, id := range ids {
		if _, ok := rec[id]; ok {
			rec[id] = int32(r)
		}
	}
	for _, c := range cs {
		a, b := rec[c.A], rec[c.B]
		if a < 0 || b < 0 {
			continue
		}
		m := pc.must
		if c.Kind == cm.CannotLink {
			m = pc.cannot
		}
		if !slices.Contains(m[a], b) {
			m[a] = append(m[a], b)
			m[b] = append(m[b], a)
		}
	}
	for _, m := range []map[int32][]int32{pc.must, pc.cannot} {
		for r := range m {
			slices.Sort(m[r])
		}
	}
	return pc
}

// mustLinks returns the must-link pairs as links of mustLinkWeight, a < b,
// in order.
func (pc *pairConstraints) mustLinks() []link {
	if pc == nil {
		return nil
	}
	var out []link
	for a, bs := range pc.must {
		for _, b := range bs {
			if a < b {
				out = append(out, link{a, b, mustLinkWeight()})
			}
		}
	}
	return out
}

// isMust and isCannot report whether a person linked, or rejected, a and b.
func (pc *pairConstraints) isMust(a, b int32) bool {
	return pc != nil && slices.Contains(pc.must[a], b)
}

func (pc *pairConstraints) isCannot(a, b int32) bool {
	return pc != nil && slices.Contains(pc.cannot[a], b)
}

// separates reports whether a cannot-link joins a member of x to a member
// of y.
func (pc *pairConstraints) separates(x, y *cluster, in func(r int32, c *cluster) bool) bool {
	if pc == nil || len(pc.cannot) == 0 {
		return false
	}
	if len(x.members) > len(y.members) {
		x, y = y, x
	}
	for _, r := range x.members {
		for _, o := range pc.cannot[r] {
			if in(o, y) {
				return true
			}
		}
	}
	return false
}

// maxNotes bounds the constraint notes of one group's explanation.
const maxNotes = 20

// annotate adds to each group's explanation the stewards' decisions that
// touch its members: the pairs inside the group a person linked, and the
// pairs from a member to a contact outside it a person rejected. A group
// that carries decisions this way says so, so that a reviewer sees what a
// steward already decided about these people.
func (pc *pairConstraints) annotate(groups []cm.Group) {
	if pc == nil {
		return
	}
	for i := range groups {
		g := &groups[i]
		seen := map[int64]bool{}
		var notes []string
		more := 0
		for _, m := range g.Members {
			for _, c := range pc.byID[m] {
				if seen[c.ID] {
					continue
				}
				seen[c.ID] = true
				inA, inB := slices.Contains(g.Members, c.A), slices.Contains(g.Members, c.B)
				var note string
				switch {
				case c.Kind == cm.MustLink && inA && inB:
					note = "steward decision: " + c.String()
				case c.Kind == cm.CannotLink && inA && inB:
					// Clustering never lets this happen; say so loudly if it did.
					note = "steward decision VIOLATED: " + c.String()
				case c.Kind == cm.CannotLink:
					note = "steward decision: " + c.String() + " (outside this group)"
				case c.Kind == cm.MustLink:
					note = "steward decision: " + c.String() + " (the other contact is outside this group)"
				}
				if len(notes) == maxNotes {
					more++
					continue
				}
				notes = append(notes, note)
			}
		}
		if len(notes) == 0 {
			continue
		}
		if more > 0 {
			notes = append(notes, fmt.Sprintf("steward decisions: %d more (contactmerge plan show %s)", more, g.ID))
		}
		if g.Explanation == nil {
			g.Explanation = &cm.Explanation{}
		}
		g.Explanation.Notes = append(g.Explanation.Notes, notes...)
	}
}
