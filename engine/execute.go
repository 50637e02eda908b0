package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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

	// again is internal to Execute: the step left the group in a state
	// Execute drives on at once (a round recorded with more to go, an
	// attempt verified as not applied). Execute never returns it set.
	again bool
}

const mergeRoute = "POST /api/v2/externalcontacts/contacts/merge"

// maxAttempts bounds the attempts of one merge request (one round of a
// group) whose outcomes were ambiguous and verified as not applied. Each
// round has its own idempotency key and counts its attempts afresh.
const maxAttempts = 6

// maxSteps bounds the rounds and verify→submit steps of one Execute call.
const maxSteps = 64

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
		e.met.leaseConflicts.Inc()
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

	for range maxSteps {
		if g, err = e.store.Group(ctx, groupID); err != nil {
			return Outcome{}, err
		}
		if !slices.Equal(lockSet(g), lockIDs) {
			return Outcome{State: g.State, RetryIn: time.Millisecond}, nil // canonical changed: re-lock
		}
		var out Outcome
		switch g.State {
		case cm.StateInFlight, cm.StateUnknown:
			out, err = e.verify(ctx, g, lease)
		case cm.StateReady:
			out, err = e.submit(ctx, g, lease)
		default:
			return Outcome{State: g.State}, nil
		}
		if err != nil || !out.again {
			out.again = false
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
// survivor first.
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

// round is one merge request of a group.
type round struct {
	ids     []string     // contactIds: the previous round's canonical contact, then pending members
	inputs  []cm.Contact // their snapshot records, for the before-images
	final   bool         // the last round: it carries the valueOverride
	key     string       // idempotency key of this request
	attempt int          // this attempt's number among the request's attempts
}

// nextRound builds the next merge request of g from its pending members.
func (e *Engine) nextRound(ctx context.Context, g cm.Group, rest []cm.Contact) (round, error) {
	var r round
	if g.CanonicalID != "" {
		canon, err := e.store.Contacts(ctx, []string{g.CanonicalID})
		if err != nil {
			return r, err
		}
		if c, ok := canon[g.CanonicalID]; ok {
			r.inputs = append(r.inputs, c)
		}
		r.ids = append(r.ids, g.CanonicalID)
	}
	for _, c := range rest {
		if len(r.ids) == e.cfg.MaxPerRequest {
			break
		}
		r.inputs = append(r.inputs, c)
		r.ids = append(r.ids, c.ID)
	}
	r.final = len(rest) <= len(r.ids)-boolInt(g.CanonicalID != "")
	r.key = cm.IdempotencyKey(r.ids, g.PlanVersion)
	// Attempts count per request: a new round (new inputs, new key) starts
	// at 1, a repeat of the same request continues the count.
	r.attempt = 1
	if r.key == g.IdempotencyKey {
		r.attempt = g.Attempts + 1
	}
	return r, nil
}

// submit sends the next merge round of a ready group: build the request,
// commit the intent, send, classify the answer, settle the group.
func (e *Engine) submit(ctx context.Context, g cm.Group, lease *cm.Lease) (Outcome, error) {
	rest, err := e.pending(ctx, g)
	if err != nil {
		return Outcome{}, err
	}
	if g.CanonicalID == "" && len(rest) < len(g.Members) {
		// A member left the snapshot without this group merging it (an
		// overlapping group merged it, or a sibling of a bisection): the
		// plan is stale. Preflight re-plans it on fresh data.
		_, err := e.transition(ctx, cm.Transition{
			GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, To: cm.StateApproved, Lease: lease,
			Detail: "a member changed since preflight; re-checking",
		})
		return Outcome{State: cm.StateApproved, Enqueue: []string{g.ID}}, ignoreConflict(err)
	}
	if g.CanonicalID != "" && len(rest) == 0 {
		_, err := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, To: cm.StateMerged, Lease: lease, Detail: "all rounds done"})
		return Outcome{State: cm.StateMerged}, ignoreConflict(err)
	}
	r, err := e.nextRound(ctx, g, rest)
	if err != nil {
		return Outcome{}, err
	}
	if len(r.ids) < 2 {
		reason := "fewer than two contacts left to merge"
		_, err := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, To: cm.StateDropped, Lease: lease,
			Detail: reason, Update: func(g *cm.Group) { g.Reason = reason }})
		return Outcome{State: cm.StateDropped}, ignoreConflict(err)
	}

	// A 403 stopped the engine: send nothing more (the group stays ready).
	if err := e.halted.Err(); err != nil {
		return Outcome{State: cm.StateReady}, err
	}
	// Intent first: after a crash from here on the group is verified
	// before anything is sent again.
	g, err = e.transition(ctx, cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, Version: g.Version, To: cm.StateInFlight, Lease: lease,
		Detail: fmt.Sprintf("submit merge of %d contacts (attempt %d, key %s)", len(r.ids), r.attempt, r.key),
		Update: func(g *cm.Group) { g.Attempts, g.IdempotencyKey = r.attempt, r.key },
	})
	if err != nil {
		return Outcome{}, ignoreConflict(err)
	}

	req := &genesys.MergeRequest{ContactIDs: r.ids}
	if r.final {
		req.ValueOverride = g.Merged
	}
	started := e.cfg.Now()
	client := e.pick()
	result, resp, err := client.Contacts.Merge(ctx, req)
	if err == nil && (result == nil || result.ID == "") {
		// Applied, but the answer does not say into what: verify.
		err = fmt.Errorf("%w: the merge answered without a contact id", genesys.ErrMalformedResponse)
	}
	api := cm.LedgerEvent{
		Kind: cm.LedgerAPI, GroupID: g.ID, Attempt: r.attempt, IdempotencyKey: r.key,
		Request:      mergeSummary(r.ids, req.ValueOverride != nil),
		BeforeImages: beforeImages(r.inputs), Unkept: g.Unkept,
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

	v := classifyMerge(err, r.attempt)
	e.met.merges.WithLabelValues(v.kind.String()).Inc()
	switch v.kind {
	case mergeApplied:
		api.CanonicalID = result.ID
		return e.recordMerged(ctx, g, lease, r.ids, result, r.final, []cm.LedgerEvent{api}, "merged")
	case mergeConflict:
		return e.bisect(ctx, g, lease, rest, api, err)
	case mergeThrottled:
		err := e.settle(ctx, g, lease, cm.StateReady, "throttled (429): not applied; retry after "+v.wait.String(), api)
		return Outcome{State: cm.StateReady, RetryIn: v.wait}, err
	case mergeAmbiguous:
		// The platform may have applied the merge (a 504 whose merge goes on
		// in the background, a reset after the request was written) — or an
		// earlier ambiguous attempt did, which makes this one fail. Verify,
		// at once unless the verdict asks for a pause.
		err := e.settle(ctx, g, lease, cm.StateUnknown, "outcome unknown: "+shorten(err), api)
		return Outcome{State: cm.StateUnknown, RetryIn: v.wait, again: err == nil && v.wait == 0}, err
	case mergeForbidden:
		// The OAuth client lacks the merge permission (403, not applied):
		// no merge can succeed, so this is no failure of the group. It goes
		// back to ready and the engine stops (Run returns ErrForbidden).
		ferr := e.forbiddenOn(client, genesys.CapMergeContacts, err)
		if !errors.Is(ferr, ErrForbidden) {
			// A pool client lacks the permission, others remain: they merge.
			err := e.settle(ctx, g, lease, cm.StateReady, "not applied: forbidden (403) for one OAuth client of the pool; another one retries: "+shorten(ferr), api)
			return Outcome{State: cm.StateReady, RetryIn: time.Second}, err
		}
		if err := e.settle(ctx, g, lease, cm.StateReady, "not applied: forbidden (403); the run stops: "+shorten(ferr), api); err != nil {
			return Outcome{}, err
		}
		return Outcome{State: cm.StateReady}, ferr
	case mergeStale:
		// A member vanished since preflight (a 404, or a 422 naming a
		// contact not found) or the token was refused (401, not applied):
		// back to preflight.
		if err := e.settle(ctx, g, lease, cm.StateReady, "not applied: "+shorten(err), api); err != nil {
			return Outcome{}, err
		}
		_, err := e.transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateReady}, To: cm.StateApproved, Lease: lease,
			Detail: "re-checking the members"})
		return Outcome{State: cm.StateApproved, Enqueue: []string{g.ID}}, err
	default: // mergeRefused
		reason := "the platform refused the merge: " + shorten(err) + partialNote(g, len(rest))
		return Outcome{State: cm.StateFailed}, e.settle(ctx, g, lease, cm.StateFailed, reason, api)
	}
}

