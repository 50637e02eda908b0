package policy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

// ApplyOptions are those of Apply.
type ApplyOptions struct {
	// Cycle names the cycle the verdicts are recorded under; default the
	// time of the run (RFC 3339, UTC).
	Cycle string
	// Actor is who runs the policy; its approvals are recorded as
	// "ACTOR (policy)". Default "contactmerge".
	Actor string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// DryRun judges and returns the verdicts without approving or
	// recording anything (the preview of an enforce run).
	DryRun bool
}

// Result is what Apply did.
type Result struct {
	Cycle string `json:"cycle"`
	Mode  Mode   `json:"mode"`
	// Evaluated counts the proposed groups judged.
	Evaluated int `json:"evaluated"`
	// Passed counts those that passed every guard, the cap aside;
	// WouldApprove those within the cap (what enforce mode approves);
	// Approved those the policy approved (enforce mode only).
	Passed       int `json:"passed"`
	WouldApprove int `json:"wouldApprove"`
	Approved     int `json:"approved"`
	// Capped counts the groups held only by the cap; Changed those another
	// process moved before the policy could approve them (enforce).
	Capped  int `json:"capped"`
	Changed int `json:"changed"`
	// HeldBy counts the groups each guard held (a group may be held by
	// several).
	HeldBy map[string]int `json:"heldBy,omitempty"`
	// Verdicts are the verdicts recorded, ordered by group id.
	Verdicts []store.PolicyVerdict `json:"verdicts"`
}

// Reason is recorded with each approval the policy makes.
func (p *Policy) Reason() string {
	r := "every guard of the auto-approve policy passed"
	if p.Path != "" {
		r += " (" + p.Path + ")"
	}
	return r
}

// Apply judges every proposed group of st (Evaluate), holds those a person
// decided before (a decision row by someone other than a policy: a
// rejection a person took back, a superseded group found again), and
// applies the cap: of the groups every guard passed, the MaxMergesPerCycle
// most confident (then by id) are approved, the rest held for GuardCap. In
// Enforce mode it approves those through review.ApproveAsPolicy, the
// review path a person's approval takes (recorded as "ACTOR (policy)", with
// no pair constraint); a group another process moved meanwhile is left as
// it is. In Shadow mode it approves nothing. In both modes it records every
// verdict under the cycle (store.SavePolicyVerdicts), so that report policy
// and the console can compare them with the stewards' decisions.
//
// A steward's decision is law: only proposed groups are judged, so a group
// a person approved, rejected or split is never touched, and a group whose
// members a person linked to others is held (review.PolicyHold).
func (p *Policy) Apply(ctx context.Context, st cm.Store, opts ApplyOptions) (Result, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	res := Result{Cycle: opts.Cycle, Mode: p.Mode, HeldBy: map[string]int{}}
	if res.Cycle == "" {
		res.Cycle = now().UTC().Format(time.RFC3339)
	}
	actor := cmp.Or(opts.Actor, "contactmerge")
	groups, err := st.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}})
	if err != nil {
		return res, err
	}
	touching, contacts, err := evidence(ctx, st, groups)
	if err != nil {
		return res, err
	}
	type judged struct {
		g cm.Group
		v store.PolicyVerdict
	}
	all := make([]judged, 0, len(groups))
	for _, g := range groups {
		members := make([]cm.Contact, 0, len(g.Members))
		for _, id := range g.Members {
			if c, ok := contacts[id]; ok {
				members = append(members, c)
			}
		}
		vd := p.Evaluate(g, members, touching(g))
		if vd.Approve {
			why, err := personDecided(ctx, st, g.ID)
			if err != nil {
				return res, err
			}
			if why != "" {
				vd = Verdict{Reasons: []string{GuardSteward + ": " + why}}
			}
		}
		all = append(all, judged{g, store.PolicyVerdict{
			Cycle: res.Cycle, GroupID: g.ID, Mode: string(p.Mode), Approve: vd.Approve,
			Confidence: g.Confidence, Members: len(g.Members), Reasons: vd.Reasons,
		}})
	}
	res.Evaluated = len(all)
	// The cap: the most confident groups that passed, then by id.
	order := make([]int, 0, len(all))
	for i, j := range all {
		if j.v.Approve {
			order = append(order, i)
		}
	}
	res.Passed = len(order)
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(all[b].g.Confidence, all[a].g.Confidence), cmp.Compare(all[a].g.ID, all[b].g.ID))
	})
	var stop error
	for n, i := range order {
		if stop != nil {
			all[i].v.Approve = false
			all[i].v.Reasons = []string{GuardChangedAfter + ": the policy stopped before this group: " + stop.Error()}
			continue
		}
		if p.MaxMergesPerCycle > 0 && n >= p.MaxMergesPerCycle {
			all[i].v.Approve = false
			all[i].v.Reasons = []string{fmt.Sprintf("%s: the cap of %d approvals a cycle was reached", GuardCap, p.MaxMergesPerCycle)}
			res.Capped++
			continue
		}
		res.WouldApprove++
		if p.Mode != Enforce || opts.DryRun {
			continue
		}
		_, err := review.ApproveAsPolicy(ctx, st, all[i].g, actor, p.Reason(), now())
		switch {
		case cm.IsCode(err, cm.ECONFLICT):
			all[i].v.Approve = false
			all[i].v.Reasons = []string{GuardChangedAfter + ": another process changed the group meanwhile; nothing was done"}
			res.Changed++
		case err != nil:
			stop = fmt.Errorf("policy: approve group %s: %w", all[i].g.ID, err)
			all[i].v.Approve = false
			all[i].v.Reasons = []string{GuardChangedAfter + ": not approved: " + err.Error()}
		default:
			all[i].v.Applied = true
			res.Approved++
		}
	}
	vs := make([]store.PolicyVerdict, len(all))
	for i, j := range all {
		vs[i] = j.v
		vs[i].At = now()
		if !j.v.Approve {
			seen := map[string]bool{}
			for _, r := range j.v.Reasons {
				if g := guardOf(r); !seen[g] {
					seen[g] = true
					res.HeldBy[g]++
				}
			}
		}
	}
	res.Verdicts = vs
	if opts.DryRun {
		return res, nil
	}
	// Recorded even when an approval failed part-way: the approvals made
	// are in the ledger, and their verdicts say so.
	if err := store.SavePolicyVerdicts(ctx, st, vs); err != nil {
		return res, fmt.Errorf("policy: record the verdicts of cycle %s: %w", res.Cycle, err)
	}
	return res, stop
}

