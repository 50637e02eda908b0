package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/riverqueue/river"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/cycle"
	"github.com/contactmerge/contactmerge/discover"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/store"
	"github.com/contactmerge/contactmerge/web"
)

// cycles is the console's CycleControl over a real cycle.Scheduler on the
// fixture's store and sandbox (as serve's, without a run step), started
// once the fixture exists.
type cycles struct {
	sched *cycle.Scheduler
	stop  func()
}

func (c *cycles) start(t *testing.T, f *fixture) {
	t.Helper()
	run, err := cycle.New(cycle.Config{Store: f.st.(cycle.Store), Scan: f.org.Client(t, nil), ScanBudget: 0.3, Owner: "console-test",
		Discover: &discover.Options{PollInterval: time.Millisecond},
		// The fixture's store is bound to a made-up organization id
		// (seedStore); the organization check is cycle's own tests'.
		CheckOrg: func(ctx context.Context) (cm.Org, genesys.RateLimit, error) {
			o, err := f.st.Org(ctx)
			return o, genesys.RateLimit{}, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	c.sched = cycle.NewScheduler(run, cycle.Schedule{PeriodicSchedule: river.PeriodicInterval(time.Hour), Text: "every 1h0m0s"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.sched.Run(ctx) }()
	c.stop = func() { cancel(); <-done }
	t.Cleanup(c.stop)
}

func (c *cycles) CycleStatus(ctx context.Context) (web.CycleStatus, error) {
	st, err := c.sched.Status(ctx)
	return web.CycleStatus{Schedule: st.Schedule, Next: st.Next, Running: st.Running, Skip: st.Skip, LastErr: st.LastErr,
		Merges: "cycles merge nothing: no --policy file"}, err
}

func (c *cycles) RunCycleNow(_ context.Context, actor string) error {
	return c.sched.RunNow(actor, cycle.TriggerConsole)
}

func (c *cycles) SkipNextCycle(ctx context.Context, actor, reason string) error {
	_, err := c.sched.SkipNext(ctx, actor, reason)
	return err
}

func (c *cycles) WithdrawCycleSkip(ctx context.Context, _ string) error {
	_, err := c.sched.WithdrawSkip(ctx)
	return err
}

func newCyclesFixture(t *testing.T) *fixture {
	c := &cycles{}
	f := newFixture(t, fixtureOpts{contacts: 120, cfg: func(cfg *web.Config) { cfg.Cycles = c }})
	c.start(t, f)
	return f
}

// waitCycle waits until cycle id has ended.
func waitCycle(t *testing.T, f *fixture, id int64) store.Cycle {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := f.st.(store.CycleStore).Cycle(context.Background(), id)
		if err == nil && c.State != store.CycleRunning {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("cycle %d: %+v, %v after 20 s", id, c, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCyclesPage: the page shows the schedule and the cycles; "run now"
// and "skip next" are POSTs that need the session's CSRF token; a cycle
// run from the console is recorded as the console's, by the person.
func TestCyclesPage(t *testing.T) {
	f := newCyclesFixture(t)
	r := f.get("/cycles")
	for _, want := range []string{`id="cycles-none"`, `id="cycle-schedule">every 1h0m0s<`, "cycles merge nothing", `action="/cycles/run"`, `href="/cycles" class="on"`} {
		if r.status != http.StatusOK || !strings.Contains(r.body, want) {
			t.Fatalf("cycles page lacks %q: %d\n%s", want, r.status, r.body)
		}
	}
	for _, path := range []string{"/cycles/run", "/cycles/skip", "/cycles/unskip"} {
		if r := f.post(path, url.Values{}); r.status != http.StatusForbidden {
			t.Errorf("POST %s without the CSRF token = %d, want 403", path, r.status)
		}
	}
	csrf := f.csrf("/cycles")
	if r := f.post("/cycles/run", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "flash=cycle-started") {
		t.Fatalf("run now: %d %s", r.status, r.header.Get("Location"))
	}
	c := waitCycle(t, f, 1)
	if c.State != store.CycleDone || c.Trigger != cycle.TriggerConsole || c.Actor != "tester" {
		t.Fatalf("cycle 1 = %+v", c)
	}
	r = f.get("/cycles")
	if !strings.Contains(r.body, `id="cycle-1"`) || !strings.Contains(r.body, "state-done") || !strings.Contains(r.body, "report ✓") ||
		!strings.Contains(r.body, "discover ✓") {
		t.Fatalf("the list lacks cycle 1:\n%s", r.body)
	}
	// The discover step's counts, as the store recorded them.
	c1, err := f.st.(store.CycleStore).Cycle(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var sum cycle.Summary
	if err := json.Unmarshal(c1.Summary, &sum); err != nil || sum.Discover == nil || sum.Discover.Skipped != "" {
		t.Fatalf("cycle 1 summary: %v %s", err, c1.Summary)
	}
	want := fmt.Sprintf(`id="cycle-1-discovered">%d`, sum.Discover.Found)
	if !strings.Contains(r.body, want) || !strings.Contains(r.body, fmt.Sprintf(" of %d conversations, %d requests<", sum.Discover.Conversations, sum.Discover.Requests)) {
		t.Fatalf("the list lacks the discover counts %+v:\n%s", sum.Discover, r.body)
	}
	if r := f.post("/cycles/skip", url.Values{"csrf": {csrf}, "reason": {"quarter close"}}); r.status != http.StatusSeeOther {
		t.Fatalf("skip: %d %s", r.status, r.body)
	}
	r = f.get("/cycles")
	if !strings.Contains(r.body, `id="cycle-skip-pending"`) || !strings.Contains(r.body, "quarter close") || strings.Contains(r.body, `id="cycle-skip-form"`) {
		t.Fatalf("no pending skip shown:\n%s", r.body)
	}
	if r := f.post("/cycles/unskip", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
		t.Fatalf("unskip: %d %s", r.status, r.body)
	}
	if r := f.post("/cycles/unskip", url.Values{"csrf": {csrf}}); r.status != http.StatusNotFound || !strings.Contains(r.body, "no skip is pending") {
		t.Fatalf("unskip again: %d %.300s", r.status, r.body)
	}
	if r := f.post("/cycles/skip", url.Values{"csrf": {csrf}, "reason": {strings.Repeat("x", 501)}}); r.status != http.StatusBadRequest {
		t.Fatalf("a 501-character reason: %d", r.status)
	}
}

// TestBrowserCycles: a person opens the cycles page from the navigation,
// runs a cycle now and sees it in the list, skips the next scheduled
// cycle with a reason and withdraws that. A screenshot is kept.
func TestBrowserCycles(t *testing.T) {
	f := newCyclesFixture(t)
	ctx := newBrowser(t)
	step(t, ctx, "open the overview", chromedp.Navigate(f.url+"/"), chromedp.WaitVisible(chromedp.CSS(`nav a[href="/cycles"]`)))
	step(t, ctx, "open the cycles page", chromedp.Click(chromedp.CSS(`nav a[href="/cycles"]`)), chromedp.WaitVisible(chromedp.ID("cycle-run")))
	step(t, ctx, "run a cycle now", chromedp.Click(chromedp.ID("cycle-run")), chromedp.WaitVisible(chromedp.ID("cycle-notice")))
	waitCycle(t, f, 1)
	step(t, ctx, "reload", chromedp.Navigate(f.url+"/cycles"), chromedp.WaitVisible(chromedp.ID("cycle-1")))
	if row := value(t, ctx, "cycle 1", chromedp.Text(chromedp.ID("cycle-1"))); !strings.Contains(row, "done") || !strings.Contains(row, "console") ||
		!strings.Contains(row, "discover ✓") || !strings.Contains(row, " conversations, ") {
		t.Fatalf("cycle 1 row: %q", row)
	}
	step(t, ctx, "skip the next cycle", chromedp.SetValue(chromedp.ID("cycle-skip-reason"), "quarter close"), chromedp.Click(chromedp.ID("cycle-skip")),
		chromedp.WaitVisible(chromedp.ID("cycle-skip-pending")))
	if got := value(t, ctx, "pending", chromedp.Text(chromedp.ID("cycle-skip-pending"))); !strings.Contains(got, "quarter close") || !strings.Contains(got, "tester") {
		t.Fatalf("pending skip: %q", got)
	}
	png := value(t, ctx, "cycles screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(screenshotDir(t), "cycles.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "withdraw the skip", chromedp.Click(chromedp.ID("cycle-unskip")), chromedp.WaitVisible(chromedp.ID("cycle-skip-form")))
	if _, err := f.st.(store.CycleStore).PendingSkip(context.Background()); err == nil {
		t.Fatal("the skip is still pending after the withdrawal")
	}
}
