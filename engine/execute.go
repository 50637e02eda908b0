package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// Outcome is the result of one Execute call.
type Outcome struct {
	State cm.GroupState // the group's state afterwards
	// RetryIn > 0 asks the caller to call Execute again after this delay
	// (lease held elsewhere, outcome still settling, rate limited).
	RetryIn time.Duration
	// Enqueue lists groups that became runnable (children of a split or of
	// a re-plan) and need a preflight or a merge job.
	Enqueue []string
}

const mergeRoute = "POST /api/v2/externalcontacts/contacts/merge"

// maxAttempts bounds the merge attempts of one round whose outcomes were
// ambiguous and verified as not applied.
const maxAttempts = 6

// Execute drives one group towards a known state: it takes leases on its
// members, verifies any earlier ambiguous attempt, commits the intent
// (in_flight, attempt, idempotency key) and only then sends the merge
// request, and records the outcome with its ledger rows in one transaction.
// Groups larger than MaxPerRequest merge in rounds: each round's inputs are
// the canonical contact of the previous round plus the next members.
func (e *Engine) Execute(ctx context.Context, groupID string) (Outcome, error) {
	g, err := e.store.Group(ctx, groupID)
	if err != nil {
		return Outcome{}, err
	}
	if !slices.Contains([]cm.GroupState{cm.StateReady, cm.StateInFlight, cm.StateUnknown}, g.State) {
		return Outcome{State: g.State}, nil
	}
	if err := e.aimd.Acquire(ctx); err != nil {
		return Outcome{}, err
	}
	defer e.aimd.Release()

	// Each execution holds its leases under its own name: leases are
	// re-entrant per owner, and two jobs of one process must exclude each
	// other as much as two processes do.
	owner := fmt.Sprintf("%s#%d", e.cfg.Owner, e.execSeq.Add(1))
	lockIDs := lockSet(g)
	token, err := e.store.AcquireLeases(ctx, owner, lockIDs, e.cfg.LeaseTTL)
	if cm.IsCode(err, cm.ECONFLICT) {
		e.met.Add("contactmerge_lease_conflicts_total", 1)
		return Outcome{State: g.State, RetryIn: time.Second}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	defer func() {
		// Release with a fresh context: the job's may be cancelled.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := e.store.ReleaseLeases(rctx, owner, lockIDs); err != nil {
			e.log.Warn("release leases", "group", groupID, "err", err)
		}
	}()
	lease := &cm.Lease{Owner: owner, Token: token}

	for range 64 { // rounds and verify→submit steps; bounded for safety
		if g, err = e.store.Group(ctx, groupID); err != nil {
			return Outcome{}, err
		}
		if !slices.Equal(lockSet(g), lockIDs) {
			return Outcome{State: g.State, RetryIn: time.Millisecond}, nil // canonical changed: re-lock
		}
		var out Outcome
		var done bool
		switch g.State {
		case cm.StateInFlight, cm.StateUnknown:
			out, done, err = e.verify(ctx, g, lease)
		case cm.StateReady:
			out, done, err = e.submit(ctx, g, lease)
		default:
			return Outcome{State: g.State}, nil
		}
		if err != nil || done {
			return out, err
		}
	}
	return Outcome{State: g.State, RetryIn: time.Second}, nil
}

// lockSet is the ids a worker leases for g: its members and its canonical
// contact from earlier rounds.
func lockSet(g cm.Group) []string {
	ids := slices.Clone(g.Members)
	if g.CanonicalID != "" {
		ids = append(ids, g.CanonicalID)
	}
	return cm.SortedIDs(ids)
}

