package store

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// chunkSize bounds the number of ids bound into one IN (...) list.
const chunkSize = 500

// groupColumns returns the columns of groups, in the order of groupValues and
// scanGroup. The select, insert and update lists all derive from it.
func groupColumns() []string {
	return []string{
		"id", "parent_id", "state", "members", "survivor_id", "confidence", "merged", "unkept", "explanation",
		"content_hash", "plan_version", "attempts", "idempotency_key", "canonical_id", "reason", "retry_at",
		"quarantines", "created_at", "updated_at", "version",
	}
}

// groupFixed reports whether column c of groups never changes after the
// group is created (Transition does not rewrite it).
func groupFixed(c string) bool { return c == "id" || c == "created_at" }

// ledgerColumns returns the insertable columns of ledger, in ledgerValues
// order.
func ledgerColumns() []string {
	return []string{
		"at", "kind", "group_id", "from_state", "to_state", "actor", "attempt", "idempotency_key",
		"request", "status", "correlation_id", "canonical_id", "before_images", "unkept", "detail",
	}
}

// memberColumns returns the columns of group_members.
func memberColumns() []string { return []string{"member_id", "group_id"} }

// core implements cm.Store over a backend.
type core struct {
	b    backend
	norm cm.Normalizer
	now  func() time.Time
	log  *slog.Logger // retries of aborted transactions, at debug level
	// stateChunk bounds a match_state row (0: the const stateChunk); a
	// test makes it small.
	stateChunk int
}

// clock returns the current time as stored: UTC, microsecond precision.
func (s *core) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Close releases the store's connections.
func (s *core) Close() error { return s.b.close() }

// Kind returns "sqlite" or "postgres".
func (s *core) Kind() string { return s.b.kind() }

// inTx runs fn in a write transaction, committing when it returns nil. fn
// runs once: a transaction that may run again when PostgreSQL aborts it
// (deadlock, serialization failure) uses inTxRetry instead.
func (s *core) inTx(ctx context.Context, fn func(tx) error) error {
	return s.translateTx(s.inTxRaw(ctx, fn))
}

// inTxRaw is inTx without the translation of the driver's errors.
func (s *core) inTxRaw(ctx context.Context, fn func(tx) error) error {
	t, err := s.b.begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(t); err != nil {
		_ = t.rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := t.commit(ctx); err != nil {
		_ = t.rollback(context.WithoutCancel(ctx))
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// translateTx maps a transaction's driver error to cm error codes (nil stays
// nil).
func (s *core) translateTx(err error) error {
	if err == nil {
		return nil
	}
	return s.b.translate(err)
}

// parallelMin is the number of items from which parallelFor gives each
// further goroutine work (encoding contacts or groups as JSON).
const parallelMin = 256

// parallelFor calls fn(i) for every i in [0, n): on one goroutine for small
// n, else on up to GOMAXPROCS goroutines with at least parallelMin items
// each. fn must be safe for concurrent use on distinct i.
func parallelFor(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/parallelMin)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += per {
		wg.Go(func() {
			for i := lo; i < min(lo+per, n); i++ {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// firstErr returns the first non-nil error of errs.
func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
