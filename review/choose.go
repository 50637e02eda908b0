package review

import (
	"cmp"
	"context"
	"slices"
	"strings"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
)

// Choose approves g like Decide, with a steward's choice of survivor
// (d.Survivor, optional) and of the member each field is taken from
// (d.Take, field → member id, canonical cm.ContactFields names), and
// recomputes the group's survivor, merged record and unkept values with
// them under opts (the run's survivorship settings; its Survivor and Take
// are set from d and g) in the same store Transition that records d, so
// `plan show` and preflight see the choice. Without d.Survivor the group's
// current survivor stays. The ledger row's detail names the choices.
//
// Nothing changes on an error: EINVALID when d is not an approval, when
// d.Survivor or a taken contact is not a member, when a field cannot be
// taken (match.TakeField) or the contact has no value for it, when two
// address parts name different members, or when a member is missing from
// the snapshot; and Decide's errors.
func Choose(ctx context.Context, st cm.Store, g cm.Group, d cm.Decision, opts match.SurviveOptions) (cm.Group, error) {
	if !d.Approve {
		return cm.Group{}, cm.Errorf(cm.EINVALID, "group %s: a survivor or field choices come with an approval", g.ID)
	}
	if d.Survivor != "" && !slices.Contains(g.Members, d.Survivor) {
		return cm.Group{}, cm.Errorf(cm.EINVALID, "group %s: survivor %s is not a member (members: %s)", g.ID, d.Survivor, strings.Join(g.Members, ", "))
	}
	contacts, err := st.Contacts(ctx, g.Members)
	if err != nil {
		return cm.Group{}, err
	}
	members := make([]cm.Contact, 0, len(g.Members))
	for _, id := range g.Members {
		c, ok := contacts[id]
		if !ok {
			return cm.Group{}, cm.Errorf(cm.EINVALID, "group %s: member %s is not in the snapshot (scan again, then match)", g.ID, id)
		}
		members = append(members, c)
	}
	if err := match.CheckTakes(members, d.Take); err != nil {
		return cm.Group{}, cm.Errorf(cm.EINVALID, "group %s: take %v (members: %s)", g.ID, err, strings.Join(g.Members, ", "))
	}
	opts.Survivor, opts.Take = cmp.Or(d.Survivor, g.SurvivorID), d.Take
	sv := match.SurviveGroup(members, opts)

	existing, err := constraintsWithin(ctx, st, g)
	if err != nil {
		return cm.Group{}, err
	}
	t, err := transition(g, d, nil, existing, true)
	if err != nil {
		return cm.Group{}, err
	}
	t.Detail += " (survivor " + sv.SurvivorID
	if len(d.Take) > 0 {
		t.Detail += "; take " + takeText(d.Take)
	}
	t.Detail += ")"
	update := t.Update
	t.Update = func(g *cm.Group) {
		if update != nil {
			update(g)
		}
		g.SurvivorID, g.Merged, g.Unkept = sv.SurvivorID, sv.Merged, sv.Unkept
	}
	return st.Transition(ctx, t)
}
