package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"

	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
)

// churnArgs is a per-group job like the engine's: unique while live.
type churnArgs struct {
	G string `json:"g"`
}

func (churnArgs) Kind() string { return "retry_churn" }

func (churnArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: store.GroupUniqueOpts()}
}

type churnWorker struct {
	river.WorkerDefaults[churnArgs]
}

func (churnWorker) Work(context.Context, *river.Job[churnArgs]) error {
	time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
	return nil
}

// lockedBuffer is a strings.Builder safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRetryAbortedRiverInsertMany is the deadlock of the scale test's
// workers (engine reconcile): three River clients on one PostgreSQL schema
// work and complete per-group unique jobs while each keeps inserting the
// jobs of every group again in one InsertMany, as a worker's reconcile
// does. InsertMany locks the live jobs' rows in the order of its arguments,
// River's completer in its batch's order, and PostgreSQL aborts one of them
// now and then (40P01). Plain InsertMany calls run beside the retried ones
// to show that it happens; every InsertMany run through
// store.RetryAborted must succeed. It stops once a plain call was aborted
// and a retried one was retried, or after 15 s.
func TestRetryAbortedRiverInsertMany(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testdb.Postgres(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ws := river.NewWorkers()
	river.AddWorker(ws, &churnWorker{})
	var clients []store.JobClient
	for i := range 3 {
		c, err := st.NewJobClient(&river.Config{ID: fmt.Sprintf("churn%d", i), Workers: ws,
			Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 8}},
			FetchCooldown: time.Millisecond, FetchPollInterval: 5 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := c.Stop(ctx); err != nil {
				t.Error(err)
			}
		}()
		clients = append(clients, c)
	}
	params := make([]river.InsertManyParams, 300)
	for i := range params {
		params[i] = river.InsertManyParams{Args: churnArgs{G: fmt.Sprintf("%08x", rand.Uint32())}}
	}
	var plainAborted, plainCalls, retriedCalls atomic.Int64
	stop := time.Now().Add(15 * time.Second)
	done := func() bool {
		return time.Now().After(stop) || plainAborted.Load() > 0 && strings.Contains(logs.String(), "sqlstate=40P01")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i, c := range clients {
		wg.Go(func() {
			for !done() {
				if i == 0 {
					plainCalls.Add(1)
					_, err := c.InsertMany(ctx, params)
					var pe *pgconn.PgError
					switch {
					case errors.As(err, &pe) && pe.Code == "40P01":
						plainAborted.Add(1)
					case err != nil:
						errs <- fmt.Errorf("plain InsertMany: %w", err)
						return
					}
				} else {
					retriedCalls.Add(1)
					if err := store.RetryAborted(ctx, log, "insert many", func() error {
						_, err := c.InsertMany(ctx, params)
						return err
					}); err != nil {
						errs <- fmt.Errorf("retried InsertMany: %w", err)
						return
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("plain InsertMany: %d calls, %d aborted as deadlock victims; retried InsertMany: %d calls, all succeeded, %d retries",
		plainCalls.Load(), plainAborted.Load(), retriedCalls.Load(), strings.Count(logs.String(), "sqlstate=40P01"))
}
