package cycle_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/cycle"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

func TestParseSchedule(t *testing.T) {
	at := time.Date(2026, 12, 1, 14, 7, 30, 0, time.UTC)
	tests := []struct {
		every time.Duration
		cron  string
		next  time.Time
		text  string
		err   string
	}{
		{every: 24 * time.Hour, next: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), text: "every 24h0m0s"},
		{every: 15 * time.Minute, next: time.Date(2026, 12, 1, 14, 15, 0, 0, time.UTC), text: "every 15m0s"},
		{cron: "0 3 * * *", next: time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC), text: "cron 0 3 * * *"},
		{cron: "@hourly", next: time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), text: "cron @hourly"},
		{every: 30 * time.Second, err: "--every 30s: cycles are at least 1m0s apart"},
		{cron: "0 3 * *", err: `--cron "0 3 * *": expected exactly 5 fields`},
		{cron: "61 * * * *", err: `--cron "61 * * * *": end of range (61) above maximum (59)`},
		{every: time.Hour, cron: "@daily", err: "--every and --cron are exclusive"},
	}
	for _, tt := range tests {
		s, ok, err := cycle.ParseSchedule(tt.every, tt.cron)
		if tt.err != "" {
			if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), tt.err) || ok {
				t.Errorf("%v %q: err %v, want EINVALID with %q", tt.every, tt.cron, err, tt.err)
			}
			continue
		}
		if err != nil || !ok || s.Text != tt.text || !s.Next(at).Equal(tt.next) {
			t.Errorf("%v %q: %q next %v, %v; want %q %v", tt.every, tt.cron, s.Text, s.Next(at), err, tt.text, tt.next)
		}
	}
	if _, ok, err := cycle.ParseSchedule(0, ""); ok || err != nil {
		t.Errorf("no flag: ok %v, %v", ok, err)
	}
}

// TestSchedulerSkipAndRunNow: a skip request turns the next scheduled
// cycle into a recorded skip, the one after runs, and a cycle asked for
// from the console runs at once; each scheduled slot runs once.
func TestSchedulerSkipAndRunNow(t *testing.T) {
	r := newRig(t, testdb.SQLite(t), 40)
	run := r.runner("p1", func(c *cycle.Config) { c.Merge = nil })
	cs := r.st.(store.CycleStore)
	if _, err := cs.SkipNextCycle(ctx(), "ann", "quarter close"); err != nil {
		t.Fatal(err)
	}
	sch := cycle.NewScheduler(run, cycle.Schedule{PeriodicSchedule: river.PeriodicInterval(300 * time.Millisecond), Text: "every 300ms"})
	cctx, cancel := context.WithCancel(ctx())
	done := make(chan struct{})
	go func() { defer close(done); sch.Run(cctx) }()
	defer func() { cancel(); <-done }()
	st, err := sch.Status(ctx())
	if err != nil || st.Skip == nil || st.Skip.Actor != "ann" || st.Schedule != "every 300ms" {
		t.Fatalf("status = %+v, %v", st, err)
	}
	wait := func(n int) []store.Cycle {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			list, err := cs.Cycles(ctx(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) >= n && list[0].State != store.CycleRunning {
				return list
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d cycles after 10 s, want %d: %+v", len(list), n, list)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	list := wait(2)
	if list[1].State != store.CycleSkipped || !strings.Contains(list[1].Error, "quarter close") || list[1].Trigger != cycle.TriggerSchedule ||
		list[0].State != store.CycleDone || list[0].Slot.IsZero() || !list[0].Slot.After(list[1].Slot) {
		t.Fatalf("cycles = %+v", list)
	}
	// A scheduled cycle may be running (every 300 ms): RunNow refuses
	// then, and is accepted once it ended.
	for {
		err := sch.RunNow("bob", cycle.TriggerConsole)
		if err == nil {
			break
		}
		if !cm.IsCode(err, cm.ECONFLICT) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	found := false
	for deadline := time.Now().Add(10 * time.Second); !found; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the console's cycle did not run in 10 s")
		}
		for _, c := range wait(3) {
			found = found || (c.Trigger == cycle.TriggerConsole && c.Actor == "bob" && c.State == store.CycleDone)
		}
	}
	cancel()
	<-done
	// The slots are distinct (the store refuses a slot twice).
	list, _ = cs.Cycles(ctx(), 0)
	seen := map[time.Time]bool{}
	for _, c := range list {
		if !c.Slot.IsZero() && seen[c.Slot] {
			t.Errorf("slot %v ran twice", c.Slot)
		}
		seen[c.Slot] = true
	}
	// Skipped and done summaries were posted.
	kinds := map[store.CycleState]int{}
	for _, s := range r.hook.summaries() {
		kinds[s.State]++
	}
	if kinds[store.CycleSkipped] != 1 || kinds[store.CycleDone] < 2 {
		t.Errorf("posted summaries by state: %v", kinds)
	}
}

// TestOtherOrganization: a cycle on a store bound to another organization
// stops before reading or changing anything, with a clear error and an
// alert in the summary posted.
func TestOtherOrganization(t *testing.T) {
	r := newRig(t, testdb.SQLite(t), 40)
	if err := r.st.BindOrg(ctx(), cm.Org{ID: "0000-other", Name: "Other Corp", Source: "scan"}); err != nil {
		t.Fatal(err)
	}
	s, err := r.runner("p1", nil).Run(ctx(), cycle.Trigger{Kind: cycle.TriggerSchedule, Actor: "scheduler", Slot: time.Now()})
	if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), "belongs to organization Other Corp (0000-other)") {
		t.Fatalf("err = %v", err)
	}
	if s.State != store.CycleFailed || s.Alert == "" || s.Scan != nil {
		t.Fatalf("summary = %+v", s)
	}
	if n, _ := r.st.CountContacts(ctx()); n != 0 {
		t.Errorf("the store holds %d contacts of the other organization", n)
	}
	got := r.hook.summaries()
	if len(got) != 1 || got[0].Alert == "" || got[0].State != store.CycleFailed {
		t.Errorf("posted: %+v", got)
	}
}

