package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/match"
)

// PreflightResult says what preflight did with a batch of groups.
type PreflightResult struct {
	// Ready lists the groups now ready to merge, re-planned children
	// included.
	Ready []string
}

// resolved is what a bulk read says about one requested contact id.
type resolved struct {
	live    *cm.Contact // the contact the id resolves to (itself or its canonical); nil when deleted
	deleted bool
}

// Preflight checks a batch of approved groups against the platform: one
// bulk read of all members (ids resolve to their canonical contact, deleted
// ones answer 404), one analytics query per 100 contact ids for conversations
// that have not ended, and (when enabled) the case lookup. Groups with
// activity are quarantined with a retry time; groups whose members changed
// are re-planned onto the live contacts (a child group) or dropped when fewer
// than two remain; the others become ready with a merged record recomputed
// from fresh data. Before any read, a group that holds a pair a steward
// rejected fails (refuseRejected).
func (e *Engine) Preflight(ctx context.Context, groupIDs []string) (PreflightResult, error) {
	var res PreflightResult
	groups, err := e.store.Groups(ctx, cm.GroupFilter{IDs: groupIDs, States: []cm.GroupState{cm.StateApproved}})
	if err != nil || len(groups) == 0 {
		return res, err
	}
	if groups, err = e.refuseRejected(ctx, groups); err != nil || len(groups) == 0 {
		return res, err
	}
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.Members...)
		if g.CanonicalID != "" {
			ids = append(ids, g.CanonicalID)
		}
	}
	ids = cm.SortedIDs(ids)
	requests := 0
	results, err := e.bulkGet(ctx, ids, &requests)
	if err != nil {
		return res, fmt.Errorf("preflight: bulk read: %w", err)
	}

	// Activity: every id of every live contact's merge set (old
	// interactions stay on ancestor ids).
	owner := map[string]string{} // any id of a merge set → live contact id
	for _, r := range results {
		if r.live == nil {
			continue
		}
		owner[r.live.ID] = r.live.ID
		for _, m := range r.live.MergeSet {
			owner[m.ID] = r.live.ID
		}
	}
	activity, err := e.activity(ctx, slices.Sorted(maps.Keys(owner)), owner, &requests)
	if err != nil {
		return res, fmt.Errorf("preflight: activity: %w", err)
	}

	now := e.cfg.Now()
	for _, g := range groups {
		ready, err := e.preflightGroup(ctx, g, results, activity, now)
		if cm.IsCode(err, cm.ECONFLICT) {
			continue // another worker moved the group meanwhile
		}
		if err != nil {
			return res, err
		}
		res.Ready = append(res.Ready, ready...)
	}
	e.met.preflighted.Add(float64(len(groups)))
	e.log.Debug("preflight", "groups", len(groups), "ready", len(res.Ready), "requests", requests)
	return res, nil
}

