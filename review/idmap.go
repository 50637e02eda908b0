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

// Restored is a merged-away contact that a restore gave back as a new
// contact (package restore: restore.Restorations reads them from the
// ledger).
type Restored struct {
	OldID      string `json:"oldId"`
	RestoredID string `json:"restoredId"`
	GroupID    string `json:"groupId"`
}

// RestoredMapping is a Mapping with, for a restored contact, the new
// contact that holds its record again. CanonicalID stays what the platform
// resolves the old id to: a merged-away id is an alias of the canonical
// contact for ever, restored or not.
type RestoredMapping struct {
	Mapping
	RestoredID string `json:"restoredId,omitempty"`
}

// WithRestores returns maps with each restored contact's restored id
// (restores, in ledger order; the last restore of an id wins), in the
// order of maps.
func WithRestores(maps []Mapping, restores []Restored) []RestoredMapping {
	by := make(map[string]string, len(restores))
	for _, r := range restores {
		by[r.OldID] = r.RestoredID
	}
	out := make([]RestoredMapping, len(maps))
	for i, m := range maps {
		out[i] = RestoredMapping{Mapping: m, RestoredID: by[m.OldID]}
	}
	return out
}
