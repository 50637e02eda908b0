package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// Limits of one Execute.
const (
	// maxCreateAttempts bounds the creates of one member whose outcomes
	// were unknown and verified as not applied.
	maxCreateAttempts = 6
	// maxUpdateAttempts bounds the updates of the canonical contact (409s
	// and unknown outcomes, each followed by a fresh read).
	maxUpdateAttempts = 8
	// maxLookupFailures bounds the failed marker lookups of one create
	// whose outcome is unknown.
	maxLookupFailures = 10
	// retryPause is the pause before a request is tried again after an
	// answer that says nothing was applied, or after a failed read.
	retryPause = 500 * time.Millisecond
)

// Restored is one member a restore gave back.
type Restored struct {
	Member     string `json:"memberId"`
	RestoredID string `json:"restoredId"`
	// Resumed: an earlier, interrupted restore had created it.
	Resumed bool `json:"resumed,omitempty"`
}

// Result is what Execute did.
type Result struct {
	GroupID     string     `json:"groupId"`
	CanonicalID string     `json:"canonicalId"`
	Restored    []Restored `json:"restored"`
	Removed     []Removal  `json:"removed"`
	// LeftAlone are fields edited since the merge, not changed.
	LeftAlone  []Conflict `json:"leftAlone,omitempty"`
	CannotLink []cm.Pair  `json:"cannotLink"`
	Requests   int        `json:"requests"`
}

// Execute carries out p (see the package documentation): under leases on
// the group's contacts, it creates each member's contact exactly once,
// then updates the canonical contact, then records the cannot-links and
// the members' done rows. An interrupted Execute is resumed by planning
// and executing the same restore again.
func (r *Restorer) Execute(ctx context.Context, p *Plan) (*Result, error) {
	g := p.group
	ids := cm.SortedIDs(append(slices.Clone(g.Members), g.CanonicalID, p.CanonicalID))
	if err := r.lease(ctx, g.ID, ids); err != nil {
		return nil, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.st.ReleaseLeases(rctx, r.cfg.Owner, ids); err != nil {
			r.cfg.Logger.Warn("restore: release leases", "group", g.ID, "err", err)
		}
	}()
	res := &Result{GroupID: g.ID, CanonicalID: p.CanonicalID}
	if slices.ContainsFunc(p.Members, func(m Member) bool { return m.RestoredID == "" }) {
		// A client that may create but not edit would leave a restored copy
		// beside a canonical contact that still holds its values: stop
		// before the first create.
		n, err := r.checkEdit(ctx)
		res.Requests += n
		if err != nil {
			return res, err
		}
	}
	for _, m := range p.Members {
		id, resumed, n, err := r.create(ctx, g, m)
		res.Requests += n
		if err != nil {
			return res, err
		}
		res.Restored = append(res.Restored, Restored{Member: m.ID, RestoredID: id, Resumed: resumed})
	}
	canon, removed, left, n, err := r.update(ctx, p)
	res.Requests += n
	if err != nil {
		return res, err
	}
	res.CanonicalID, res.Removed, res.LeftAlone = canon.ID, removed, left
	ctx = context.WithoutCancel(ctx) // the restore is done on the platform: record it
	// A restore that ran meanwhile (it held the leases first) may have
	// finished members of this plan: their done rows are written once.
	h, err := readHistory(ctx, r.st, g.ID)
	if err != nil {
		return res, err
	}
	for _, rm := range res.Restored {
		if h.member(rm.Member).done {
			continue
		}
		pairs, err := r.finish(ctx, g, p, rm, canon.ID)
		if err != nil {
			return res, err
		}
		res.CannotLink = append(res.CannotLink, pairs...)
	}
	return res, nil
}

// probeID is a contact id no organization holds.
const probeID = "00000000-0000-0000-0000-000000000000"

