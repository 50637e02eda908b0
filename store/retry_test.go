package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testlog"
)

// openLogged opens a store on dsn whose debug log goes to the returned
// buffer.
func openLogged(t *testing.T, dsn string) (*dbStore, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	st, err := Open(context.Background(), dsn, Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.(*dbStore), logs
}

// deadlockProbe is a table of two rows, a and b, that two transactions lock
// in opposite orders.
func deadlockProbe(t *testing.T, s *dbStore) {
	t.Helper()
	ctx := context.Background()
	err := s.inTx(ctx, func(tx tx) error {
		if _, err := tx.exec(ctx, "CREATE TABLE retry_probe (id TEXT PRIMARY KEY, n BIGINT NOT NULL)"); err != nil {
			return err
		}
		_, err := tx.exec(ctx, "INSERT INTO retry_probe (id, n) VALUES ('a', 0), ('b', 0)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// probeCounts returns the n of rows a and b.
func probeCounts(t *testing.T, s *dbStore) (a, b int64) {
	t.Helper()
	ctx := context.Background()
	if err := s.b.reader().queryRow(ctx, "SELECT n FROM retry_probe WHERE id = 'a'").Scan(&a); err != nil {
		t.Fatal(err)
	}
	if err := s.b.reader().queryRow(ctx, "SELECT n FROM retry_probe WHERE id = 'b'").Scan(&b); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// crossedTransactions runs, on two goroutines at once, one transaction
// that increments row a then row b and one that increments b then a, each
// through run. Each body takes its first row, says so, and waits until the
// other has taken its own before it asks for its second: a deadlock on the
// first runs. A body run again (a retry) finds both signals given and goes
// straight on. It returns each transaction's error and how many times each
// body ran.
func crossedTransactions(t *testing.T, run func(ctx context.Context, fn func(tx) error) error) (errs [2]error, runs [2]int32) {
	t.Helper()
	ctx := context.Background()
	var took [2]chan struct{}
	var once [2]sync.Once
	var count [2]atomic.Int32
	for i := range took {
		took[i] = make(chan struct{})
	}
	body := func(i int, first, second string) func(tx) error {
		return func(t tx) error {
			count[i].Add(1)
			if _, err := t.exec(ctx, "UPDATE retry_probe SET n = n + 1 WHERE id = ?", first); err != nil {
				return err
			}
			once[i].Do(func() { close(took[i]) })
			select {
			case <-took[1-i]:
			case <-time.After(30 * time.Second):
				return errors.New("the other transaction never took its first row")
			}
			_, err := t.exec(ctx, "UPDATE retry_probe SET n = n + 1 WHERE id = ?", second)
			return err
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = run(ctx, body(0, "a", "b")) })
	wg.Go(func() { errs[1] = run(ctx, body(1, "b", "a")) })
	wg.Wait()
	return errs, [2]int32{count[0].Load(), count[1].Load()}
}

// TestInTxRetryDeadlock deadlocks two transactions on PostgreSQL on
// purpose: with inTxRetry both commit, the victim after one retry (logged
// at debug level), and each one's work is done exactly once.
func TestInTxRetryDeadlock(t *testing.T) {
	s, logs := openLogged(t, testdb.Postgres(t))
	deadlockProbe(t, s)
	errs, runs := crossedTransactions(t, func(ctx context.Context, fn func(tx) error) error {
		return s.inTxRetry(ctx, "probe", fn)
	})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errors %v, %v; want both committed after the retry; log:\n%s", errs[0], errs[1], logs)
	}
	if runs[0]+runs[1] != 3 || min(runs[0], runs[1]) != 1 {
		t.Fatalf("bodies ran %v times, want one once and the deadlock victim twice", runs)
	}
	if a, b := probeCounts(t, s); a != 2 || b != 2 {
		t.Fatalf("a = %d, b = %d: want 2 each (each transaction's increments once)", a, b)
	}
	out := logs.String()
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "sqlstate=40P01") || !strings.Contains(out, "tx=probe") ||
		strings.Count(out, "retrying") != 1 {
		t.Fatalf("want one debug line of the retry naming the transaction and 40P01; log:\n%s", out)
	}
}

// TestInTxDeadlockNotRetried runs the same two transactions through inTx:
// the victim fails with ECONFLICT and its work is rolled back (the
// deadlock of TestInTxRetryDeadlock is real, and inTx runs a body once).
func TestInTxDeadlockNotRetried(t *testing.T) {
	s, logs := openLogged(t, testdb.Postgres(t))
	deadlockProbe(t, s)
	errs, runs := crossedTransactions(t, s.inTx)
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("errors %v, %v: want exactly one deadlock victim", errs[0], errs[1])
	}
	victim := cmp.Or(errs[0], errs[1])
	if !cm.IsCode(victim, cm.ECONFLICT) || retryableSQLState(victim) != sqlstateDeadlockDetected {
		t.Fatalf("victim's error %v: want ECONFLICT over 40P01", victim)
	}
	if runs != [2]int32{1, 1} {
		t.Fatalf("bodies ran %v times, want once each", runs)
	}
	if a, b := probeCounts(t, s); a != 1 || b != 1 {
		t.Fatalf("a = %d, b = %d: want 1 each (the winner's increments only)", a, b)
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Fatalf("inTx logged a retry:\n%s", logs)
	}
}

// TestInTxRetryGivesUp checks, on both databases, that only deadlocks and
// serialization failures are retried, at most txAttempts runs in all, and
// that a cancelled context stops the retries.
func TestInTxRetryGivesUp(t *testing.T) {
	for name, newDSN := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			s, _ := openLogged(t, newDSN(t))
			ctx := context.Background()
			runs := 0
			plain := errors.New("plain failure")
			if err := s.inTxRetry(ctx, "plain", func(tx) error { runs++; return plain }); !errors.Is(err, plain) || runs != 1 {
				t.Fatalf("plain error: %v after %d runs, want it after 1", err, runs)
			}
			for _, code := range []string{sqlstateDeadlockDetected, sqlstateSerializationFailure} {
				runs = 0
				err := s.inTxRetry(ctx, "always aborted", func(tx) error {
					runs++
					return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code})
				})
				if retryableSQLState(err) != code || runs != txAttempts {
					t.Fatalf("%s every time: %v after %d runs, want it after %d", code, err, runs, txAttempts)
				}
			}
			cctx, cancel := context.WithCancel(ctx)
			runs = 0
			err := s.inTxRetry(cctx, "cancelled", func(tx) error {
				runs++
				cancel()
				return &pgconn.PgError{Code: sqlstateDeadlockDetected}
			})
			if runs != 1 || err == nil {
				t.Fatalf("cancelled during the first run: %v after %d runs, want an error after 1", err, runs)
			}
		})
	}
}

