package review

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// PolicyReason is the reason ApproveAbove records with each approval.
const PolicyReason = "confidence at or above the approve threshold"

// Decide records a person's decision d on group g and moves g to approved
// (d.Approve) or rejected, in one store Transition that also checks that g
// is still in the state and at the version it was read with. d.Survivor,
// when set, must be a member; it becomes the group's survivor. d.GroupID may
// be empty (it is set to g.ID); d.At zero is the store's clock. The ledger
// row's detail is "approved by ACTOR: REASON" (or "rejected by …").
//
// The decision is also durable (see the package documentation): approving
// records a must-link for every pair of members, rejecting a cannot-link
// for every pair, in the same transaction, and both lift the constraints
// an earlier decision on g recorded. A decision that would contradict a
// constraint recorded otherwise (another group's decision, plan link) is
// refused: the steward must remove that constraint first.
//
// It returns the group as stored after the change. EINVALID when the state
// machine has no edge from g's state, when d.Survivor is not a member, when
// d.GroupID names another group, or when the decision contradicts a
// steward's constraint (the message names the pair and what to run);
// ECONFLICT when another process changed the group since it was read.
func Decide(ctx context.Context, st cm.Store, g cm.Group, d cm.Decision) (cm.Group, error) {
	return decide(ctx, st, g, d, nil)
}

// Split rejects group g like Decide, but records cannot-links only between
// the members named in split and the rest of the group: the steward says
// that these are other people than the rest, and nothing about the rest
// among themselves. EINVALID when split is empty, names a contact that is
// not a member, or names every member.
func Split(ctx context.Context, st cm.Store, g cm.Group, split []string, d cm.Decision) (cm.Group, error) {
	if d.Approve {
		return cm.Group{}, cm.Errorf(cm.EINVALID, "group %s: a split is a rejection, not an approval", g.ID)
	}
	if err := checkSplit(g, split); err != nil {
		return cm.Group{}, err
	}
	return decide(ctx, st, g, d, cm.SortedIDs(split))
}

func decide(ctx context.Context, st cm.Store, g cm.Group, d cm.Decision, split []string) (cm.Group, error) {
	existing, err := constraintsWithin(ctx, st, g)
	if err != nil {
		return cm.Group{}, err
	}
	t, err := transition(g, d, split, existing, true)
	if err != nil {
		return cm.Group{}, err
	}
	return st.Transition(ctx, t)
}

// constraintsWithin returns the constraints between members of g.
func constraintsWithin(ctx context.Context, st cm.Store, g cm.Group) ([]cm.PairConstraint, error) {
	return st.Constraints(ctx, cm.ConstraintFilter{Contacts: g.Members, Within: true})
}

// checkSplit checks the members a steward split off g.
func checkSplit(g cm.Group, split []string) error {
	split = cm.SortedIDs(split)
	if len(split) == 0 {
		return cm.Errorf(cm.EINVALID, "group %s: a split names the members to split off (members: %s)", g.ID, strings.Join(g.Members, ", "))
	}
	for _, id := range split {
		if !slices.Contains(g.Members, id) {
			return cm.Errorf(cm.EINVALID, "group %s: %s is not a member (members: %s)", g.ID, id, strings.Join(g.Members, ", "))
		}
	}
	if len(split) == len(g.Members) {
		return cm.Errorf(cm.EINVALID, "group %s: a split names some members, not all of them (reject the group to reject every pair)", g.ID)
	}
	return nil
}

// transition is the store Transition that records d on g (split: the
// members split off, nil for the whole group). person is false for the
// policy, whose approvals record no constraint. existing are the
// constraints between members of g.
func transition(g cm.Group, d cm.Decision, split []string, existing []cm.PairConstraint, person bool) (cm.Transition, error) {
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
	if split != nil {
		detail = "split by " + d.Actor + " (" + strings.Join(split, ", ") + " against the rest)"
	}
	if d.Reason != "" {
		detail += ": " + d.Reason
	}
	survivor := d.Survivor
	t := cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{g.State}, Version: g.Version, To: to, Actor: d.Actor, Detail: detail,
		Decision: &d,
		Update: func(g *cm.Group) {
			if survivor != "" {
				g.SurvivorID = survivor
			}
		},
	}
	if person {
		add, lift, err := planConstraints(g, d, split, existing)
		if err != nil {
			return cm.Transition{}, err
		}
		t.Constraints, t.LiftConstraints = add, lift
	}
	return t, nil
}