// checkEdit checks that the client may edit contacts, with an update of a
// contact that does not exist (which changes nothing: a 404, or a 400 for
// the empty body, once past authorization): a 403 is the
// *genesys.PermissionError naming externalContacts:contact:edit. A probe
// that gets no verdict (5xx, network) is not a refusal: the update's own
// 403 would stop the restore later, after the creates, which a second run
// finishes.
func (r *Restorer) checkEdit(ctx context.Context) (int, error) {
	_, _, err := r.api.Contacts.UpdateContact(ctx, probeID, &cm.Contact{})
	if errors.Is(err, genesys.ErrForbidden) {
		return 1, fmt.Errorf("restore: nothing was sent: %w", err)
	}
	return 1, nil
}

// lease takes the leases of ids. Leases held by another process (a
// concurrent restore, or one that was killed) are waited for, until they
// expire: at most LeaseTTL and a second.
func (r *Restorer) lease(ctx context.Context, group string, ids []string) error {
	deadline := r.cfg.Now().Add(r.cfg.LeaseTTL + time.Second)
	logged := false
	for {
		_, err := r.st.AcquireLeases(ctx, r.cfg.Owner, ids, r.cfg.LeaseTTL)
		if !cm.IsCode(err, cm.ECONFLICT) {
			return err
		}
		if r.cfg.Now().After(deadline) {
			return fmt.Errorf("restore: another restore or merge has held contacts of group %s for over %s; try again later: %w", group, r.cfg.LeaseTTL, err)
		}
		if !logged {
			r.cfg.Logger.Warn("restore: contacts of the group are leased by another process (a concurrent or killed restore); waiting until the leases expire",
				"group", group, "at most", r.cfg.LeaseTTL)
			logged = true
		}
		if err := sleep(ctx, retryPause); err != nil {
			return err
		}
	}
}

// appendRow records ev for group (its At, Kind and Actor filled).
func (r *Restorer) appendRow(ctx context.Context, group string, ev cm.LedgerEvent) error {
	ev.Kind, ev.GroupID, ev.Actor = cm.LedgerRestore, group, r.cfg.Actor
	return r.st.AppendLedger(ctx, ev)
}

// createBody is the contact created for m: its before-image with the
// marker external id.
func createBody(m Member) *cm.Contact {
	c := clone(&m.Before)
	c.ExternalIDs = append(c.ExternalIDs, cm.ExternalID{ExternalSource: &cm.ExternalSource{Name: MarkerSource}, Value: m.Marker})
	return c
}