// pending returns the members not yet merged (still in the snapshot), the
// survivor first, and whether any member vanished without this group
// merging it.
func (e *Engine) pending(ctx context.Context, g cm.Group) ([]cm.Contact, error) {
	snap, err := e.store.Contacts(ctx, g.Members)
	if err != nil {
		return nil, err
	}
	var out []cm.Contact
	for _, id := range g.Members {
		if c, ok := snap[id]; ok && id != g.CanonicalID {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b cm.Contact) int {
		switch {
		case a.ID == g.SurvivorID:
			return -1
		case b.ID == g.SurvivorID:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// submit sends the next merge round of a ready group.
func (e *Engine) submit(ctx context.Context, g cm.Group, lease *cm.Lease) (Outcome, bool, error) {
	rest, err := e.pending(ctx, g)
	if err != nil {
		return Outcome{}, true, err
	}
	if g.CanonicalID == "" && len(rest) < len(g.Members) {
		// A member left the snapshot without this group merging it (an
		// overlapping group merged it, or a sibling of a bisection): the
		// plan is stale. Preflight re-plans it on fresh data.
		_, err := e.transition(ctx, cm.Transition{
			GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, To: cm.StateApproved, Lease: lease,
			Detail: "a member changed since preflight; re-checking",
		})
		return Outcome{State: cm.StateApproved, Enqueue: []string{g.ID}}, true, ignoreConflict(err)
	}
	if g.CanonicalID != "" && len(rest) == 0 {
		_, err := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, To: cm.StateMerged, Lease: lease, Detail: "all rounds done"})
		return Outcome{State: cm.StateMerged}, true, ignoreConflict(err)
	}

	var inputs []cm.Contact
	var ids []string
	if g.CanonicalID != "" {
		canon, err := e.store.Contacts(ctx, []string{g.CanonicalID})
		if err != nil {
			return Outcome{}, true, err
		}
		if c, ok := canon[g.CanonicalID]; ok {
			inputs = append(inputs, c)
		}
		ids = append(ids, g.CanonicalID)
	}
	for _, c := range rest {
		if len(ids) == e.cfg.MaxPerRequest {
			break
		}
		inputs = append(inputs, c)
		ids = append(ids, c.ID)
	}
	if len(ids) < 2 {
		reason := "fewer than two contacts left to merge"
		_, err := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, To: cm.StateDropped, Lease: lease,
			Detail: reason, Update: func(g *cm.Group) { g.Reason = reason }})
		return Outcome{State: cm.StateDropped}, true, ignoreConflict(err)
	}
	final := len(rest) <= len(ids)-boolInt(g.CanonicalID != "")
	key := cm.IdempotencyKey(ids, g.PlanVersion)
	attempt := g.Attempts + 1

	// Intent first: after a crash from here on the group is verified
	// before anything is sent again.
	if _, err := e.transition(ctx, cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, Version: g.Version, To: cm.StateInFlight, Lease: lease,
		Detail: fmt.Sprintf("submit merge of %d contacts (attempt %d, key %s)", len(ids), attempt, key),
		Update: func(g *cm.Group) { g.Attempts, g.IdempotencyKey = attempt, key },
	}); err != nil {
		return Outcome{}, true, ignoreConflict(err)
	}

	req := &genesys.MergeRequest{ContactIDs: ids}
	if final {
		req.ValueOverride = g.Merged
	}
	started := e.cfg.Now()
	result, resp, err := e.api.Contacts.Merge(ctx, req)
	e.met.Add("contactmerge_merge_requests_total", 1)
	api := cm.LedgerEvent{
		Kind: cm.LedgerAPI, GroupID: g.ID, Attempt: attempt, IdempotencyKey: key,
		Request:      fmt.Sprintf("%s contactIds=%s valueOverride=%t", mergeRoute, strings.Join(ids, ","), req.ValueOverride != nil),
		BeforeImages: beforeImages(inputs), Unkept: g.Unkept,
		Detail: fmt.Sprintf("took %s", e.cfg.Now().Sub(started).Round(time.Millisecond)),
	}
	if resp != nil {
		api.Status, api.CorrelationID = resp.StatusCode, resp.CorrelationID
	}
	var apiErr *genesys.APIError
	if errors.As(err, &apiErr) {
		api.Status, api.CorrelationID = apiErr.Status, apiErr.CorrelationID
		api.Detail += "; " + apiErr.Message
	}
	// The outcome must be recorded even if the job's context ends now.
	ctx = context.WithoutCancel(ctx)

	switch {
	case err == nil && result != nil:
		api.CanonicalID = result.ID
		return e.recordMerged(ctx, g, lease, ids, result, final, []cm.LedgerEvent{api}, "merged")

	case err != nil && isStatus(err, http.StatusConflict):
		return e.bisect(ctx, g, lease, rest, api, apiErr)

	case err != nil && isStatus(err, http.StatusTooManyRequests):
		var rl *genesys.RateLimitError
		wait := 5 * time.Second
		if errors.As(err, &rl) && rl.RetryAfter > 0 {
			wait = rl.RetryAfter
		}
		_, terr := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight}, To: cm.StateReady, Lease: lease,
			Detail: "throttled (429): not applied; retry after " + wait.String(), Events: []cm.LedgerEvent{api}})
		return Outcome{State: cm.StateReady, RetryIn: wait}, true, terr

	case err != nil && (genesys.IsAmbiguous(err) || attempt > 1 && isClientError(err)):
		// The platform may have applied the merge (a 504 whose merge goes on
		// in the background, a reset after the request was written) — or an
		// earlier ambiguous attempt did, which makes this one fail. Verify.
		_, terr := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight}, To: cm.StateUnknown, Lease: lease,
			Detail: "outcome unknown: " + scrub(err), Events: []cm.LedgerEvent{api}})
		return Outcome{State: cm.StateUnknown}, terr != nil, terr

	case err != nil && (isStatus(err, http.StatusNotFound) || isStatus(err, http.StatusUnauthorized)):
		// A member vanished since preflight (404) or the token was refused
		// (401, not applied): back to preflight.
		_, terr := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight}, To: cm.StateReady, Lease: lease,
			Detail: "not applied: " + scrub(err), Events: []cm.LedgerEvent{api}})
		if terr != nil {
			return Outcome{}, true, terr
		}
		_, terr = e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, To: cm.StateApproved, Lease: lease,
			Detail: "re-checking the members"})
		return Outcome{State: cm.StateApproved, Enqueue: []string{g.ID}}, true, terr

	case err != nil && isClientError(err):
		reason := "the platform refused the merge: " + scrub(err)
		_, terr := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight}, To: cm.StateFailed, Lease: lease,
			Detail: reason, Update: func(g *cm.Group) { g.Reason = reason }, Events: []cm.LedgerEvent{api}})
		return Outcome{State: cm.StateFailed}, true, terr

	default: // context cancelled mid-request, or an error of unknown kind: treat as ambiguous
		_, terr := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight}, To: cm.StateUnknown, Lease: lease,
			Detail: "outcome unknown: " + scrub(err), Events: []cm.LedgerEvent{api}})
		return Outcome{State: cm.StateUnknown, RetryIn: time.Second}, true, terr
	}
}

