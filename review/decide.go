package review

import (
	"context"
	"slices"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// PolicyReason is the reason ApproveAbove records with each approval.
const PolicyReason = "confidence at or above the approve threshold"

// Decide records d on group g and moves g to approved (d.Approve) or
// rejected, in one store Transition that also checks that g is still in the
// state and at the version it was read with. d.Survivor, when set, must be a
// member; it becomes the group's survivor. d.GroupID may be empty (it is set
// to g.ID); d.At zero is the store's clock. The ledger row's detail is
// "approved by ACTOR: REASON" (or "rejected by …").
//
// It returns the group as stored after the change. EINVALID when the state
// machine has no edge from g's state, when d.Survivor is not a member or when
// d.GroupID names another group; ECONFLICT when another process changed the
// group since it was read.
func Decide(ctx context.Context, st cm.Store, g cm.Group, d cm.Decision) (cm.Group, error) {
	t, err := transition(g, d)
	if err != nil {
		return cm.Group{}, err
	}
	return st.Transition(ctx, t)
}

// transition is the store Transition that records d on g.
func transition(g cm.Group, d cm.Decision) (cm.Transition, error) {
	if d.GroupID != "" && d.GroupID != g.ID {
		return cm.Transition{}, cm.Errorf(cm.EINVALID, "decision for group %s applied to group %s", d.GroupID, g.ID)
	}
	d.GroupID = g.ID
	to := target(d.Approve)
	if !cm.CanTransition(g.State, to) {
		return cm.Transition{}, cm.Errorf(cm.EINVALID, "group %s is %s: it cannot be %s", g.ID, g.State, to)
	}
	if d.Survivor != "" && !slices.Contains(g.Members, d.Survivor) {
		return cm.Transition{}, cm.Errorf(cm.EINVALID, "group %s: survivor %s is not a member", g.ID, d.Survivor)
	}
	detail := string(to) + " by " + d.Actor
	if d.Reason != "" {
		detail += ": " + d.Reason
	}
	survivor := d.Survivor
	return cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{g.State}, Version: g.Version, To: to, Actor: d.Actor, Detail: detail,
		Decision: &d,
		Update: func(g *cm.Group) {
			if survivor != "" {
				g.SurvivorID = survivor
			}
		},
	}, nil
}

// target is the state a decision moves a group to.
func target(approve bool) cm.GroupState {
	if approve {
		return cm.StateApproved
	}
	return cm.StateRejected
}

// DecideWhere approves (approve) or rejects every group filter selects, as
// who with reason why, each at now(), and returns how many it changed.
// Groups another process moved meanwhile (ECONFLICT) are skipped; any other
// error stops it, with the groups before it decided. A filter that selects
// groups whose state allows no such decision returns EINVALID: select by
// state (cm.StateProposed) for a bulk decision.
func DecideWhere(ctx context.Context, st cm.Store, filter cm.GroupFilter, approve bool, who, why string, now func() time.Time) (int, error) {
	groups, err := st.Groups(ctx, filter)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, g := range groups {
		_, err := Decide(ctx, st, g, cm.Decision{Approve: approve, Actor: who, Reason: why, At: now()})
		if cm.IsCode(err, cm.ECONFLICT) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ApproveAbove is the approve policy: it approves every proposed group whose
// confidence is at least threshold, recording "WHO (policy)" as the actor
// and PolicyReason, and returns how many it approved. See DecideWhere.
func ApproveAbove(ctx context.Context, st cm.Store, threshold float64, who string, now func() time.Time) (int, error) {
	return DecideWhere(ctx, st, cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}, MinConfidence: threshold},
		true, who+" (policy)", PolicyReason, now)
}