// planConstraints returns the constraints a person's decision d on g
// records and the ids of those it lifts, given existing, the constraints
// between members of g. A new decision on g replaces the earlier one: every
// constraint recorded on g is lifted. Approving records a must-link for
// every pair, rejecting a cannot-link for every pair, a split (split not
// nil) a cannot-link between each member split off and each other member.
// EINVALID, naming the pairs and the way out, when an added constraint
// contradicts one that is not g's own.
func planConstraints(g cm.Group, d cm.Decision, split []string, existing []cm.PairConstraint) ([]cm.PairConstraint, []int64, error) {
	kind, pairs := cm.MustLink, cm.Pairs(g.Members)
	if !d.Approve {
		kind = cm.CannotLink
		if split != nil {
			pairs = cm.CrossPairs(split, g.Members)
		}
	}
	var lift []int64
	against := map[cm.Pair][]cm.PairConstraint{}
	for _, c := range existing {
		switch {
		case c.GroupID == g.ID:
			lift = append(lift, c.ID)
		case c.Kind != kind:
			against[c.Pair()] = append(against[c.Pair()], c)
		}
	}
	add := make([]cm.PairConstraint, 0, len(pairs))
	var conflicts []cm.PairConstraint
	for _, p := range pairs {
		conflicts = append(conflicts, against[p]...)
		add = append(add, cm.PairConstraint{Kind: kind, A: p.A, B: p.B, GroupID: g.ID, Actor: d.Actor, Reason: d.Reason, At: d.At})
	}
	if len(conflicts) > 0 {
		return nil, nil, contradiction(g.ID, kind, split != nil, conflicts)
	}
	return add, lift, nil
}

// contradiction is the EINVALID error of a decision on group that would
// record kind against the constraints cs.
func contradiction(group string, kind cm.ConstraintKind, split bool, cs []cm.PairConstraint) error {
	what := "approving it would merge contacts a steward rejected"
	if kind == cm.CannotLink {
		what = "rejecting it would contradict contacts a steward linked"
		if split {
			what = "this split would contradict contacts a steward linked"
		}
	}
	lines := make([]string, 0, min(len(cs), 5))
	for i, c := range cs {
		if i == 5 {
			lines = append(lines, fmt.Sprintf("and %d more", len(cs)-5))
			break
		}
		lines = append(lines, c.String()+"; "+undo(c))
	}
	hint := ""
	if kind == cm.CannotLink && !split {
		hint = "\n  (to reject only the members nobody linked, split them off: plan reject --group " + group + " --members ID,...)"
	}
	return cm.Errorf(cm.EINVALID, "group %s: %s; remove those decisions first:\n  %s%s", group, what, strings.Join(lines, "\n  "), hint)
}

// undo is the command that removes c.
func undo(c cm.PairConstraint) string {
	if c.Kind == cm.MustLink {
		return fmt.Sprintf("to remove it: contactmerge plan unlink %s %s", c.A, c.B)
	}
	if c.GroupID != "" {
		return fmt.Sprintf("to remove it: contactmerge plan unreject %s (or plan unlink --cannot-link %s %s)", c.GroupID, c.A, c.B)
	}
	return fmt.Sprintf("to remove it: contactmerge plan unlink --cannot-link %s %s", c.A, c.B)
}

// target is the state a decision moves a group to.
func target(approve bool) cm.GroupState {
	if approve {
		return cm.StateApproved
	}
	return cm.StateRejected
}

// Outcome is what a bulk decision did.
type Outcome struct {
	// Decided counts the groups decided.
	Decided int `json:"decided"`
	// Held lists the groups left as they were because the decision would
	// contradict a steward's constraint (DecideWhere) or because the policy
	// may not decide them (ApprovePolicy), each with the reason.
	Held []Hold `json:"held,omitempty"`
}

// Hold is a group a bulk decision left as it was, and why.
type Hold struct {
	GroupID string `json:"groupId"`
	Reason  string `json:"reason"`
}

// DecideWhere records a person's decision (approve, or reject) on every
// group filter selects, as who with reason why, each at now(), as Decide
// does, pair constraints included. Groups another process moved meanwhile
// (ECONFLICT) are skipped; groups whose decision would contradict a
// steward's constraint are held (Outcome.Held says why); any other error
// stops it, with the groups before it decided. A filter that selects groups
// whose state allows no such decision returns EINVALID: select by state
// (cm.StateProposed) for a bulk decision.
func DecideWhere(ctx context.Context, st cm.Store, filter cm.GroupFilter, approve bool, who, why string, now func() time.Time) (Outcome, error) {
	var out Outcome
	groups, err := st.Groups(ctx, filter)
	if err != nil {
		return out, err
	}
	for _, g := range groups {
		if !cm.CanTransition(g.State, target(approve)) {
			return out, cm.Errorf(cm.EINVALID, "group %s is %s: it cannot be %s", g.ID, g.State, target(approve))
		}
		existing, err := constraintsWithin(ctx, st, g)
		if err != nil {
			return out, err
		}
		t, err := transition(g, cm.Decision{Approve: approve, Actor: who, Reason: why, At: now()}, nil, existing, true)
		if cm.IsCode(err, cm.EINVALID) {
			out.Held = append(out.Held, Hold{GroupID: g.ID, Reason: err.Error()})
			continue
		}
		if err != nil {
			return out, err
		}
		if err := out.apply(ctx, st, t); err != nil {
			return out, err
		}
	}
	return out, nil
}

// ApproveAbove is the approve policy: it approves every proposed group whose
// confidence is at least threshold and that PolicyHold lets the policy
// approve, recording "WHO (policy)" as the actor and PolicyReason, and
// returns how many it approved. See ApprovePolicy.
func ApproveAbove(ctx context.Context, st cm.Store, threshold float64, who string, now func() time.Time) (int, error) {
	out, err := ApprovePolicy(ctx, st, threshold, who, now)
	return out.Decided, err
}