// shadow approves nothing and is not in enforce mode.
type shadow struct{}

func (shadow) Enforces() bool { return false }
func (shadow) Apply(context.Context, cm.Store, cycle.PolicyOptions) (*cycle.PolicyResult, error) {
	return &cycle.PolicyResult{Policy: "shadow", Mode: "shadow"}, nil
}

// TestUnattendedNeedsEnforce: unattended, groups approved by a person are
// not merged under a shadow policy: the policy file is the confirmation.
func TestUnattendedNeedsEnforce(t *testing.T) {
	r := newRig(t, testdb.SQLite(t), 60)
	merged := false
	run := r.runner("p1", func(c *cycle.Config) {
		c.Policy = shadow{}
		c.Merge = func(context.Context) (engine.Summary, error) { merged = true; return engine.Summary{}, nil }
	})
	s, err := run.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerSchedule, Actor: "scheduler", Slot: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if merged || s.Run == nil || !strings.Contains(s.Run.Skipped, "enforce mode") || s.Policy.Mode != "shadow" {
		t.Fatalf("summary %+v run %+v, merged %v", s, s.Run, merged)
	}
}

// TestInterruptedCycleResumesAtOnce: an interrupted cycle (its context
// ended as the match step began) is released and resumed at once by
// another process there, without scanning again.
func TestInterruptedCycleResumesAtOnce(t *testing.T) {
	r := newRig(t, testdb.SQLite(t), 60)
	cctx, cancel := context.WithCancel(ctx())
	run := r.runner("p1", func(c *cycle.Config) {
		c.BeforeStep = func(_ int64, s cycle.Step) error {
			if s == cycle.StepMatch {
				cancel()
			}
			return nil
		}
	})
	if _, err := run.Run(cctx, cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted: %v", err)
	}
	s, err := r.runner("p2", nil).Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "bob"})
	if err != nil || s.Resumes != 1 || s.State != store.CycleDone || s.Scan == nil || s.Match == nil {
		t.Fatalf("resumed: %+v, %v", s, err)
	}
	c, err := r.st.(store.CycleStore).Cycle(ctx(), s.Cycle)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range c.Steps {
		if st.Attempts != 1 {
			t.Errorf("step %s ran %d times", st.Name, st.Attempts)
		}
	}
}