// TestTransitionManyLockOrder runs, on PostgreSQL, TransitionMany of two
// groups in both orders and single Transitions of each at once, many
// times: the groups are locked in id order before any ledger lock is
// taken, so nothing deadlocks and nothing needs a retry.
func TestTransitionManyLockOrder(t *testing.T) {
	s, logs := openLogged(t, testdb.Postgres(t))
	ctx := context.Background()
	g1, g2 := cm.Group{Members: []string{"c1", "c2"}}, cm.Group{Members: []string{"c3", "c4"}}
	g1.ID, g2.ID = cm.GroupID(g1.Members), cm.GroupID(g2.Members)
	if _, err := s.SaveProposals(ctx, []cm.Group{g1, g2}, "test"); err != nil {
		t.Fatal(err)
	}
	noted := func(id string) cm.Transition {
		return cm.Transition{GroupID: id, To: cm.StateProposed, Actor: "test", Detail: "noted",
			Update: func(g *cm.Group) { g.Reason = "noted" }}
	}
	const rounds = 25
	var wg sync.WaitGroup
	errs := make(chan error, 4*rounds)
	for _, order := range [][]string{{g1.ID, g2.ID}, {g2.ID, g1.ID}} {
		wg.Go(func() {
			for range rounds {
				if _, err := s.TransitionMany(ctx, []cm.Transition{noted(order[0]), noted(order[1])}); err != nil {
					errs <- err
				}
			}
		})
		wg.Go(func() {
			for range rounds {
				if _, err := s.Transition(ctx, noted(order[1])); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("transition: %v", err)
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Fatalf("transitions were retried (a lock-order deadlock):\n%s", logs)
	}
	for _, id := range []string{g1.ID, g2.ID} {
		g, err := s.Group(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(1 + 3*rounds); g.Version != want {
			t.Errorf("group %s at version %d, want %d (every transition applied once)", id, g.Version, want)
		}
	}
}