// settle records what an attempt came to: g leaves its state (in_flight
// after submit, in_flight or unknown in verify) for to, with detail as the
// ledger's transition detail and, for failed, as the group's reason, and
// events recorded with it. It returns the store's error as is.
func (e *Engine) settle(ctx context.Context, g cm.Group, lease *cm.Lease, to cm.GroupState, detail string, events ...cm.LedgerEvent) error {
	t := cm.Transition{GroupID: g.ID, From: []cm.GroupState{g.State}, To: to, Lease: lease, Detail: detail, Events: events}
	if to == cm.StateFailed {
		t.Update = func(g *cm.Group) { g.Reason = detail }
	}
	_, err := e.transition(ctx, t)
	return err
}

// recordMerged records a completed round: the inputs leave the snapshot, the
// result enters it, and the group is merged (last round) or ready (more).
func (e *Engine) recordMerged(ctx context.Context, g cm.Group, lease *cm.Lease, inputs []string, result *cm.Contact,
	final bool, events []cm.LedgerEvent, how string) (Outcome, error) {
	to := cm.StateReady
	if final {
		to = cm.StateMerged
		e.met.groupsMerged.Inc()
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
		return Outcome{}, err
	}
	return Outcome{State: to, again: !final}, nil
}

// beforeImages encodes the contacts a merge consumes for the ledger.
func beforeImages(cs []cm.Contact) json.RawMessage {
	b, err := json.Marshal(cs)
	if err != nil {
		return nil
	}
	return b
}

// partialNote says, for a group part-way through its rounds, how far the
// platform got: "" when no round was applied yet. pending is the number of
// members not merged yet.
func partialNote(g cm.Group, pending int) string {
	if g.CanonicalID == "" {
		return ""
	}
	return fmt.Sprintf("; %d of %d members are already one contact %s (earlier rounds were applied), %d not merged yet",
		len(g.Members)-pending, len(g.Members), g.CanonicalID, pending)
}

// shortenRunes is the longest error text shorten keeps.
const shortenRunes = 300

// shorten returns err's text for the ledger, cut to shortenRunes runes
// (the genesys client already keeps secrets out of its errors).
func shorten(err error) string {
	s := err.Error()
	if utf8.RuneCountInString(s) <= shortenRunes {
		return s
	}
	return string([]rune(s)[:shortenRunes]) + "…"
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
