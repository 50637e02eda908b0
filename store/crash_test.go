package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
)

// Environment of the crash test's child process.
const (
	helperEnv     = "CONTACTMERGE_STORE_CRASH_HELPER" // mode: "ledger" or "worker"
	helperDSNEnv  = "CONTACTMERGE_STORE_CRASH_DSN"
	crashGroups   = 24
	crashWorkers  = 3
	crashRestarts = 6
)

// TestHelperProcess is the child process of the crash tests; it does nothing
// unless started by one of them.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process of the crash tests")
	}
	var err error
	switch mode {
	case "ledger":
		err = crashChildLedger(os.Getenv(helperDSNEnv))
	case "worker":
		err = crashChildWorker(os.Getenv(helperDSNEnv))
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// crashNext is the cycle the child drives every group around:
// ready → in_flight → unknown → ready → ...
func crashNext(s cm.GroupState) cm.GroupState {
	switch s {
	case cm.StateReady:
		return cm.StateInFlight
	case cm.StateInFlight:
		return cm.StateUnknown
	}
	return cm.StateReady
}

// crashChildLedger transitions the seeded groups in a loop, printing one
// line per committed transition, until it is killed.
func crashChildLedger(dsn string) error {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	groups, err := s.Groups(ctx, cm.GroupFilter{})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	errc := make(chan error, crashWorkers)
	for w := range crashWorkers {
		go func() {
			for i := w; ; i += crashWorkers {
				id := groups[i%len(groups)].ID
				g, err := s.Group(ctx, id)
				if err != nil {
					errc <- err
					return
				}
				next := crashNext(g.State)
				tr := cm.Transition{GroupID: id, From: []cm.GroupState{g.State}, To: next, Version: g.Version,
					Actor: fmt.Sprintf("child-%d", os.Getpid()), Detail: "crash loop"}
				switch next {
				case cm.StateInFlight:
					attempt := g.Attempts + 1
					tr.Update = func(g *cm.Group) { g.Attempts = attempt; g.IdempotencyKey = cm.IdempotencyKey(g.Members, attempt) }
					tr.Events = []cm.LedgerEvent{{Kind: cm.LedgerAPI, Attempt: attempt, Request: "POST merge", Status: 504,
						BeforeImages: []byte(`[{"id":"` + g.Members[0] + `"}]`)}}
				case cm.StateUnknown:
					tr.UpsertContacts = []cm.Contact{{ID: "c-" + id, LastName: strconv.FormatInt(g.Version, 10), ModifyDate: time.Now()}}
				}
				out, err := s.Transition(ctx, tr)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				fmt.Printf("ok %s %d\n", id, out.Version)
				mu.Unlock()
			}
		}()
	}
	return <-errc
}

// crashSeed creates the groups of the ledger crash test, all ready.
func crashSeed(t *testing.T, dsn string) {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var gs []cm.Group
	for i := range crashGroups {
		gs = append(gs, cm.Group{Members: []string{fmt.Sprintf("k%02d-a", i), fmt.Sprintf("k%02d-b", i)}})
	}
	if _, err := s.SaveProposals(ctx, gs, "test"); err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		id := cm.GroupID(g.Members)
		for _, to := range []cm.GroupState{cm.StateApproved, cm.StateReady} {
			if _, err := s.Transition(ctx, cm.Transition{GroupID: id, To: to, Actor: "test"}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// startChild re-executes the test binary as the helper process and returns
// it with a channel of its output lines.
func startChild(t *testing.T, mode, dsn string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDSNEnv+"="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// kill9 sends SIGKILL to the child and reaps it.
func kill9(t *testing.T, cmd *exec.Cmd, lines <-chan string) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	for range lines { //nolint:revive // drain until the pipe closes
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}
}

func testLedgerCrash(t *testing.T, dsn string) {
	crashSeed(t, dsn)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	printed := 0
	for run := range crashRestarts {
		cmd, lines := startChild(t, "ledger", dsn)
		target := 20 + rng.IntN(300)
		n := 0
		timeout := time.After(60 * time.Second)
	wait:
		for n < target {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("run %d: child exited early: %v", run, cmd.Wait())
				}
				if !strings.HasPrefix(l, "ok ") {
					t.Fatalf("run %d: child: %s", run, l)
				}
				n++
			case <-timeout:
				break wait
			}
		}
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		kill9(t, cmd, lines)
		printed += n
		t.Logf("run %d: killed after %d printed transitions", run, n)
	}
	verifyLedger(t, dsn, printed)
}

// verifyLedger checks that every group's ledger is complete and without
// duplicates: one transition row per version, chained from→to, ending in
// the group's state, and one api row per submit attempt.
func verifyLedger(t *testing.T, dsn string, printed int) {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	groups, err := s.Groups(ctx, cm.GroupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[int64]bool{}
	total := 0
	for _, g := range groups {
		var trs, apis []cm.LedgerEvent
		err := s.Ledger(ctx, cm.LedgerFilter{GroupID: g.ID}, func(e cm.LedgerEvent) error {
			if seqs[e.Seq] {
				return fmt.Errorf("duplicate seq %d", e.Seq)
			}
			seqs[e.Seq] = true
			switch e.Kind {
			case cm.LedgerTransition:
				trs = append(trs, e)
			case cm.LedgerAPI:
				apis = append(apis, e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(trs)) != g.Version {
			t.Fatalf("group %s: version %d but %d transition rows", g.ID, g.Version, len(trs))
		}
		for i := 1; i < len(trs); i++ {
			if trs[i].From != trs[i-1].To {
				t.Fatalf("group %s: ledger gap: row %d goes %s→%s after →%s", g.ID, i, trs[i].From, trs[i].To, trs[i-1].To)
			}
		}
		if last := trs[len(trs)-1]; last.To != g.State {
			t.Fatalf("group %s: state %s but last ledger row →%s", g.ID, g.State, last.To)
		}
		submits := 0
		for _, r := range trs {
			if r.To == cm.StateInFlight {
				submits++
				if r.Attempt != submits {
					t.Fatalf("group %s: submit %d recorded attempt %d", g.ID, submits, r.Attempt)
				}
			}
		}
		if len(apis) != submits || g.Attempts != submits {
			t.Fatalf("group %s: %d submits, %d api rows, attempts %d", g.ID, submits, len(apis), g.Attempts)
		}
		for i, a := range apis {
			if a.Attempt != i+1 {
				t.Fatalf("group %s: api row %d has attempt %d", g.ID, i, a.Attempt)
			}
		}
		total += len(trs) - 3 // minus creation, approve, ready
	}
	if total < printed {
		t.Fatalf("children reported %d committed transitions, the ledger holds %d", printed, total)
	}
	t.Logf("%d groups, %d crash-loop transitions committed (%d reported before the kills)", len(groups), total, printed)
}

// TestLedgerCrashSQLite kills a child process (SIGKILL) at random points of
// its transition loop, restarts it, and verifies the ledger.
func TestLedgerCrashSQLite(t *testing.T) {
	testLedgerCrash(t, testdb.SQLite(t))
}

// TestLedgerCrashPostgres is TestLedgerCrashSQLite on PostgreSQL.
func TestLedgerCrashPostgres(t *testing.T) {
	testLedgerCrash(t, testdb.Postgres(t))
}

// crashBlockArgs is the job whose worker the test kills.
type crashBlockArgs struct {
	Tag string `json:"tag"`
}

func (crashBlockArgs) Kind() string { return "crash_block" }

// crashBlockWorker announces the job and then hangs (until the process is
// killed, or it returns when Hang is false).
type crashBlockWorker struct {
	river.WorkerDefaults[crashBlockArgs]
	hang bool
}

func (w *crashBlockWorker) Work(ctx context.Context, job *river.Job[crashBlockArgs]) error {
	if w.hang {
		fmt.Printf("started %d\n", job.ID)
		time.Sleep(time.Hour)
	}
	return nil
}

// crashChildWorker runs a River client whose worker hangs on its job.
func crashChildWorker(dsn string) error {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	workers := river.NewWorkers()
	river.AddWorker(workers, &crashBlockWorker{hang: true})
	c, err := s.NewJobClient(&river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		Workers:           workers,
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		JobTimeout:        -1,
	})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	select {}
}

// testRescue: a child process's worker takes a job and is killed with
// SIGKILL mid-job; another client rescues the stuck job and completes it.
func testRescue(t *testing.T, dsn string) {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inserter, err := s.NewJobClient(&river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := inserter.Insert(ctx, crashBlockArgs{Tag: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd, lines := startChild(t, "worker", dsn)
	select {
	case l := <-lines:
		if l != fmt.Sprintf("started %d", res.Job.ID) {
			t.Fatalf("child: %q", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child never started the job")
	}
	kill9(t, cmd, lines)
	job, err := inserter.JobGet(ctx, res.Job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if job.State != rivertype.JobStateRunning {
		t.Fatalf("after the kill the job is %s, want running (stuck)", job.State)
	}
	const rescueAfter = time.Second
	time.Sleep(time.Until(job.AttemptedAt.Add(rescueAfter + 100*time.Millisecond)))

	workers := river.NewWorkers()
	river.AddWorker(workers, &crashBlockWorker{})
	c, err := s.NewJobClient(&river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:              workers,
		FetchCooldown:        20 * time.Millisecond,
		FetchPollInterval:    50 * time.Millisecond,
		JobTimeout:           500 * time.Millisecond,
		RescueStuckJobsAfter: rescueAfter,
		RetryPolicy:          immediateRetry{},
		Logger:               quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
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
	select {
	case ev := <-events:
		if ev.Job.ID != res.Job.ID || ev.Job.Attempt != 2 || len(ev.Job.Errors) != 1 ||
			!strings.Contains(ev.Job.Errors[0].Error, "Stuck job rescued") {
			t.Fatalf("completed job = id %d attempt %d errors %+v", ev.Job.ID, ev.Job.Attempt, ev.Job.Errors)
		}
	case <-time.After(30 * time.Second):
		job, _ := c.JobGet(ctx, res.Job.ID)
		t.Fatalf("stuck job was not rescued and completed: %+v", job)
	}
}

// immediateRetry retries at once (the job scheduler still promotes it).
type immediateRetry struct{}

func (immediateRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now() }

// The rescue tests mostly wait (for River's rescuer and, on PostgreSQL, for
// the dead client's leadership to expire), so they run in parallel.

func TestRescueSQLite(t *testing.T) {
	t.Parallel()
	testRescue(t, testdb.SQLite(t))
}

func TestRescuePostgres(t *testing.T) {
	t.Parallel()
	testRescue(t, testdb.Postgres(t))
}
