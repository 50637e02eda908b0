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

// IDMap returns, ordered by old id, a Mapping for every input of the applied
// merges (engine.AppliedMerges: every applied merge the ledger records,
// including the rounds of groups that did not end merged) other than the
// merge's result. A contact whose result a later merge merged
// again (merge rounds, bisection, re-plans) maps to the last result of the
// chain. A cycle (which a consistent ledger cannot hold) stops after as many
// steps as there are mappings.
func IDMap(merges []cm.AppliedMerge) []Mapping {
	next := map[string]string{}
	groupOf := map[string]string{}
	for _, m := range merges {
		for _, in := range m.Inputs {
			if in != m.Result {
				next[in], groupOf[in] = m.Result, m.GroupID
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
