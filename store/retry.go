package store

import (
	"context"
	"errors"
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

// inTxRetry is inTx for a transaction that is safe to run again: fn touches
// nothing but the database through t (it sends no request, consumes no
// input, and sets every result it leaves in its caller's variables afresh
// on each run). When PostgreSQL aborts the transaction as a deadlock victim
// (40P01) or a serialization failure (40001), it is rolled back and fn runs
// again in a new transaction, up to txAttempts runs in all, after a short
// jittered pause; each retry is logged at debug level. The last run's error
// is returned as inTx returns it (translated: ECONFLICT for these two).
func (s *core) inTxRetry(ctx context.Context, what string, fn func(tx) error) error {
	for k := 1; ; k++ {
		err := s.inTxRaw(ctx, fn)
		code := retryableSQLState(err)
		if code == "" || k == txAttempts || ctx.Err() != nil {
			return s.translateTx(err)
		}
		pause := retryPause(k)
		s.logger().DebugContext(ctx, "store: transaction aborted by PostgreSQL, retrying",
			"tx", what, "sqlstate", code, "attempt", k, "pause", pause, "err", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return s.translateTx(err)
		case <-t.C:
		}
	}
}
