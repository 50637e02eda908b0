package policy

import (
	"context"
	"maps"
	"slices"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

// Confusion compares the policy's verdicts with a reference (the
// stewards' decisions, or the ground truth), approving being the positive
// class: TP the policy approves and the reference says merge, FP it
// approves and the reference says no, FN it holds what the reference
// merges, TN it holds what the reference does not.
type Confusion struct {
	TP int `json:"tp"`
	FP int `json:"fp"`
	FN int `json:"fn"`
	TN int `json:"tn"`
	// Precision is TP/(TP+FP) and Recall TP/(TP+FN); 0 when undefined.
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// Total is the number of groups compared.
func (c Confusion) Total() int { return c.TP + c.FP + c.FN + c.TN }

// add counts one comparison.
func (c *Confusion) add(policy, reference bool) {
	switch {
	case policy && reference:
		c.TP++
	case policy:
		c.FP++
	case reference:
		c.FN++
	default:
		c.TN++
	}
}

// finish computes the ratios.
func (c *Confusion) finish() {
	if n := c.TP + c.FP; n > 0 {
		c.Precision = float64(c.TP) / float64(n)
	}
	if n := c.TP + c.FN; n > 0 {
		c.Recall = float64(c.TP) / float64(n)
	}
}

// GuardRow is how often one guard held a group, and what the references
// say about the groups it held.
type GuardRow struct {
	Guard string `json:"guard"`
	Held  int    `json:"held"`
	// StewardApproved and StewardRejected count the held groups a person
	// approved (the guard cost them a merge) and rejected (it was right).
	StewardApproved int `json:"stewardApproved"`
	StewardRejected int `json:"stewardRejected"`
	// TrueDuplicates counts the held groups the ground truth calls one
	// customer (only with truth).
	TrueDuplicates int `json:"trueDuplicates,omitempty"`
}

// Disagreement is a group on which the policy and a steward differ.
type Disagreement struct {
	GroupID string   `json:"groupId"`
	Policy  bool     `json:"policyApproves"`
	Steward bool     `json:"stewardApproved"`
	Actor   string   `json:"actor"`
	Reasons []string `json:"reasons,omitempty"`
}

// Agreement is the policy's latest verdict on each group compared with the
// stewards' decisions and, when known, the ground truth.
type Agreement struct {
	// Groups counts the groups the policy judged (their latest verdict
	// each); Approve how many of them it approves or would approve.
	Groups  int `json:"groups"`
	Approve int `json:"approve"`
	// Steward compares the verdicts with the latest decision a person
	// (not a policy) recorded on the group; Undecided counts the groups
	// nobody decided yet.
	Steward   Confusion `json:"steward"`
	Undecided int       `json:"undecided"`
	// Truth compares the verdicts with the ground truth (nil without):
	// a group is a true duplicate when all its members are in one true
	// cluster.
	Truth *Confusion `json:"truth,omitempty"`
	// ByGuard says, for each guard, how often it held a group.
	ByGuard []GuardRow `json:"byGuard"`
	// Disagreements lists the groups where the policy and a steward
	// differ, by group id.
	Disagreements []Disagreement `json:"disagreements,omitempty"`
}

// Compare reads the latest policy verdict of every group in st and
// compares it with the stewards' decisions and, when truth is not nil (the
// true clusters as lists of contact ids, as match.ReadTruth reads them),
// with the ground truth.
func Compare(ctx context.Context, st cm.Store, truth [][]string) (Agreement, error) {
	var a Agreement
	vs, err := store.PolicyVerdicts(ctx, st, store.PolicyVerdictFilter{Latest: true})
	if err != nil {
		return a, err
	}
	groups := map[string]cm.Group{}
	if truth != nil {
		ids := make([]string, len(vs))
		for i, v := range vs {
			ids[i] = v.GroupID
		}
		gs, err := st.Groups(ctx, cm.GroupFilter{IDs: ids})
		if err != nil {
			return a, err
		}
		for _, g := range gs {
			groups[g.ID] = g
		}
		a.Truth = &Confusion{}
	}
	entity := map[string]int{}
	for e, members := range truth {
		for _, id := range members {
			entity[id] = e + 1
		}
	}
	rows := map[string]*GuardRow{}
	for _, v := range vs {
		a.Groups++
		if v.Approve {
			a.Approve++
		}
		decided, approved, actor, err := stewardDecision(ctx, st, v.GroupID)
		if err != nil {
			return a, err
		}
		if decided {
			a.Steward.add(v.Approve, approved)
			if v.Approve != approved {
				a.Disagreements = append(a.Disagreements, Disagreement{GroupID: v.GroupID, Policy: v.Approve, Steward: approved, Actor: actor, Reasons: v.Reasons})
			}
		} else {
			a.Undecided++
		}
		same := false
		if g, ok := groups[v.GroupID]; ok && a.Truth != nil {
			same = oneEntity(g.Members, entity)
			a.Truth.add(v.Approve, same)
		}
		if v.Approve {
			continue
		}
		seen := map[string]bool{}
		for _, r := range v.Reasons {
			guard := guardOf(r)
			if seen[guard] {
				continue
			}
			seen[guard] = true
			row := rows[guard]
			if row == nil {
				row = &GuardRow{Guard: guard}
				rows[guard] = row
			}
			row.Held++
			switch {
			case decided && approved:
				row.StewardApproved++
			case decided:
				row.StewardRejected++
			}
			if same {
				row.TrueDuplicates++
			}
		}
	}
	a.Steward.finish()
	if a.Truth != nil {
		a.Truth.finish()
	}
	for _, g := range slices.Sorted(maps.Keys(rows)) {
		a.ByGuard = append(a.ByGuard, *rows[g])
	}
	return a, nil
}

// oneEntity reports whether every member is in the same true cluster.
func oneEntity(members []string, entity map[string]int) bool {
	if len(members) < 2 {
		return false
	}
	e := entity[members[0]]
	if e == 0 {
		return false
	}
	for _, m := range members[1:] {
		if entity[m] != e {
			return false
		}
	}
	return true
}

// stewardDecision returns the latest decision a person (not a policy)
// recorded on group id: whether there is one, whether it approved, and who.
func stewardDecision(ctx context.Context, st cm.Store, id string) (decided, approved bool, actor string, err error) {
	ds, err := st.Decisions(ctx, id)
	if err != nil {
		return false, false, "", err
	}
	for i := len(ds) - 1; i >= 0; i-- {
		if !review.IsPolicyActor(ds[i].Actor) {
			return true, ds[i].Approve, ds[i].Actor, nil
		}
	}
	return false, false, "", nil
}