// preflightGroup takes an approved group to ready (itself, or a re-planned
// child), quarantined, dropped or failed, and returns the ids of what
// became ready.
func (e *Engine) preflightGroup(ctx context.Context, g cm.Group, results map[string]resolved,
	activity map[string]string, now time.Time) ([]string, error) {
	members := g.Members
	if g.CanonicalID != "" {
		members = append(slices.Clone(members), g.CanonicalID)
	}
	var changes []string
	live := map[string]cm.Contact{}
	var gone []string // ids to drop from the snapshot
	for _, id := range members {
		r, ok := results[id]
		switch {
		case !ok || r.deleted:
			changes = append(changes, id+" deleted")
			gone = append(gone, id)
		case r.live.ID != id:
			changes = append(changes, fmt.Sprintf("%s merged into %s", id, r.live.ID))
			gone = append(gone, id)
			live[r.live.ID] = *r.live
		default:
			live[id] = *r.live
		}
	}
	// After a partial multi-round merge the merged members resolve to the
	// group's own canonical contact: that is progress, not a change.
	if g.CanonicalID != "" {
		changes = slices.DeleteFunc(changes, func(c string) bool { return strings.HasSuffix(c, " merged into "+g.CanonicalID) })
	}
	fresh := slices.Collect(maps.Values(live))
	slices.SortFunc(fresh, func(a, b cm.Contact) int { return strings.Compare(a.ID, b.ID) })
	// Members not merged yet: the live contacts but the group's canonical.
	pending := len(fresh) - boolInt(g.CanonicalID != "" && slices.ContainsFunc(fresh, func(c cm.Contact) bool { return c.ID == g.CanonicalID }))

	if len(live) < 2 {
		reason := "fewer than two live contacts remain: " + strings.Join(changes, "; ")
		_, err := e.transition(ctx, cm.Transition{
			GroupID: g.ID, From: []cm.GroupState{cm.StateApproved}, To: cm.StateDropped, Detail: reason,
			Update:         func(g *cm.Group) { g.Reason = reason },
			DeleteContacts: gone, UpsertContacts: fresh,
		})
		return nil, err
	}

	// Activity on any live member quarantines the whole group (the design:
	// a group is merged when all of its members are idle).
	var busy []string
	for _, c := range fresh {
		if why, ok := activity[c.ID]; ok {
			busy = append(busy, why)
		}
	}
	if len(busy) > 0 {
		e.met.preflightQuar.Inc()
		_, err := e.quarantine(ctx, g, nil, quarantineArgs{why: strings.Join(busy, "; "), now: now, fresh: fresh, gone: gone, pending: pending})
		return nil, err
	}

	if size := mergeSetSize(fresh); size > e.cfg.MaxMergeSet {
		reason := fmt.Sprintf("the merge set would hold about %d contacts, over the platform limit of %d", size, e.cfg.MaxMergeSet) +
			partialNote(g, pending)
		_, err := e.transition(ctx, cm.Transition{
			GroupID: g.ID, From: []cm.GroupState{cm.StateApproved}, To: cm.StateFailed, Detail: reason,
			Update: func(g *cm.Group) { g.Reason = reason },
		})
		return nil, err
	}

	// Same survivor where possible: the reviewer's survivor, or the contact
	// it was merged into (the canonical of a sibling group, or this group's
	// own canonical contact after partial rounds).
	// The steward's choices (plan approve --survivor/--take) hold on the
	// fresh values too, also when a later match reset the group's survivor.
	survivor, take, err := e.choice(ctx, g)
	if err != nil {
		return nil, err
	}
	if r, ok := results[survivor]; ok && r.live != nil {
		survivor = r.live.ID
	}
	if len(changes) > 0 {
		// Re-plan onto the live contacts: a child group replaces this one.
		child := e.replanWith(g, survivor, take, fresh)
		reason := "re-planned: " + strings.Join(changes, "; ")
		child.Reason = reason
		_, err := e.transition(ctx, cm.Transition{
			GroupID: g.ID, From: []cm.GroupState{cm.StateApproved}, To: cm.StateSplit, Detail: reason + " → " + child.ID,
			Update:   func(g *cm.Group) { g.Reason = reason },
			Children: []cm.Group{child}, DeleteContacts: gone, UpsertContacts: fresh,
		})
		return []string{child.ID}, err
	}

	planned := e.replanWith(g, survivor, take, fresh)
	_, err = e.transition(ctx, cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{cm.StateApproved}, To: cm.StateReady, Detail: "preflight ok",
		Update: func(g *cm.Group) {
			g.SurvivorID, g.Merged, g.Unkept, g.Reason = planned.SurvivorID, planned.Merged, planned.Unkept, ""
		},
		UpsertContacts: fresh,
	})
	return []string{g.ID}, err
}

// choice returns the survivor of g (its latest decision's when that names
// a member, else g's) and the decision's per-field choices.
func (e *Engine) choice(ctx context.Context, g cm.Group) (string, map[string]string, error) {
	ds, err := e.store.Decisions(ctx, g.ID)
	if err != nil || len(ds) == 0 {
		return g.SurvivorID, nil, err
	}
	d := ds[len(ds)-1]
	if d.Survivor != "" && slices.Contains(g.Members, d.Survivor) {
		return d.Survivor, d.Take, nil
	}
	return g.SurvivorID, d.Take, nil
}

// replan returns a group over members with survivorship recomputed on their
// current values. survivor (the reviewer's choice, or what it resolved to)
// is kept when it is a member; otherwise the policy picks one.
func (e *Engine) replan(parent cm.Group, survivor string, members []cm.Contact) cm.Group {
	return e.replanWith(parent, survivor, nil, members)
}

