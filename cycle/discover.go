package cycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/contactmerge/contactmerge/discover"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
)

// DiscoverResult is the discover step's.
type DiscoverResult struct {
	// Skipped says why the step read nothing ("" when it ran): turned
	// off, or the OAuth client lacks the analytics permission.
	Skipped string `json:"skipped,omitempty"`
	// Days and Via are the lookback and how the conversations were read.
	Days int    `json:"days,omitempty"`
	Via  string `json:"via,omitempty"`
	// Conversations counts the conversations read; ContactIDs the distinct
	// external contact ids they name, Known those the store holds (or the
	// ledger records as merged away), Remembered those an earlier
	// discovery found missing or merged away (not read again for a
	// week), Read those read in bulk.
	Conversations int `json:"conversations"`
	ContactIDs    int `json:"contactIds"`
	Known         int `json:"known"`
	Remembered    int `json:"remembered,omitempty"`
	Read          int `json:"read"`
	// Found counts the contacts stored by the step (new to the store) and
	// FoundByType splits them by type (Ephemeral, Identified, Curated).
	Found       int            `json:"found"`
	FoundByType map[string]int `json:"foundByType,omitempty"`
	// Resolved, Missing and Failed are discover.Result's: ids merged away
	// since, gone from the platform, or refused otherwise.
	Resolved int `json:"resolved,omitempty"`
	Missing  int `json:"missing,omitempty"`
	Failed   int `json:"failed,omitempty"`
	// Requests counts the step's analytics and bulk-read requests
	// (AnalyticsRequests + BulkRequests; the permission probe and retries
	// are not counted).
	Requests          int `json:"requests"`
	AnalyticsRequests int `json:"analyticsRequests"`
	BulkRequests      int `json:"bulkRequests"`
	// CeilingPerMinute is the ceiling the step read under: the scan's
	// budget, shared with the scan step through the same client.
	CeilingPerMinute int `json:"ceilingPerMinute,omitempty"`
}

// discoverOff is the reason of a step turned off.
const discoverOff = "turned off (--discover=false): the contacts scan cannot see are not looked for"

// discover is the discover step: discover.Run with the Scan client (its
// limiter capped at the scan budget) after a probe of the analytics
// permission. A client without the permission skips the step, which is
// not a failure of the cycle; so does a 403 during the run (what was
// stored before it is kept). The ids the ledger records as merged away
// are known: their conversations do not make each cycle read them again.
func (r *Runner) discover(ctx context.Context, id int64, rl genesys.RateLimit) (*DiscoverResult, error) {
	res := &DiscoverResult{}
	if r.cfg.Discover == nil {
		res.Skipped = discoverOff
		return res, nil
	}
	opts := *r.cfg.Discover
	if opts.Now == nil {
		opts.Now = r.now
	}
	if err := opts.Validate(); err != nil {
		return res, err
	}
	res.Days, res.Via = cmpOrInt(opts.Days, discover.DefaultDays), cmpOr(opts.Via, discover.ViaJobs)
	res.CeilingPerMinute = r.applyBudget(rl)
	capability := genesys.CapConversationJobs
	if res.Via == discover.ViaQuery {
		capability = genesys.CapQueryConversations
	}
	if err := r.cfg.Scan.CheckPermissions(ctx, capability); err != nil {
		if errors.Is(err, genesys.ErrForbidden) {
			return r.skipForbidden(id, res, err), nil
		}
		return res, fmt.Errorf("checking the analytics permission: %w", err)
	}
	merges, err := engine.AppliedMerges(ctx, r.cfg.Store)
	if err != nil {
		return res, fmt.Errorf("reading the merged-away ids of the ledger: %w", err)
	}
	for _, m := range merges {
		for _, in := range m.Inputs {
			if in != m.Result {
				opts.Known = append(opts.Known, in)
			}
		}
	}
	d, err := discover.Run(ctx, r.cfg.Scan, r.cfg.Store, opts)
	if r.cfg.AfterScan != nil {
		if ferr := r.cfg.AfterScan(context.WithoutCancel(ctx)); err == nil {
			err = ferr
		}
	}
	res.Conversations, res.ContactIDs, res.Known, res.Remembered, res.Read = d.Conversations, d.ContactIDs, d.Known, d.Remembered, d.Read
	res.Found, res.Resolved, res.Missing, res.Failed = d.Found, d.Resolved, d.Missing, d.Failed
	if len(d.FoundByType) > 0 {
		res.FoundByType = d.FoundByType
	}
	res.Requests, res.AnalyticsRequests, res.BulkRequests = d.Requests(), d.AnalyticsRequests, d.BulkRequests
	if errors.Is(err, genesys.ErrForbidden) && ctx.Err() == nil {
		return r.skipForbidden(id, res, err), nil
	}
	return res, err
}

// skipForbidden records, in one log line and the result, that the client
// may not read the conversation history.
func (r *Runner) skipForbidden(id int64, res *DiscoverResult, err error) *DiscoverResult {
	var pe *genesys.PermissionError
	why := err.Error()
	if errors.As(err, &pe) {
		why = pe.Error()
	}
	res.Skipped = "skipped: the OAuth client may not read the conversation history, so the contacts scan cannot see are not looked for (" + why +
		"); grant analytics:conversationDetail:view to its role, or turn the step off with --discover=false"
	r.log.Warn("cycle: discover step skipped: the OAuth client lacks the analytics permission", "cycle", id, "reason", why)
	return res
}

func cmpOrInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
