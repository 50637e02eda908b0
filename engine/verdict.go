package engine

import (
	"errors"
	"net/http"
	"time"

	"github.com/contactmerge/contactmerge/genesys"
)

// mergeKind classifies the platform's answer to a merge request.
type mergeKind int

const (
	// mergeApplied: a 2xx with the new contact; record the round.
	mergeApplied mergeKind = iota + 1
	// mergeConflict: a 409, some member is busy and the platform does not
	// say which; bisect, or quarantine what cannot be halved.
	mergeConflict
	// mergeThrottled: a 429, not processed; ready again after wait.
	mergeThrottled
	// mergeAmbiguous: the merge may have been applied; verify before
	// anything is sent again (after wait, when it is set).
	mergeAmbiguous
	// mergeStale: a 404, or a 422 whose nested error is a not.found (a
	// member vanished since preflight), or a 401 (the token was refused),
	// not applied; preflight the group again.
	mergeStale
	// mergeRefused: any other 4xx (a 422 the platform cannot do: the
	// merge-set limit, ids already merged together, …), a permanent refusal
	// of this group; the group fails with the platform's message.
	mergeRefused
	// mergeForbidden: a 403, the OAuth client lacks a permission; not
	// applied, and no other merge can succeed either: the group goes back
	// to ready and the run stops (no group fails for it).
	mergeForbidden
)

func (k mergeKind) String() string {
	switch k {
	case mergeApplied:
		return "applied"
	case mergeConflict:
		return "conflict"
	case mergeThrottled:
		return "throttled"
	case mergeAmbiguous:
		return "ambiguous"
	case mergeStale:
		return "stale"
	case mergeRefused:
		return "refused"
	case mergeForbidden:
		return "forbidden"
	}
	return "invalid"
}

// mergeVerdict is what a merge request's answer means for the group.
type mergeVerdict struct {
	kind mergeKind
	// wait: throttled, the delay before the group is sent again (the
	// Retry-After, else throttleWait); ambiguous, a delay before verifying
	// (set when the error is of no known kind: a cancelled context, a
	// failure before the request was written).
	wait time.Duration
}

// throttleWait is the wait after a 429 without Retry-After.
const throttleWait = 5 * time.Second

// classifyMerge classifies the error of the attempt-th attempt of a merge
// request (nil: a 2xx with a result). After an ambiguous earlier attempt of
// the same request, a 4xx may be the effect of that attempt having been
// applied (its inputs are gone or read-only now), so from the second
// attempt on every 4xx but 403, 409 and 429 is ambiguous too. A 403 is
// forbidden at every attempt: a missing permission is no effect of an
// earlier attempt.
func classifyMerge(err error, attempt int) mergeVerdict {
	var rl *genesys.RateLimitError
	switch {
	case err == nil:
		return mergeVerdict{kind: mergeApplied}
	case errors.Is(err, genesys.ErrForbidden):
		return mergeVerdict{kind: mergeForbidden}
	case errors.Is(err, genesys.ErrConflict):
		return mergeVerdict{kind: mergeConflict}
	case errors.Is(err, genesys.ErrRateLimited):
		wait := throttleWait
		if errors.As(err, &rl) && rl.RetryAfter > 0 {
			wait = rl.RetryAfter
		}
		return mergeVerdict{kind: mergeThrottled, wait: wait}
	case genesys.IsAmbiguous(err), attempt > 1 && isClientError(err):
		return mergeVerdict{kind: mergeAmbiguous}
	case errors.Is(err, genesys.ErrNotFound), errors.Is(err, genesys.ErrUnauthorized), vanished(err):
		return mergeVerdict{kind: mergeStale}
	case isClientError(err):
		return mergeVerdict{kind: mergeRefused}
	default:
		// A context cancelled mid-request, or an error of unknown kind:
		// treat as ambiguous, and verify after a pause.
		return mergeVerdict{kind: mergeAmbiguous, wait: time.Second}
	}
}

// vanished reports whether err is a 422 whose nested error is a not.found:
// a contact of the request no longer exists (the platform's 422
// payload.or.params.invalid wraps the specific error in errors[]).
func vanished(err error) bool {
	var ae *genesys.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity {
		return false
	}
	_, ok := ae.NotFoundEntity()
	return ok
}

func isClientError(err error) bool {
	var ae *genesys.APIError
	return errors.As(err, &ae) && ae.Status >= http.StatusBadRequest && ae.Status < http.StatusInternalServerError
}

// readKind classifies what the unresolved reads of a verification show.
type readKind int

const (
	// readNotApplied: no read contact was merged away.
	readNotApplied readKind = iota + 1
	// readApplied: every merged-away contact points to one contact.
	readApplied
	// readAnomaly: contacts were merged into different contacts.
	readAnomaly
)

// readVerdict is what the unresolved reads of a group's contacts say about
// its last merge attempt.
type readVerdict struct {
	kind readKind
	// target and inputs (readApplied): the contact the merged-away reads
	// point to, and those reads' ids in read order.
	target string
	inputs []string
	// targets maps every contact pointed to (mergedTo) to the read ids
	// pointing to it.
	targets map[string][]string
}

// classifyReads reads the results of BulkGetUnresolved over the contacts an
// attempt could have consumed: none merged away, all merged into one
// contact, or merged into several (an anomaly). Failed reads count as not
// merged.
func classifyReads(results []genesys.BulkResult) readVerdict {
	v := readVerdict{targets: map[string][]string{}}
	for _, r := range results {
		if r.Success && r.Entity != nil && r.Entity.IsMerged() {
			to := r.Entity.MergedTo.ID
			v.targets[to] = append(v.targets[to], r.ID)
		}
	}
	switch len(v.targets) {
	case 0:
		v.kind = readNotApplied
	case 1:
		v.kind = readApplied
		for t, in := range v.targets {
			v.target, v.inputs = t, in
		}
	default:
		v.kind = readAnomaly
	}
	return v
}