// ApprovePolicy is ApproveAbove, returning also the groups held for a
// person (Outcome.Held, with PolicyHold's reason). A policy approval is not
// a steward's decision: it records no pair constraint. Groups another
// process moved meanwhile are skipped.
func ApprovePolicy(ctx context.Context, st cm.Store, threshold float64, who string, now func() time.Time) (Outcome, error) {
	var out Outcome
	groups, err := st.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}, MinConfidence: threshold})
	if err != nil || len(groups) == 0 {
		return out, err
	}
	all, err := st.Constraints(ctx, cm.ConstraintFilter{})
	if err != nil {
		return out, err
	}
	byContact := map[string][]cm.PairConstraint{}
	for _, c := range all {
		byContact[c.A] = append(byContact[c.A], c)
		byContact[c.B] = append(byContact[c.B], c)
	}
	for _, g := range groups {
		var touching []cm.PairConstraint
		seen := map[int64]bool{}
		for _, m := range g.Members {
			for _, c := range byContact[m] {
				if !seen[c.ID] {
					seen[c.ID] = true
					touching = append(touching, c)
				}
			}
		}
		if why := PolicyHold(g, touching); why != "" {
			out.Held = append(out.Held, Hold{GroupID: g.ID, Reason: why})
			continue
		}
		t, err := transition(g, cm.Decision{Approve: true, Actor: who + PolicySuffix, Reason: PolicyReason, At: now()}, nil, nil, false)
		if err != nil {
			return out, err
		}
		if err := out.apply(ctx, st, t); err != nil {
			return out, err
		}
	}
	return out, nil
}

// PolicySuffix ends the actor of every approval a policy records
// ("WHO (policy)"): a decision whose actor ends with it is no steward's.
const PolicySuffix = " (policy)"

// IsPolicyActor reports whether actor is a policy's (see PolicySuffix)
// rather than a person's.
func IsPolicyActor(actor string) bool { return strings.HasSuffix(actor, PolicySuffix) }

// ApproveAsPolicy records a policy's approval of group g, read at its
// current version, as ApprovePolicy records each of its approvals: actor
// "WHO (policy)", reason why, at, and no pair constraint (a policy's
// approval is not a steward's decision). The caller has checked that the
// policy may approve g (PolicyHold and its own guards). EINVALID when g's
// state allows no approval; ECONFLICT when another process changed g since
// it was read.
func ApproveAsPolicy(ctx context.Context, st cm.Store, g cm.Group, who, why string, at time.Time) (cm.Group, error) {
	t, err := transition(g, cm.Decision{Approve: true, Actor: who + PolicySuffix, Reason: why, At: at}, nil, nil, false)
	if err != nil {
		return cm.Group{}, err
	}
	return st.Transition(ctx, t)
}

// PolicyHold says why the approve policy must leave group g to a person,
// given the constraints touching its members (an end in g), or returns ""
// when it may approve g. A steward's decision is law, and a policy never
// second-guesses it:
//
//   - a group any member of which is in a cannot-link pair (with a member
//     or not) touches a rejected pair: a person rejected something about
//     these contacts, so a person decides;
//   - a group with a member must-linked to a contact outside it, or with
//     must-linked members and others not must-linked to them (an approved
//     group's members plus new ones), changes what a person approved: a
//     person decides;
//   - a group whose members a person must-linked, every one to every other
//     (directly or through other members: a–b and b–c link a and c), and to
//     nobody outside, is what a person already said: the policy may
//     approve it;
//   - a group no constraint touches is the policy's to decide.
func PolicyHold(g cm.Group, touching []cm.PairConstraint) string {
	in := func(id string) bool { return slices.Contains(g.Members, id) }
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		p, ok := parent[x]
		if !ok || p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	linked := false
	for _, c := range touching {
		if !in(c.A) && !in(c.B) {
			continue
		}
		switch {
		case c.Kind == cm.CannotLink:
			return "touches a rejected pair: " + c.String()
		case !in(c.A) || !in(c.B):
			return "a steward linked a member to a contact outside the group: " + c.String()
		}
		linked = true
		if ra, rb := find(c.A), find(c.B); ra != rb {
			parent[ra] = rb
		}
	}
	if !linked {
		return ""
	}
	root := find(g.Members[0])
	for _, m := range g.Members[1:] {
		if find(m) != root {
			return fmt.Sprintf("a steward linked some of its members but not %s: the group changed since, so a person decides", m)
		}
	}
	return ""
}

// apply records t and counts it as decided; a group another process moved
// meanwhile (ECONFLICT) is skipped.
func (o *Outcome) apply(ctx context.Context, st cm.Store, t cm.Transition) error {
	_, err := st.Transition(ctx, t)
	if cm.IsCode(err, cm.ECONFLICT) {
		return nil
	}
	if err == nil {
		o.Decided++
	}
	return err
}