// TestNotifier: retried on 503, not on 400; its errors name the host
// only, never the address (which may hold a secret).
func TestNotifier(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/bad"):
			w.WriteHeader(http.StatusBadRequest)
		case n < 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	n, err := cycle.NewNotifier("--notify-webhook", srv.URL+"/ok?token=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	n.Backoff = time.Millisecond
	if err := n.Post(ctx(), map[string]int{"a": 1}); err != nil || calls.Load() != 3 {
		t.Fatalf("post: %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	bad, _ := cycle.NewNotifier("--notify-webhook", srv.URL+"/bad?token=s3cret")
	bad.Backoff = time.Millisecond
	err = bad.Post(ctx(), 1)
	if err == nil || calls.Load() != 1 || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "/bad") {
		t.Fatalf("bad: %v after %d calls", err, calls.Load())
	}
	if _, err := cycle.NewNotifier("--notify-webhook", "ftp://x/s3cret"); !cm.IsCode(err, cm.EINVALID) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("ftp: %v", err)
	}
}

// TestScanBudgetPaces: the scan step's client is held to its share of the
// window: at 30% of 1,500 requests a minute (450/min, a burst of 45), a
// scan of about 60 pages takes at least 1.5 s more than the burst allows,
// while the same scan without a budget spends the window at once.
func TestScanBudgetPaces(t *testing.T) {
	took := func(budget float64) (time.Duration, cycle.Summary) {
		cfg := sandbox.DefaultConfig()
		cfg.Contacts, cfg.Seed, cfg.RateLimit, cfg.ActivityRate = 600, 3, 1500, 0
		r := &rig{t: t, o: testorg.New(t, cfg), st: testorg.OpenStore(t, testdb.SQLite(t)), hook: newWebhook(t, 0)}
		run := r.runner("p1", func(c *cycle.Config) {
			c.Scan, c.ScanBudget, c.Merge, c.Policy = r.o.Client(t, nil), budget, nil, nil
			c.ScanOptions.PageSize = 10
		})
		s, err := run.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.st.(store.CycleStore).Cycle(ctx(), s.Cycle)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := c.StepDone("scan")
		return st.EndedAt.Sub(st.StartedAt), s
	}
	paced, s := took(0.3)
	if s.Scan.CeilingPerMinute != 450 || s.Scan.WindowAllowed != 1500 || s.Scan.Pages < 55 {
		t.Fatalf("scan = %+v", *s.Scan)
	}
	free, _ := took(0)
	t.Logf("scan of %d pages: %s at 30%% of the window, %s without a budget", s.Scan.Pages, paced, free)
	if min := time.Duration(float64(s.Scan.Pages-45) / 7.5 * float64(time.Second)); paced < min-200*time.Millisecond {
		t.Errorf("the budgeted scan took %s, below the %s its ceiling allows", paced, min)
	}
	if free >= paced {
		t.Errorf("without a budget the scan took %s, not less than with one (%s)", free, paced)
	}
}

// TestSummaryDeliveredLate: a summary the webhook did not take (down for
// every attempt) is posted before the next cycle begins.
func TestSummaryDeliveredLate(t *testing.T) {
	r := newRig(t, testdb.SQLite(t), 40)
	r.hook.mu.Lock()
	r.hook.fail = 4 // every attempt of cycle 1's post
	r.hook.mu.Unlock()
	run := r.runner("p1", func(c *cycle.Config) { c.Merge = nil })
	s1, err := run.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := r.st.(store.CycleStore).Cycle(ctx(), s1.Cycle); !c.NotifiedAt.IsZero() || len(r.hook.summaries()) != 0 {
		t.Fatalf("cycle 1 notified although the webhook failed: %+v", c)
	}
	s2, err := run.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	got := r.hook.summaries()
	if len(got) != 2 || got[0].Cycle != s1.Cycle || got[1].Cycle != s2.Cycle {
		t.Fatalf("posted %+v", got)
	}
	if c, _ := r.st.(store.CycleStore).Cycle(ctx(), s1.Cycle); c.NotifiedAt.IsZero() {
		t.Error("cycle 1 is still unnotified")
	}
}
