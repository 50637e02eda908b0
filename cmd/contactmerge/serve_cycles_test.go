package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/cycle"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// TestNewCmdServeCycles: the schedule and cycle flags of serve; a bad
// schedule, budget, webhook or policy file is exit 2 naming the flag or
// the field, before anything starts.
func TestNewCmdServeCycles(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "p.json"), filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"mode": "enforce", "minConfidence": 0.999, "maxMergesPerCycle": 50}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"mode": "enforce", "minConfidence": 0.999, "maxMergesPerCycle": 50, "maxGroupSize": "four"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	o, code, msg := parse(t, nil, newCmdServe, "--every", "24h", "--policy", good, "--scan-budget", "20%", "--notify-webhook", "https://hooks.example.com/x")
	if code != 0 || o.schedule.Text != "every 24h0m0s" || o.cycles.budget != 0.2 || o.policy == nil || !o.policy.Enforces() || o.cycles.notify == "" || !o.cycles.discover {
		t.Fatalf("flags: %d %s %+v", code, msg, o)
	}
	if o, _, _ := parse(t, nil, newCmdServe, "--every", "24h", "--discover=false"); o == nil || o.cycles.discover {
		t.Fatalf("--discover=false: %+v", o)
	}
	if o, _, _ := parse(t, nil, newCmdServe, "--cron", "0 3 * * 1-5"); o == nil || o.schedule.Text != "cron 0 3 * * 1-5" || o.cycles.budget != 0.3 || o.policy != nil {
		t.Fatalf("--cron: %+v", o)
	}
	if o, _, _ := parse(t, nil, newCmdServe); o == nil || o.schedule.PeriodicSchedule != nil {
		t.Fatalf("no schedule: %+v", o)
	}
	for _, tt := range []struct{ args, want string }{
		{"--every 30s", "--every 30s: cycles are at least 1m0s apart"},
		{"--every 1d", `invalid argument "1d" for "--every"`},
		{"--cron 0_3_*_*", `--cron "0 3 * *": expected exactly 5 fields`},
		{"--every 1h --cron @daily", "--every and --cron are exclusive"},
		{"--scan-budget 0", `--scan-budget "0"`},
		{"--notify-webhook mailto:ops", "--notify-webhook: not an http(s) URL"},
		{"--policy " + bad, "maxGroupSize"},
		{"--policy " + filepath.Join(dir, "missing.json"), "policy file"},
	} {
		args := strings.Fields(tt.args)
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], "_", " ")
		}
		_, code, msg := parse(t, nil, newCmdServe, args...)
		wantRefused(t, code, msg, exitUsage, tt.want)
	}
}

// TestServeCycles: serve with an enforce policy file runs a cycle asked
// for from the console (CSRF-protected): it scans, matches, approves by
// the policy and merges, unattended; the summary is posted to the
// webhook; a shadow policy's serve merges nothing.
func TestServeCycles(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 200, Seed: 5, RateLimit: 100000})
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pol, []byte(`{"mode": "enforce", "minConfidence": 0.99, "maxMergesPerCycle": 100}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var posted []cycle.Summary
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s cycle.Summary
		if err := json.NewDecoder(r.Body).Decode(&s); err == nil {
			mu.Lock()
			posted = append(posted, s)
			mu.Unlock()
		}
	}))
	defer hook.Close()
	db := testdb.SQLite(t)
	vars := map[string]string{}
	for _, kv := range append(o.Env(), "CONTACTMERGE_DB="+db) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	// The first scan binds the store (serve needs a bound store).
	if r := run(t, append(o.Env(), "CONTACTMERGE_DB="+db), "scan"); r.code != 0 {
		t.Fatalf("scan: %+v", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &syncBuf{}, &syncBuf{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--user", "ann", "--verify-settle", "1s", "--every", "24h",
			"--policy", pol, "--notify-webhook", hook.URL + "/cm"}, strings.NewReader(""), out, errOut, func(k string) string { return vars[k] })
	}()
	base := waitURL(t, out, done)
	if !strings.Contains(out.String(), "cycles: every 24h0m0s, next at ") || !strings.Contains(out.String(), "(enforce mode)") {
		t.Errorf("serve says nothing of its cycles:\n%s", out.String())
	}
	b := newBrowserClient(t, base)
	code, page := b.get("/cycles")
	if code != 200 || !strings.Contains(page, `id="cycle-schedule">every 24h0m0s<`) {
		t.Fatalf("/cycles = %d %.600s", code, page)
	}
	if code, _ := b.post("/cycles/run", url.Values{}); code != http.StatusForbidden {
		t.Fatalf("run now without the CSRF token = %d", code)
	}
	if code, body := b.post("/cycles/run", url.Values{"csrf": {find(t, csrfField, page)}}); code != http.StatusSeeOther {
		t.Fatalf("run now = %d %.300s", code, body)
	}
	st := testorg.OpenStore(t, db)
	var c store.Cycle
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := st.(store.CycleStore).Cycles(ctx, 1)
		if err == nil && len(list) == 1 && list[0].State != store.CycleRunning {
			c = list[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cycle ended in 30 s: %+v %v\n%s", list, err, errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	sum := summaryOf(c)
	if c.State != store.CycleDone || c.Trigger != cycle.TriggerConsole || c.Actor != "ann" || sum.Run == nil || sum.Run.Skipped != "" ||
		sum.Run.MergedThisRun == 0 || sum.Run.MergedThisRun != len(o.SB.Oplog()) {
		t.Fatalf("cycle %+v, summary %+v", c, sum)
	}
	// The summary is kept before it is posted: wait for the post.
	n := 0
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n = len(posted)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
	}
	if n != 1 {
		t.Errorf("%d summaries posted, want 1", n)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, errOut.String())
	}
}