// replanWith is replan with the reviewer's per-field choices (take), which
// apply to the members they name.
func (e *Engine) replanWith(parent cm.Group, survivor string, take map[string]string, members []cm.Contact) cm.Group {
	ids := make([]string, len(members))
	for i, c := range members {
		ids[i] = c.ID
	}
	ids = cm.SortedIDs(ids)
	sv := match.SurviveGroup(members, match.SurviveOptions{Policy: e.cfg.Survivor, Survivor: survivor, Take: take})
	survivor, merged, unkept := sv.SurvivorID, sv.Merged, sv.Unkept
	g := cm.Group{
		ID: cm.GroupID(ids), ParentID: parent.ID, Members: ids, SurvivorID: survivor,
		State: cm.StateReady, Confidence: parent.Confidence, Merged: merged, Unkept: unkept,
		Explanation: parent.Explanation, PlanVersion: parent.PlanVersion,
	}
	if slices.Equal(ids, parent.Members) {
		g.ID, g.ParentID = parent.ID, parent.ParentID
	}
	return g
}

// quarantineArgs are the particulars of a quarantine.
type quarantineArgs struct {
	why     string       // the activity or conflict
	now     time.Time    // the retry time counts from it
	fresh   []cm.Contact // snapshot contacts to upsert with the change (preflight)
	gone    []string     // snapshot contacts to delete with it
	pending int          // members not merged yet, for the reason of a partly merged group
	events  []cm.LedgerEvent
}

// quarantine moves g from its state (approved in preflight, in_flight after
// a 409) to quarantined with an exponential retry time, or to failed once
// it has been quarantined QuarantineGiveUp times, and returns the state it
// moved to.
func (e *Engine) quarantine(ctx context.Context, g cm.Group, lease *cm.Lease, q quarantineArgs) (cm.GroupState, error) {
	n := g.Quarantines + 1
	if n > e.cfg.QuarantineGiveUp {
		reason := fmt.Sprintf("gave up after %d quarantines: %s", g.Quarantines, q.why) + partialNote(g, q.pending)
		_, err := e.transition(ctx, cm.Transition{
			GroupID: g.ID, From: []cm.GroupState{g.State}, To: cm.StateFailed, Detail: reason, Lease: lease,
			Update: func(g *cm.Group) { g.Reason = reason }, Events: q.events,
		})
		return cm.StateFailed, err
	}
	retry := q.now.Add(e.quarantineDelay(n))
	reason := "active: " + q.why + partialNote(g, q.pending)
	_, err := e.transition(ctx, cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{g.State}, To: cm.StateQuarantined,
		Detail: fmt.Sprintf("%s; retry at %s", reason, retry.UTC().Format(time.RFC3339)),
		Update: func(g *cm.Group) {
			g.Reason, g.RetryAt, g.Quarantines = reason, retry, n
		},
		UpsertContacts: q.fresh, DeleteContacts: q.gone, Lease: lease, Events: q.events,
	})
	if err == nil {
		e.enqueueRetry(ctx, g.ID, retry)
	}
	return cm.StateQuarantined, err
}

// mergeSetSize estimates the size of the merge set a merge of members
// produces: every contact of each member's merge tree, plus one new
// canonical contact per round.
func mergeSetSize(members []cm.Contact) int {
	n := 1
	for _, c := range members {
		n += max(1, len(c.MergeSet))
	}
	return n
}