// recordMerged records a completed round: the inputs leave the snapshot, the
// result enters it, and the group is merged (last round) or ready (more).
func (e *Engine) recordMerged(ctx context.Context, g cm.Group, lease *cm.Lease, inputs []string, result *cm.Contact,
	final bool, events []cm.LedgerEvent, how string) (Outcome, bool, error) {
	to := cm.StateReady
	if final {
		to = cm.StateMerged
		e.met.Add("contactmerge_groups_merged_total", 1)
	}
	upsert := []cm.Contact{*result}
	del := slices.DeleteFunc(slices.Clone(inputs), func(id string) bool { return id == result.ID })
	_, err := e.transition(ctx, cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight, cm.StateUnknown}, To: to, Lease: lease,
		Detail: fmt.Sprintf("%s: %d contacts → %s", how, len(inputs), result.ID),
		Update: func(g *cm.Group) { g.CanonicalID, g.Reason = result.ID, "" },
		Events: events, UpsertContacts: upsert, DeleteContacts: del,
	})
	if err != nil {
		return Outcome{}, true, err
	}
	return Outcome{State: to}, final, nil
}

// verify settles an in_flight or unknown group by reading the unresolved
// records of every contact the attempt could have consumed: if they now
// point (mergedTo) at one new contact, the merge happened; if none changed
// and the settle time has passed, it did not, and the group is ready again.
func (e *Engine) verify(ctx context.Context, g cm.Group, lease *cm.Lease) (Outcome, bool, error) {
	rest, err := e.pending(ctx, g)
	if err != nil {
		return Outcome{}, true, err
	}
	ids := make([]string, 0, len(rest)+1)
	if g.CanonicalID != "" {
		ids = append(ids, g.CanonicalID)
	}
	for _, c := range rest {
		ids = append(ids, c.ID)
	}
	results, _, err := e.api.Contacts.BulkGetUnresolved(ctx, ids)
	e.met.Add("contactmerge_verify_requests_total", 1)
	if err != nil {
		return Outcome{State: g.State, RetryIn: 2 * time.Second}, true, nil // try again shortly
	}
	targets := map[string][]string{}
	for _, r := range results {
		if r.Success && r.Entity != nil && r.Entity.IsMerged() {
			targets[r.Entity.MergedTo.ID] = append(targets[r.Entity.MergedTo.ID], r.ID)
		}
	}
	switch len(targets) {
	case 0:
		age := e.cfg.Now().Sub(g.UpdatedAt)
		if age < e.cfg.VerifySettle {
			if g.State == cm.StateInFlight { // found after a crash
				_, err := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight}, To: cm.StateUnknown, Lease: lease,
					Detail: "found in flight after a restart; verifying"})
				if err != nil {
					return Outcome{}, true, ignoreConflict(err)
				}
			}
			return Outcome{State: cm.StateUnknown, RetryIn: e.cfg.VerifySettle - age}, true, nil
		}
		if g.Attempts >= maxAttempts {
			reason := fmt.Sprintf("gave up after %d attempts whose outcome was unknown and not applied", g.Attempts)
			_, err := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight, cm.StateUnknown}, To: cm.StateFailed, Lease: lease,
				Detail: reason, Update: func(g *cm.Group) { g.Reason = reason }})
			return Outcome{State: cm.StateFailed}, true, ignoreConflict(err)
		}
		_, err := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight, cm.StateUnknown}, To: cm.StateReady, Lease: lease,
			Detail: fmt.Sprintf("verified: not applied (no member changed in %s)", age.Round(time.Second))})
		return Outcome{State: cm.StateReady}, false, ignoreConflict(err)
	case 1:
		var target string
		var inputs []string
		for t, in := range targets {
			target, inputs = t, in
		}
		fresh, _, err := e.api.Contacts.BulkGet(ctx, []string{target})
		if err != nil || len(fresh) != 1 || fresh[0].Entity == nil {
			return Outcome{State: g.State, RetryIn: 2 * time.Second}, true, nil
		}
		result := fresh[0].Entity
		final := len(rest) == len(inputs)-boolInt(g.CanonicalID != "" && slices.Contains(inputs, g.CanonicalID))
		note := cm.LedgerEvent{Kind: cm.LedgerNote, GroupID: g.ID, CanonicalID: result.ID, Attempt: g.Attempts, IdempotencyKey: g.IdempotencyKey,
			Detail: fmt.Sprintf("verified: the merge was applied (inputs %s now point to %s)", strings.Join(inputs, ","), target)}
		return e.recordMerged(ctx, g, lease, inputs, result, final, []cm.LedgerEvent{note}, "verified merged")
	default:
		reason := fmt.Sprintf("anomaly: members were merged into different contacts %v; nothing more is sent", targets)
		_, err := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight, cm.StateUnknown}, To: cm.StateFailed, Lease: lease,
			Detail: reason, Update: func(g *cm.Group) { g.Reason = reason }})
		e.met.Add("contactmerge_anomalies_total", 1)
		return Outcome{State: cm.StateFailed}, true, ignoreConflict(err)
	}
}

