package review

import (
	"maps"
	"slices"

	cm "github.com/contactmerge/contactmerge"
)

// Mapping sends a contact id that a merge replaced to the contact it
// resolves to now (`report --id-map`).
type Mapping struct {
	OldID       string `json:"oldId"`
	CanonicalID string `json:"canonicalId"`
	// GroupID is the group whose merge replaced OldID.
	GroupID string `json:"groupId"`
}

// IDMap returns, ordered by old id, a Mapping for every member of a merged
// group other than the group's canonical contact; groups in other states are
// ignored. A contact merged by a group whose canonical contact a later group
// merged again (merge rounds, bisection, re-plans) maps to the last
// canonical contact of the chain. A cycle (which a consistent store cannot
// hold) stops after as many steps as there are mappings.
func IDMap(groups []cm.Group) []Mapping {
	next := map[string]string{}
	groupOf := map[string]string{}
	for _, g := range groups {
		if g.State != cm.StateMerged {
			continue
		}
		for _, m := range g.Members {
			if m != g.CanonicalID {
				next[m], groupOf[m] = g.CanonicalID, g.ID
			}
		}
	}
	out := make([]Mapping, 0, len(next))
	for _, old := range slices.Sorted(maps.Keys(next)) {
		canon := next[old]
		for steps := 0; next[canon] != "" && steps < len(next); steps++ {
			canon = next[canon]
		}
		out = append(out, Mapping{OldID: old, CanonicalID: canon, GroupID: groupOf[old]})
	}
	return out
}
