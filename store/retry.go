package store

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL aborts one transaction of a lock cycle (deadlock detected) and,
// at REPEATABLE READ or SERIALIZABLE, a transaction whose snapshot went stale
// (could not serialize access). Neither says anything about the work: run
// again, the transaction usually commits. inTxRetry does that for the
// transactions that may run again; inTx (one run) is for the others.
const (
	sqlstateSerializationFailure = "40001"
	sqlstateDeadlockDetected     = "40P01"
)

// Retry of an aborted transaction: at most txAttempts runs in all, the k-th
// retry after a random pause in [d/2, d) with d = txRetryBase·2^(k-1),
// capped at txRetryMax. PostgreSQL detects a deadlock after deadlock_timeout
// (1 s by default) of waiting, so a short pause is enough for the winner to
// commit; the jitter keeps two victims of one another from meeting again.
const (
	txAttempts  = 5
	txRetryBase = 10 * time.Millisecond
	txRetryMax  = 200 * time.Millisecond
)

// retryableSQLState returns the SQLSTATE of err when it is a deadlock or a
// serialization failure reported by PostgreSQL ("" otherwise: SQLite never
// reports these, its writer lock serializes transactions).
func retryableSQLState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == sqlstateDeadlockDetected || pe.Code == sqlstateSerializationFailure) {
		return pe.Code
	}
	return ""
}

// retryPause is the pause before the k-th retry (k >= 1).
func retryPause(k int) time.Duration {
	d := min(txRetryBase<<(k-1), txRetryMax)
	return d/2 + rand.N(d/2)
}

// RetryAborted runs fn and, while it fails because PostgreSQL aborted its
// transaction as a deadlock victim (SQLSTATE 40P01) or a serialization
// failure (40001), however wrapped, runs it again: up to 5 runs in all,
// after a short jittered pause (5-10 ms, doubling to at most 100-200 ms).
// Each retry is logged on log (nil: not logged) at debug level, naming
// what. It returns fn's last error (also when ctx ends first). fn must be
// safe to run again after an abort, which rolled back what it did: a
// transaction that only touches the database, or one statement. The store
// runs its own such transactions this way; use it for work on the store's
// database outside them that can deadlock, such as River's InsertMany of
// unique jobs (it locks the rows of the live jobs it finds in the order of
// its arguments, River's completer locks them in the order of its batch).
func RetryAborted(ctx context.Context, log *slog.Logger, what string, fn func() error) error {
	for k := 1; ; k++ {
		err := fn()
		code := retryableSQLState(err)
		if code == "" || k == txAttempts || ctx.Err() != nil {
			return err
		}
		pause := retryPause(k)
		if log != nil {
			log.DebugContext(ctx, "PostgreSQL aborted a transaction, retrying",
				"tx", what, "sqlstate", code, "attempt", k, "pause", pause, "err", err)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// inTxRetry is inTx for a transaction that is safe to run again: fn touches
// nothing but the database through t (it sends no request, consumes no
// input, and sets every result it leaves in its caller's variables afresh
// on each run). When PostgreSQL aborts the transaction as a deadlock victim
// (40P01) or a serialization failure (40001), it is rolled back and fn runs
// again in a new transaction (RetryAborted: up to txAttempts runs in all,
// each retry logged at debug level). The last run's error is returned as
// inTx returns it (translated: ECONFLICT for these two).
func (s *core) inTxRetry(ctx context.Context, what string, fn func(tx) error) error {
	return s.translateTx(RetryAborted(ctx, s.log, what, func() error { return s.inTxRaw(ctx, fn) }))
}