// bisect handles a 409: the platform refused the whole merge because some
// member is busy, without saying which. The group is split into two halves
// that share the survivor (so that they end as one contact) and are retried
// independently; a pair that still conflicts is quarantined. A single busy
// member is isolated in O(log n) requests.
func (e *Engine) bisect(ctx context.Context, g cm.Group, lease *cm.Lease, rest []cm.Contact, api cm.LedgerEvent,
	apiErr *genesys.APIError) (Outcome, bool, error) {
	msg := "409 conflict"
	if apiErr != nil && apiErr.Message != "" {
		msg += ": " + apiErr.Message
	}
	if g.CanonicalID != "" || len(rest) <= 2 {
		// Nothing to halve: quarantine; preflight re-plans and re-checks
		// activity when it comes back.
		_, err := e.quarantine(ctx, g, cm.StateInFlight, lease, "conflict: "+msg, e.cfg.Now(), nil, nil, api)
		return Outcome{State: cm.StateQuarantined}, true, ignoreConflict(err)
	}
	k := (len(rest) + 1) / 2
	a := rest[:k]
	b := append([]cm.Contact{rest[0]}, rest[k:]...)
	children := []cm.Group{e.plan(g, g.SurvivorID, a), e.plan(g, g.SurvivorID, b)}
	for i := range children {
		children[i].State = cm.StateReady
		children[i].Reason = "bisected after " + msg
	}
	_, err := e.transition(ctx, cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight}, To: cm.StateSplit, Lease: lease,
		Detail:   fmt.Sprintf("%s; bisected into %s (%d) and %s (%d)", msg, children[0].ID, len(a), children[1].ID, len(b)),
		Update:   func(g *cm.Group) { g.Reason = "bisected after " + msg },
		Children: children, Events: []cm.LedgerEvent{api},
	})
	if err != nil {
		return Outcome{}, true, ignoreConflict(err)
	}
	e.met.Add("contactmerge_bisections_total", 1)
	return Outcome{State: cm.StateSplit, Enqueue: []string{children[0].ID, children[1].ID}}, true, nil
}

func isStatus(err error, status int) bool {
	var ae *genesys.APIError
	if errors.As(err, &ae) {
		return ae.Status == status
	}
	var rl *genesys.RateLimitError
	return errors.As(err, &rl) && status == http.StatusTooManyRequests
}

func isClientError(err error) bool {
	var ae *genesys.APIError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500
}

func ignoreConflict(err error) error {
	if cm.IsCode(err, cm.ECONFLICT) {
		return nil
	}
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scrub shortens an error for the ledger (the genesys client already keeps
// secrets out of its errors).
func scrub(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