// create returns the contact restored for m, creating it unless the
// ledger or the marker lookup shows it exists: an unknown outcome is
// verified first, and only a lookup that still finds nothing Settle after
// the attempt lets the create be sent again. It also returns whether the
// contact existed before this call and the requests it sent.
func (r *Restorer) create(ctx context.Context, g cm.Group, m Member) (string, bool, int, error) {
	requests, lookupFailures := 0, 0
	first := true
	for {
		h, err := readHistory(ctx, r.st, g.ID)
		if err != nil {
			return "", false, requests, err
		}
		ms := h.member(m.ID)
		if ms.restoredID != "" {
			return ms.restoredID, first, requests, nil
		}
		first = false
		if ms.pending {
			found, err := r.lookup(ctx, m.Marker)
			requests++
			if err != nil {
				if lookupFailures++; lookupFailures >= maxLookupFailures || errors.Is(err, genesys.ErrForbidden) {
					return "", false, requests, fmt.Errorf("restore: the create of member %s may have been applied and cannot be verified (marker lookup: %w); nothing more is sent: run the restore again later", m.ID, err)
				}
				r.cfg.Logger.Warn("restore: marker lookup failed; trying again", "member", m.ID, "err", err)
				if err := sleep(ctx, retryPause); err != nil {
					return "", false, requests, err
				}
				continue
			}
			if found != nil {
				if err := r.recordCreated(ctx, g.ID, m, found, stepVerify, outFound, ms.attempts,
					"verified: the create was applied (the marker lookup found "+found.ID+")", 0, ""); err != nil {
					return "", false, requests, err
				}
				continue
			}
			if age := r.cfg.Now().Sub(ms.lastIntent); age < r.cfg.Settle {
				r.cfg.Logger.Info("restore: create outcome unknown; waiting before the marker lookup is trusted", "member", m.ID, "wait", r.cfg.Settle-age)
				if err := sleep(ctx, r.cfg.Settle-age); err != nil {
					return "", false, requests, err
				}
				continue
			}
			if err := r.appendRow(ctx, g.ID, cm.LedgerEvent{Attempt: ms.attempts, IdempotencyKey: m.Marker,
				Request: request(stepVerify, "member", m.ID, "attempt", strconv.Itoa(ms.attempts), "outcome", outNotFound),
				Detail:  fmt.Sprintf("verified: not applied (the marker lookup found nothing %s after the attempt)", r.cfg.Settle)}); err != nil {
				return "", false, requests, err
			}
			continue
		}
		if ms.attempts >= maxCreateAttempts {
			return "", false, requests, fmt.Errorf("restore: gave up creating the contact of member %s after %d attempts whose outcomes were unknown and verified not applied; run the restore again later", m.ID, ms.attempts)
		}
		attempt := ms.attempts + 1
		body := createBody(m)
		img, _ := json.Marshal([]cm.Contact{m.Before})
		if err := r.appendRow(ctx, g.ID, cm.LedgerEvent{Attempt: attempt, IdempotencyKey: m.Marker, BeforeImages: img,
			Request: request(stepCreateIntent, "member", m.ID, "attempt", strconv.Itoa(attempt), "marker", m.Marker),
			Detail:  "intent: POST /api/v2/externalcontacts/contacts from the before-image of " + m.ID}); err != nil {
			return "", false, requests, err
		}
		c, resp, err := r.api.Contacts.CreateContact(ctx, body)
		requests++
		rctx := context.WithoutCancel(ctx)
		status, corr := answer(resp, err)
		if err == nil && (c == nil || c.ID == "") {
			err = fmt.Errorf("%w: the create answered without a contact id", genesys.ErrMalformedResponse)
		}
		if err == nil {
			if err := r.recordCreated(rctx, g.ID, m, c, stepCreate, outCreated, attempt, "created "+c.ID, status, corr); err != nil {
				return "", false, requests, err
			}
			continue
		}
		out, wait := classify(err)
		ev := cm.LedgerEvent{Attempt: attempt, IdempotencyKey: m.Marker, Status: status, CorrelationID: corr,
			Request: request(stepCreate, "member", m.ID, "attempt", strconv.Itoa(attempt), "outcome", out),
			Detail:  "POST /api/v2/externalcontacts/contacts: " + out + ": " + shorten(err)}
		if rerr := r.appendRow(rctx, g.ID, ev); rerr != nil {
			return "", false, requests, rerr
		}
		switch out {
		case outUnknown, outThrottled:
			if err := sleep(ctx, wait); err != nil {
				return "", false, requests, err
			}
		default:
			return "", false, requests, fmt.Errorf("restore: the platform refused to create the contact of member %s: %w", m.ID, err)
		}
	}
}

// recordCreated records that c is m's restored contact and puts it in the
// snapshot.
func (r *Restorer) recordCreated(ctx context.Context, group string, m Member, c *cm.Contact, step, out string, attempt int, detail string, status int, corr string) error {
	if err := r.appendRow(ctx, group, cm.LedgerEvent{Attempt: attempt, IdempotencyKey: m.Marker, Status: status, CorrelationID: corr, CanonicalID: c.ID,
		Request: request(step, "member", m.ID, "attempt", strconv.Itoa(attempt), "outcome", out, "restored", c.ID), Detail: detail}); err != nil {
		return err
	}
	return r.st.UpsertContacts(ctx, []cm.Contact{*c})
}

