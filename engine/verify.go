package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// verify settles an in_flight or unknown group by reading the unresolved
// records of every contact the attempt could have consumed: if they now
// point (mergedTo) at one new contact, the merge happened; if none changed
// and the settle time has passed, it did not, and the group is ready again.
func (e *Engine) verify(ctx context.Context, g cm.Group, lease *cm.Lease) (Outcome, error) {
	rest, err := e.pending(ctx, g)
	if err != nil {
		return Outcome{}, err
	}
	ids := make([]string, 0, len(rest)+1)
	if g.CanonicalID != "" {
		ids = append(ids, g.CanonicalID)
	}
	for _, c := range rest {
		ids = append(ids, c.ID)
	}
	api := e.pick()
	results, _, err := api.Contacts.BulkGetUnresolved(ctx, ids)
	e.met.verifyRequests.Inc()
	if err != nil {
		e.met.verifications.WithLabelValues("read_failed").Inc()
		if errors.Is(err, genesys.ErrForbidden) {
			// No read can succeed with this client: stop the engine (the group
			// stays as it is), unless another client of the pool remains.
			if ferr := e.forbiddenOn(api, genesys.CapReadContacts, err); errors.Is(ferr, ErrForbidden) {
				return Outcome{State: g.State}, ferr
			}
			return Outcome{State: g.State, RetryIn: 2 * time.Second}, nil // another client of the pool reads
		}
		return Outcome{State: g.State, RetryIn: 2 * time.Second}, nil // try again shortly
	}
	v := classifyReads(results)
	e.met.verifications.WithLabelValues(verifyOutcome(v.kind)).Inc()
	switch v.kind {
	case readNotApplied:
		return e.notApplied(ctx, g, lease, len(rest))
	case readApplied:
		fresh, _, err := api.Contacts.BulkGet(ctx, []string{v.target})
		if err != nil || len(fresh) != 1 || fresh[0].Entity == nil {
			return Outcome{State: g.State, RetryIn: 2 * time.Second}, nil
		}
		result := fresh[0].Entity
		final := len(rest) == len(v.inputs)-boolInt(g.CanonicalID != "" && slices.Contains(v.inputs, g.CanonicalID))
		note := cm.LedgerEvent{Kind: cm.LedgerNote, GroupID: g.ID, CanonicalID: result.ID, Attempt: g.Attempts, IdempotencyKey: g.IdempotencyKey,
			Request: verifiedSummary(v.inputs),
			Detail:  fmt.Sprintf("verified: the merge was applied (inputs %s now point to %s)", strings.Join(v.inputs, ","), v.target)}
		return e.recordMerged(ctx, g, lease, v.inputs, result, final, []cm.LedgerEvent{note}, "verified merged")
	default: // readAnomaly
		reason := fmt.Sprintf("anomaly: members were merged into different contacts %v; nothing more is sent", v.targets) + partialNote(g, len(rest))
		err := e.settle(ctx, g, lease, cm.StateFailed, reason)
		e.met.anomalies.Inc()
		return Outcome{State: cm.StateFailed}, ignoreConflict(err)
	}
}

// notApplied settles a group whose last attempt changed nothing on the
// platform. Until VerifySettle has passed it waits (a merge may still
// complete in the background after a gateway timeout); then the group is
// ready again, or failed once its request used maxAttempts. pending is the
// number of members not merged yet.
func (e *Engine) notApplied(ctx context.Context, g cm.Group, lease *cm.Lease, pending int) (Outcome, error) {
	age := e.cfg.Now().Sub(g.UpdatedAt)
	if age < e.cfg.VerifySettle {
		if g.State == cm.StateInFlight { // found after a crash
			if err := e.settle(ctx, g, lease, cm.StateUnknown, "found in flight after a restart; verifying"); err != nil {
				return Outcome{}, ignoreConflict(err)
			}
		}
		return Outcome{State: cm.StateUnknown, RetryIn: e.cfg.VerifySettle - age}, nil
	}
	if g.Attempts >= maxAttempts {
		reason := fmt.Sprintf("gave up after %d attempts of one merge request whose outcome was unknown and verified not applied", g.Attempts) +
			partialNote(g, pending)
		if g.CanonicalID != "" {
			reason += "; approving the group again continues from " + g.CanonicalID
		}
		return Outcome{State: cm.StateFailed}, ignoreConflict(e.settle(ctx, g, lease, cm.StateFailed, reason))
	}
	err := e.settle(ctx, g, lease, cm.StateReady, fmt.Sprintf("verified: not applied (no member changed in %s)", age.Round(time.Second)))
	return Outcome{State: cm.StateReady, again: true}, ignoreConflict(err)
}

// bisect handles a 409: the platform refused the whole merge because some
// member is busy, without saying which. The group is split into two halves
// that share the survivor (so that they end as one contact) and are retried
// independently; a pair that still conflicts is quarantined. A single busy
// member is isolated in O(log n) requests.
func (e *Engine) bisect(ctx context.Context, g cm.Group, lease *cm.Lease, rest []cm.Contact, api cm.LedgerEvent, err error) (Outcome, error) {
	msg := "409 conflict"
	var apiErr *genesys.APIError
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		msg += ": " + apiErr.Message
	}
	if g.CanonicalID != "" || len(rest) <= 2 {
		// Nothing to halve: quarantine; preflight re-plans and re-checks
		// activity when it comes back.
		state, err := e.quarantine(ctx, g, lease, quarantineArgs{
			why: "conflict: " + msg, now: e.cfg.Now(), pending: len(rest), events: []cm.LedgerEvent{api},
		})
		return Outcome{State: state}, ignoreConflict(err)
	}
	k := (len(rest) + 1) / 2
	a := rest[:k]
	b := append([]cm.Contact{rest[0]}, rest[k:]...)
	children := []cm.Group{e.replan(g, g.SurvivorID, a), e.replan(g, g.SurvivorID, b)}
	for i := range children {
		children[i].State = cm.StateReady
		children[i].Reason = "bisected after " + msg
	}
	_, err = e.transition(ctx, cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{cm.StateInFlight}, To: cm.StateSplit, Lease: lease,
		Detail:   fmt.Sprintf("%s; bisected into %s (%d) and %s (%d)", msg, children[0].ID, len(a), children[1].ID, len(b)),
		Update:   func(g *cm.Group) { g.Reason = "bisected after " + msg },
		Children: children, Events: []cm.LedgerEvent{api},
	})
	if err != nil {
		return Outcome{}, ignoreConflict(err)
	}
	e.met.bisections.Inc()
	return Outcome{State: cm.StateSplit, Enqueue: []string{children[0].ID, children[1].ID}}, nil
}