// guardOf is the guard a reason names.
func guardOf(reason string) string {
	for i := range len(reason) {
		if reason[i] == ':' {
			return reason[:i]
		}
	}
	return reason
}

// evidence reads what Evaluate needs for groups: a function returning the
// constraints touching a group's members, and the snapshot records of
// every member.
func evidence(ctx context.Context, st cm.Store, groups []cm.Group) (func(cm.Group) []cm.PairConstraint, map[string]cm.Contact, error) {
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.Members...)
	}
	contacts, err := st.Contacts(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	all, err := st.Constraints(ctx, cm.ConstraintFilter{})
	if err != nil {
		return nil, nil, err
	}
	byContact := map[string][]cm.PairConstraint{}
	for _, c := range all {
		byContact[c.A] = append(byContact[c.A], c)
		byContact[c.B] = append(byContact[c.B], c)
	}
	touching := func(g cm.Group) []cm.PairConstraint {
		var out []cm.PairConstraint
		seen := map[int64]bool{}
		for _, m := range g.Members {
			for _, c := range byContact[m] {
				if !seen[c.ID] {
					seen[c.ID] = true
					out = append(out, c)
				}
			}
		}
		return out
	}
	return touching, contacts, nil
}

// personDecided says whether a person decided group id before (its
// decision rows hold one whose actor is not a policy's), and whom and when.
func personDecided(ctx context.Context, st cm.Store, id string) (string, error) {
	ds, err := st.Decisions(ctx, id)
	if err != nil {
		return "", err
	}
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		if review.IsPolicyActor(d.Actor) {
			continue
		}
		verb := "rejected"
		if d.Approve {
			verb = "approved"
		}
		return fmt.Sprintf("%s %s the group on %s before: a person decides it again", d.Actor, verb, d.At.UTC().Format(time.DateOnly)), nil
	}
	return "", nil
}