// lookup finds the contact carrying marker (nil when none does).
func (r *Restorer) lookup(ctx context.Context, marker string) (*cm.Contact, error) {
	c, _, err := r.api.Contacts.LookupIdentifier(ctx, "ExternalId", marker)
	if errors.Is(err, genesys.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(c.ExternalIDs, func(x cm.ExternalID) bool { return x.Value == marker }) {
		return nil, nil // the lookup matched something else
	}
	return c, nil
}

// update removes the restored members' values from the canonical contact:
// each attempt reads it afresh and rebuilds the record (so that an
// attempt applied earlier, or an edit made meanwhile, is seen), sends it
// with the version it read, and after a 409 or an unknown outcome reads
// again. It returns the canonical contact afterwards, the values removed,
// the edited fields left alone and the requests sent.
func (r *Restorer) update(ctx context.Context, p *Plan) (*cm.Contact, []Removal, []Conflict, int, error) {
	requests := 0
	var sent []Removal
	for attempt := 1; attempt <= maxUpdateAttempts; attempt++ {
		cur, _, err := r.api.Contacts.Get(ctx, p.CanonicalID)
		requests++
		if err != nil {
			if errors.Is(err, genesys.ErrNotFound) || errors.Is(err, genesys.ErrForbidden) {
				return nil, nil, nil, requests, fmt.Errorf("restore: reading the canonical contact %s: %w", p.CanonicalID, err)
			}
			if err := sleep(ctx, retryPause); err != nil {
				return nil, nil, nil, requests, err
			}
			continue
		}
		rems, confs, target := diff(p.restored, p.staying, p.baseline, cur)
		if len(rems) == 0 {
			if err := r.st.UpsertContacts(ctx, []cm.Contact{*cur}); err != nil {
				return nil, nil, nil, requests, err
			}
			return cur, sent, confs, requests, nil
		}
		img, _ := json.Marshal([]cm.Contact{*cur})
		summary := removalSummary(rems)
		if err := r.appendRow(ctx, p.GroupID, cm.LedgerEvent{Attempt: attempt, BeforeImages: img,
			Request: request(stepUpdateIntent, "canonical", cur.ID, "attempt", strconv.Itoa(attempt)),
			Detail:  "intent: PUT /api/v2/externalcontacts/contacts/" + cur.ID + " removing " + summary}); err != nil {
			return nil, nil, nil, requests, err
		}
		sent = rems
		target.ModifyDate = cur.ModifyDate // the version it was built from
		res, resp, err := r.api.Contacts.UpdateContact(ctx, cur.ID, target)
		requests++
		rctx := context.WithoutCancel(ctx)
		status, corr := answer(resp, err)
		out, wait := outUpdated, time.Duration(0)
		if err != nil {
			out, wait = classify(err)
		}
		ev := cm.LedgerEvent{Attempt: attempt, Status: status, CorrelationID: corr,
			Request: request(stepUpdate, "canonical", cur.ID, "attempt", strconv.Itoa(attempt), "outcome", out),
			Detail:  "PUT /api/v2/externalcontacts/contacts/" + cur.ID + ": " + out}
		if err != nil {
			ev.Detail += ": " + shorten(err)
		} else {
			ev.CanonicalID = res.ID
		}
		if rerr := r.appendRow(rctx, p.GroupID, ev); rerr != nil {
			return nil, nil, nil, requests, rerr
		}
		switch out {
		case outUpdated:
			if err := r.st.UpsertContacts(rctx, []cm.Contact{*res}); err != nil {
				return nil, nil, nil, requests, err
			}
			return res, rems, confs, requests, nil
		case outConflict, outUnknown, outThrottled:
			if err := sleep(ctx, wait); err != nil {
				return nil, nil, nil, requests, err
			}
		default:
			return nil, nil, nil, requests, fmt.Errorf("restore: the platform refused the update of the canonical contact %s: %w", cur.ID, err)
		}
	}
	return nil, nil, nil, requests, fmt.Errorf("restore: the canonical contact %s changed or answered ambiguously %d times in a row; run the restore again to finish it", p.CanonicalID, maxUpdateAttempts)
}

// finish records the cannot-links between rm (its old and its new id) and
// the rest of the group (lifting the must-links the approval recorded
// between them) and then rm's done row. A repeat records nothing new.
func (r *Restorer) finish(ctx context.Context, g cm.Group, p *Plan, rm Restored, canonical string) ([]cm.Pair, error) {
	side := []string{rm.Member, rm.RestoredID}
	rest := cm.SortedIDs(append(slices.Clone(p.Staying), canonical, g.CanonicalID))
	pairs := cm.CrossPairs(side, rest)
	musts, err := r.st.Constraints(ctx, cm.ConstraintFilter{Kinds: []cm.ConstraintKind{cm.MustLink}, Contacts: side})
	if err != nil {
		return nil, err
	}
	var lift []int64
	for _, c := range musts {
		if slices.Contains(pairs, c.Pair()) {
			lift = append(lift, c.ID)
		}
	}
	reason := fmt.Sprintf("restored from merged group %s as %s", g.ID, rm.RestoredID)
	add := make([]cm.PairConstraint, len(pairs))
	for i, pr := range pairs {
		add[i] = cm.PairConstraint{Kind: cm.CannotLink, A: pr.A, B: pr.B, GroupID: g.ID, Actor: r.cfg.Actor, Reason: reason}
	}
	if err := r.st.ChangeConstraints(ctx, cm.ConstraintChange{Actor: r.cfg.Actor, Detail: "restore of " + rm.Member, Add: add, Remove: lift}); err != nil {
		return nil, fmt.Errorf("restore: recording that %s and the rest of group %s are different customers: %w", rm.Member, g.ID, err)
	}
	err = r.appendRow(ctx, g.ID, cm.LedgerEvent{CanonicalID: rm.RestoredID,
		Request: request(stepDone, "member", rm.Member, "restored", rm.RestoredID, "canonical", canonical),
		Detail: fmt.Sprintf("restored %s as %s (id map: %s → %s); its conversations, notes and journey stay on %s, which resolves to %s",
			rm.Member, rm.RestoredID, rm.Member, rm.RestoredID, rm.Member, canonical)})
	return pairs, err
}

// answer returns the status and correlation id of a request's answer.
func answer(resp *genesys.Response, err error) (int, string) {
	var ae *genesys.APIError
	if errors.As(err, &ae) {
		return ae.Status, ae.CorrelationID
	}
	if resp != nil {
		return resp.StatusCode, resp.CorrelationID
	}
	return 0, ""
}

// classify says what an error of a create or an update means: unknown
// (the write may have been applied: verify before re-sending), throttled
// (not applied; wait), conflict (409: read again), forbidden, or refused;
// and how long to pause before the next step.
func classify(err error) (string, time.Duration) {
	var rl *genesys.RateLimitError
	var ae *genesys.APIError
	switch {
	case errors.Is(err, genesys.ErrForbidden):
		return outForbidden, 0
	case errors.Is(err, genesys.ErrRateLimited):
		if errors.As(err, &rl) && rl.RetryAfter > 0 {
			return outThrottled, rl.RetryAfter
		}
		return outThrottled, 5 * time.Second
	case errors.Is(err, genesys.ErrConflict):
		return outConflict, 0
	case genesys.IsAmbiguous(err):
		return outUnknown, 0
	case errors.As(err, &ae) && ae.Status >= http.StatusBadRequest && ae.Status < http.StatusInternalServerError:
		return outRefused, 0
	default:
		// A cancelled context, a failure of unknown kind: the request may
		// have been written.
		return outUnknown, retryPause
	}
}

// removalSummary lists removals in one line.
func removalSummary(rems []Removal) string {
	parts := make([]string, len(rems))
	for i, r := range rems {
		parts[i] = fmt.Sprintf("%s %q (of %s)", r.Field, r.Value, r.Member)
	}
	return strings.Join(parts, ", ")
}

// shorten returns err's text cut to 300 runes (the genesys client keeps
// secrets out of its errors).
func shorten(err error) string {
	s := []rune(err.Error())
	if len(s) <= 300 {
		return string(s)
	}
	return string(s[:300]) + "…"
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