// bulkGet reads ids in bulk (the client batches up to 100 a request, fewer
// once the platform refused that many) and maps each requested id to what it
// resolves to. A 403 stops the engine (ErrForbidden).
func (e *Engine) bulkGet(ctx context.Context, ids []string, requests *int) (map[string]resolved, error) {
	out := make(map[string]resolved, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	api := e.pick()
	results, _, err := api.Contacts.BulkGet(ctx, ids)
	size := api.Contacts.BulkSize()
	*requests += (len(ids) + size - 1) / size
	if err != nil {
		return nil, e.forbiddenOn(api, genesys.CapReadContacts, err)
	}
	for _, r := range results {
		switch {
		case r.Success && r.Entity != nil:
			out[r.ID] = resolved{live: r.Entity}
		case r.Status == 404 || (r.Error != nil && r.Error.Status == 404):
			out[r.ID] = resolved{deleted: true}
		default:
			msg := ""
			if r.Error != nil {
				msg = r.Error.Message
			}
			return nil, fmt.Errorf("bulk read of %s failed with status %d: %s", r.ID, r.Status, msg)
		}
	}
	return out, nil
}

// MaxActivityLookback is the longest Config.ActivityLookback: the 31 days a
// filtered conversation-details query may span (genesys.MaxAnalyticsInterval).
const MaxActivityLookback = genesys.MaxAnalyticsInterval

// activity returns, for each live contact id with a conversation that has
// not ended (or an open case), a description of that activity. It looks
// back ActivityLookback (the platform only returns conversations that
// started in the queried interval, so the lookback must cover the longest
// open email or messaging conversation); the client splits the interval
// into the 31-day parts the platform takes. A 403 stops the engine
// (ErrForbidden).
func (e *Engine) activity(ctx context.Context, ids []string, owner map[string]string, requests *int) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	now := e.cfg.Now()
	lookback := genesys.Interval{Start: now.Add(-e.cfg.ActivityLookback), End: now.Add(time.Hour)}
	api := e.pick()
	convs, err := api.Analytics.ActiveConversations(ctx, ids, lookback)
	size := api.Analytics.BatchSize()
	*requests += (len(ids) + size - 1) / size * len(genesys.SplitInterval(lookback, 0))
	if err != nil {
		return nil, e.forbiddenOn(api, genesys.CapQueryConversations, err)
	}
	for id, cs := range convs {
		if len(cs) > 0 {
			liveID := owner[id]
			out[liveID] = fmt.Sprintf("conversation %s on contact %s", cs[0], id)
		}
	}
	if e.cfg.CheckCases {
		// One lookup per live contact, a few at a time.
		var mu sync.Mutex
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		for _, id := range slices.Sorted(maps.Keys(owner)) {
			if owner[id] != id {
				continue // ask once per live contact
			}
			g.Go(func() error {
				api := e.pick()
				cases, err := api.Cases.OpenCases(gctx, id)
				mu.Lock()
				defer mu.Unlock()
				*requests++
				if err != nil {
					return e.forbiddenOn(api, genesys.CapLookUpCases, err)
				}
				if len(cases) > 0 {
					out[id] = fmt.Sprintf("open case %s on contact %s", cases[0].ID, id)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// refuseRejected is the safety net under the review rules: it moves every
// group of groups that holds a cannot-link pair to failed, naming the pair,
// and returns the others. Review refuses to approve a group against a
// rejection, so such a group was approved before a steward rejected the
// pair (rejecting another group, or splitting one). A steward's decision is
// law: the merge waits for a person, who lifts the rejection and approves
// the group again (failed → approved), or leaves it failed. Failed rather
// than quarantined: a quarantine retries by itself, and time does not lift
// a rejection.
func (e *Engine) refuseRejected(ctx context.Context, groups []cm.Group) ([]cm.Group, error) {
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.Members...)
	}
	cs, err := e.store.Constraints(ctx, cm.ConstraintFilter{Kinds: []cm.ConstraintKind{cm.CannotLink}, Contacts: ids, Within: true})
	if err != nil || len(cs) == 0 {
		return groups, err
	}
	keep := groups[:0:0]
	for _, g := range groups {
		i := slices.IndexFunc(cs, func(c cm.PairConstraint) bool {
			return slices.Contains(g.Members, c.A) && slices.Contains(g.Members, c.B)
		})
		if i < 0 {
			keep = append(keep, g)
			continue
		}
		c := cs[i]
		lift := "plan unlink --cannot-link " + c.A + " " + c.B
		if c.GroupID != "" {
			lift = "plan unreject " + c.GroupID + " or " + lift
		}
		reason := fmt.Sprintf("refused: the group holds the pair %s (constraint #%d), recorded after the group was approved; "+
			"to merge it, lift the rejection (%s) and approve the group again", c, c.ID, lift)
		if g.CanonicalID != "" {
			reason += "; members merged into " + g.CanonicalID + " in earlier rounds stay merged"
		}
		_, err := e.transition(ctx, cm.Transition{
			GroupID: g.ID, From: []cm.GroupState{cm.StateApproved}, Version: g.Version, To: cm.StateFailed, Detail: reason,
			Update: func(g *cm.Group) { g.Reason = reason },
		})
		if err != nil && !cm.IsCode(err, cm.ECONFLICT) {
			return nil, err
		}
	}
	return keep, nil
}
