package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/contactmerge/contactmerge/genesys"
)

// ErrForbidden is matched (errors.Is) by the error Run returns when the
// platform refused a request because the OAuth client lacks a permission
// (a 403), and by the error of CheckPermissions. The error also matches
// genesys.ErrForbidden and holds the *genesys.PermissionError naming the
// permission. Such a refusal is no fault of a group: the groups concerned
// stay approved or ready, and the run stops at once instead of sending
// requests that cannot succeed. Grant the permission to the OAuth client's
// role and run again.
var ErrForbidden = errors.New("engine: the OAuth client lacks a permission")

// forbiddenError is the error of ErrForbidden: the platform's refusals,
// and whether they stopped a run (or were found by CheckPermissions).
type forbiddenError struct {
	err     error // a *genesys.PermissionError, or errors.Join of several
	stopped bool
}

// Error implements error: "engine: stopped: the OAuth client may not merge
// contacts: it needs the permission externalContacts:identity:merge (403
// missing.permissions, correlation id …); grant it to the client's role and
// run again (no group was marked failed for this)".
func (e *forbiddenError) Error() string {
	var b strings.Builder
	b.WriteString("engine: ")
	if e.stopped {
		b.WriteString("stopped: ")
	}
	pes := permissionErrors(e.err)
	if len(pes) == 0 {
		b.WriteString("the platform refused a request for a missing permission (403): " + e.err.Error())
	}
	n := 0
	for i, pe := range pes {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("the OAuth client may not " + string(pe.Capability))
		n += len(pe.Permissions)
		switch len(pe.Permissions) {
		case 0:
		case 1:
			b.WriteString(": it needs the permission " + pe.Permissions[0])
		default:
			b.WriteString(": it needs one of the permissions " + strings.Join(pe.Permissions, ", "))
		}
		fmt.Fprintf(&b, " (%d %s", pe.Err.Status, cmp.Or(pe.Err.Code, "forbidden"))
		if pe.Err.CorrelationID != "" {
			b.WriteString(", correlation id " + pe.Err.CorrelationID)
		}
		b.WriteString(")")
	}
	what := "it"
	if n > 1 {
		what = "them"
	}
	if e.stopped {
		b.WriteString("; grant " + what + " to the client's role and run again (no group was marked failed for this)")
	} else if len(pes) > 0 {
		b.WriteString("; grant " + what + " to the client's role before running")
	}
	return b.String()
}

func (e *forbiddenError) Is(target error) bool { return target == ErrForbidden }

func (e *forbiddenError) Unwrap() error { return e.err }

// permissionErrors returns the *genesys.PermissionError values in err,
// including those joined by errors.Join.
func permissionErrors(err error) []*genesys.PermissionError {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []*genesys.PermissionError
		for _, e := range joined.Unwrap() {
			out = append(out, permissionErrors(e)...)
		}
		return out
	}
	var pe *genesys.PermissionError
	if errors.As(err, &pe) {
		return []*genesys.PermissionError{pe}
	}
	return nil
}

// forbidden returns err as an ErrForbidden error for capability c when it is
// a 403, else nil.
func forbidden(c genesys.Capability, err error) error {
	if !errors.Is(err, genesys.ErrForbidden) {
		return nil
	}
	return &forbiddenError{err: genesys.AsPermissionError(c, err), stopped: true}
}

// halt is the engine's fatal state: the first ErrForbidden error stops Run
// and every merge not yet sent.
type halt struct {
	once sync.Once
	done chan struct{}
	err  error
}

func newHalt() *halt { return &halt{done: make(chan struct{})} }

// stop records err (the first one wins) and wakes Run.
func (h *halt) stop(err error) {
	h.once.Do(func() {
		h.err = err
		close(h.done)
	})
}

// Err returns the recorded error, nil while none is.
func (h *halt) Err() error {
	select {
	case <-h.done:
		return h.err
	default:
		return nil
	}
}

// stopOnForbidden records err, when it is a 403 of capability c, as the
// error that stops the engine, and returns the ErrForbidden error (else
// err unchanged).
func (e *Engine) stopOnForbidden(c genesys.Capability, err error) error {
	ferr := forbidden(c, err)
	if ferr == nil {
		return err
	}
	if e.halted.Err() == nil {
		e.log.Error("stopping: the OAuth client lacks a permission", "err", ferr)
	}
	e.halted.stop(ferr)
	return ferr
}

// Capabilities returns what a run of this engine does on the platform, for
// CheckPermissions: read contacts, query conversation details, merge, and
// look up cases when Config.CheckCases is set.
func (e *Engine) Capabilities() []genesys.Capability {
	caps := []genesys.Capability{genesys.CapReadContacts, genesys.CapQueryConversations}
	if e.cfg.CheckCases {
		caps = append(caps, genesys.CapLookUpCases)
	}
	return append(caps, genesys.CapMergeContacts)
}

// CheckPermissions checks, before a run's first merge, that the OAuth
// client holds every permission the run needs (Capabilities), with one
// request per capability that changes nothing (genesys.Client.
// CheckPermissions: the platform offers no reliable way for a
// client-credentials client to list its own permissions). It returns an
// error matching ErrForbidden (and genesys.ErrForbidden) that names every
// missing permission, the client's error when the credentials are refused,
// and nil otherwise (a probe without a verdict is logged, not failed: the
// first real 403 still stops the run). Call it before Run; it does not
// stop the engine.
func (e *Engine) CheckPermissions(ctx context.Context) error {
	if e.pool != nil && e.pool.Len() > 1 {
		return e.checkPoolPermissions(ctx)
	}
	err := e.api.CheckPermissions(ctx, e.Capabilities()...)
	if errors.Is(err, genesys.ErrForbidden) {
		return &forbiddenError{err: err}
	}
	if err != nil {
		return fmt.Errorf("engine: checking permissions: %w", err)
	}
	return nil
}
