package store_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{}, &slog.HandlerOptions{Level: slog.LevelError}))
}

// testWriter discards River's logs below error level (the handler filters).
type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) { return len(p), nil }

// noopArgs is a trivial job.
type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// mergeGroupArgs stands for a per-group job: only the group id.
type mergeGroupArgs struct {
	GroupID string `json:"group_id"`
}

func (mergeGroupArgs) Kind() string { return "merge_group" }

type mergeGroupWorker struct {
	river.WorkerDefaults[mergeGroupArgs]
}

func (mergeGroupWorker) Work(context.Context, *river.Job[mergeGroupArgs]) error { return nil }

func openStore(tb testing.TB, dsn string) store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), dsn, store.Options{Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func jobClient(tb testing.TB, s store.Store, maxWorkers int) store.JobClient {
	tb.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	river.AddWorker(workers, mergeGroupWorker{})
	c, err := s.NewJobClient(&river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers:           workers,
		FetchPollInterval: 20 * time.Millisecond,
		FetchCooldown:     5 * time.Millisecond,
		Logger:            quietLogger(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// jobCounts returns the number of River jobs in each state that has any,
// straight from River's table.
func jobCounts(tb testing.TB, dsn string) map[rivertype.JobState]int {
	tb.Helper()
	out := make(map[rivertype.JobState]int)
	for _, r := range rawQuery(tb, dsn, "SELECT state, count(*) FROM river_job GROUP BY state") {
		n, err := strconv.Atoi(r[1])
		if err != nil {
			tb.Fatal(err)
		}
		out[rivertype.JobState(r[0])] = n
	}
	return out
}

// runJobs inserts n noop jobs with InsertMany, works them on a started
// client, and returns the time from insert to the last completion.
func runJobs(tb testing.TB, s store.Store, dsn string, n int) time.Duration {
	tb.Helper()
	ctx := context.Background()
	c := jobClient(tb, s, 100)
	if err := c.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		stopCtx, done := context.WithTimeout(ctx, 30*time.Second)
		defer done()
		if err := c.Stop(stopCtx); err != nil {
			tb.Error(err)
		}
	}()
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{N: i}}
	}
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		if _, err := c.InsertMany(ctx, params[i:min(i+1000, n)]); err != nil {
			tb.Fatal(err)
		}
	}
	// River drops events when a subscriber falls behind, so count the
	// completed rows instead.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		counts := jobCounts(tb, dsn)
		if counts[rivertype.JobStateCompleted] >= n {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("jobs after 5 minutes: %v", counts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testJobsComplete(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	const n = 500
	d := runJobs(t, s, dsn, n)
	if counts := jobCounts(t, dsn); counts[rivertype.JobStateCompleted] != n {
		t.Fatalf("job counts = %v", counts)
	}
	t.Logf("%s: %d jobs in %v (%.0f jobs/s)", s.Kind(), n, d, n/d.Seconds())
}

// The job, scale and ledger crash tests own their databases too but stay
// sequential: they are CPU-bound, and beside the parallel rescue tests
// (30 s timeouts) they would only add contention on a small CI machine.

func TestJobsSQLite(t *testing.T)   { testJobsComplete(t, testdb.SQLite(t)) }
func TestJobsPostgres(t *testing.T) { testJobsComplete(t, testdb.Postgres(t)) }

// BenchmarkJobs10k measures completed jobs per second for 10,000 trivial
// jobs inserted with InsertMany, on each store.
func BenchmarkJobs10k(b *testing.B) {
	for _, bc := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", testdb.SQLite},
		{"postgres", testdb.Postgres},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const n = 10000
			var total time.Duration
			for range b.N {
				b.StopTimer()
				dsn := bc.dsn(b)
				s := openStore(b, dsn)
				b.StartTimer()
				total += runJobs(b, s, dsn, n)
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "jobs/s")
		})
	}
}

// testUniqueGroupJobs: a group with a live job cannot be enqueued again; once
// the job completed it can.
func testUniqueGroupJobs(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	c := jobClient(t, s, 4)
	opts := &river.InsertOpts{UniqueOpts: store.GroupUniqueOpts()}
	first, err := c.Insert(ctx, mergeGroupArgs{GroupID: "g_1"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.UniqueSkippedAsDuplicate {
		t.Fatal("first insert skipped")
	}
	again, err := c.Insert(ctx, mergeGroupArgs{GroupID: "g_1"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.UniqueSkippedAsDuplicate || again.Job.ID != first.Job.ID {
		t.Fatalf("second enqueue of g_1 was not rejected: %+v", again.Job)
	}
	many, err := c.InsertMany(ctx, []river.InsertManyParams{
		{Args: mergeGroupArgs{GroupID: "g_1"}, InsertOpts: opts},
		{Args: mergeGroupArgs{GroupID: "g_2"}, InsertOpts: opts},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !many[0].UniqueSkippedAsDuplicate || many[1].UniqueSkippedAsDuplicate {
		t.Fatalf("InsertMany uniqueness: g_1 skipped=%v g_2 skipped=%v", many[0].UniqueSkippedAsDuplicate, many[1].UniqueSkippedAsDuplicate)
	}
	// Work both; afterwards g_1 may be enqueued again (a legitimate re-run).
	events, cancel := c.Subscribe(river.EventKindJobCompleted)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, done := context.WithTimeout(ctx, 10*time.Second)
		defer done()
		if err := c.Stop(stopCtx); err != nil {
			t.Error(err)
		}
	}()
	for range 2 {
		select {
		case <-events:
		case <-time.After(30 * time.Second):
			t.Fatal("jobs did not complete")
		}
	}
	rerun, err := c.Insert(ctx, mergeGroupArgs{GroupID: "g_1"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rerun.UniqueSkippedAsDuplicate || rerun.Job.ID == first.Job.ID {
		t.Fatalf("re-run of a completed group was rejected: %+v", rerun.Job)
	}
}

func TestUniqueGroupJobsSQLite(t *testing.T)   { testUniqueGroupJobs(t, testdb.SQLite(t)) }
func TestUniqueGroupJobsPostgres(t *testing.T) { testUniqueGroupJobs(t, testdb.Postgres(t)) }
