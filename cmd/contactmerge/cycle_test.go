package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/cycle"
	"github.com/contactmerge/contactmerge/discover"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

func TestNewCmdCycle(t *testing.T) {
	o, code, _ := parse(t, nil, newCmdCycle)
	if code != 0 || o.flags.budget != 0.3 || o.flags.policy != "" || o.yes || !o.flags.discover {
		t.Errorf("defaults: %+v", o)
	}
	if o, code, _ := parse(t, nil, newCmdCycle, "--discover=false"); code != 0 || o.flags.discover {
		t.Errorf("--discover=false: %+v", o)
	}
	if o.flags.days != discover.DefaultDays {
		t.Errorf("--discover-days default %d, want %d", o.flags.days, discover.DefaultDays)
	}
	if o, code, _ := parse(t, nil, newCmdCycle, "--discover-days", "62"); code != 0 || o.flags.days != 62 {
		t.Errorf("--discover-days 62: %+v", o)
	}
	for _, bad := range []string{"0", "-1", "367"} {
		_, code, msg := parse(t, nil, newCmdCycle, "--discover-days", bad)
		wantRefused(t, code, msg, exitUsage, "--discover-days "+bad+": want 1 to 366 days")
	}
	if o, code, _ := parse(t, nil, newCmdCycle, "--policy", "p.json", "--scan-budget", "0.5", "--yes", "--json",
		"--notify-webhook", "https://hooks.example.com/x", "--max-rate", "200"); code != 0 || o.flags.budget != 0.5 ||
		o.flags.policy != "p.json" || !o.yes || !o.asJSON || o.pipeline.maxRate != 200 {
		t.Errorf("flags: %+v", o)
	}
	if o, _, _ := parse(t, nil, newCmdCycle, "--scan-budget", "100%"); o == nil || o.flags.budget != 1 {
		t.Errorf("100%%: %+v", o)
	}
	for _, bad := range []string{"0", "0%", "150%", "abc", "-10%"} {
		_, code, msg := parse(t, nil, newCmdCycle, "--scan-budget", bad)
		wantRefused(t, code, msg, exitUsage, `--scan-budget "`+bad+`"`)
	}
	_, code, msg := parse(t, nil, newCmdCycle, "--notify-webhook", "ftp://hooks.example.com/s3cret")
	wantRefused(t, code, msg, exitUsage, "--notify-webhook: not an http(s) URL")
	if strings.Contains(msg, "s3cret") {
		t.Errorf("the refusal shows the webhook's address: %s", msg)
	}
	_, code, msg = parse(t, nil, newCmdCycle, "now")
	wantRefused(t, code, msg, exitUsage, "unknown command")
}

func TestNewCmdCycleSubcommands(t *testing.T) {
	if o, code, _ := parse(t, nil, newCmdCycleList, "--limit", "5", "--json"); code != 0 || o.limit != 5 || !o.asJSON {
		t.Errorf("list: %+v", o)
	}
	_, code, msg := parse(t, nil, newCmdCycleList, "--limit", "0")
	wantRefused(t, code, msg, exitUsage, "--limit must be at least 1")
	if o, code, _ := parse(t, nil, newCmdCycleShow, "12"); code != 0 || o.id != 12 {
		t.Errorf("show: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdCycleShow, "twelve")
	wantRefused(t, code, msg, exitUsage, `cycle show "twelve": a cycle id is a positive number`)
	if o, code, _ := parse(t, nil, newCmdCycleSkip, "--reason", "quarter close", "--actor", "ann"); code != 0 || o.reason != "quarter close" || o.user != "ann" {
		t.Errorf("skip: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdCycleSkip, "--undo", "--reason", "x")
	wantRefused(t, code, msg, exitUsage, "--undo withdraws the pending skip")
}

// TestCycleCommand: a cycle with an enforce policy merges what the policy
// approves after --yes, and is listed and shown; without --yes and without
// a terminal it merges nothing (exit 2, the cycle recorded as failed); a
// bad policy file is exit 2 naming the field and records no cycle; skip
// and its undo.
func TestCycleCommand(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 200, Seed: 3, RateLimit: 100000})
	dir := t.TempDir()
	db := testdb.SQLite(t)
	env := append(o.Env(), "CONTACTMERGE_DB="+db, "USER=ann")
	pol := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pol, []byte(`{"mode": "enforce", "minConfidence": 0.99, "maxMergesPerCycle": 100}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"mode": "enforce", "minConfidence": 2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, env, "cycle", "--policy", bad); r.code != exitUsage || !strings.Contains(r.err, "minConfidence") {
		t.Fatalf("bad policy: %+v", r)
	}

	// No terminal, no --yes: the plan is shown, nothing merged.
	r := run(t, env, "cycle", "--policy", pol)
	if r.code != exitUsage || !strings.Contains(r.err, "pass --yes") || len(o.SB.Oplog()) != 0 {
		t.Fatalf("without --yes: %+v, %d platform merges", r, len(o.SB.Oplog()))
	}
	if !strings.Contains(r.out, "cycle 1 (cli, ann) failed") || !strings.Contains(r.out, "policy   "+pol+" (enforce)") {
		t.Errorf("summary of the unconfirmed cycle:\n%s", r.out)
	}

	r = run(t, env, "cycle", "--policy", pol, "--yes", "--json")
	if r.code != 0 {
		t.Fatalf("cycle --yes: %+v", r)
	}
	var sum cycle.Summary
	if err := json.Unmarshal([]byte(r.out), &sum); err != nil {
		t.Fatal(err, r.out)
	}
	if sum.Cycle != 2 || sum.State != store.CycleDone || sum.Run == nil || sum.Run.MergedThisRun == 0 ||
		sum.Run.MergedThisRun != len(o.SB.Oplog()) || sum.Scan.CeilingPerMinute != 30000 {
		t.Fatalf("summary: %+v", sum)
	}
	// On by default; this organization has no conversation history.
	if d := sum.Discover; d == nil || d.Skipped != "" || d.Days != 31 || d.Via != "jobs" || d.CeilingPerMinute != 30000 || d.Requests == 0 {
		t.Errorf("discover step: %+v", d)
	}
	if !strings.Contains(r.err, "groups") { // the plan, on standard error with --json
		t.Errorf("no plan on standard error: %s", r.err)
	}

	r = run(t, env, "cycle", "skip", "--reason", "quarter close")
	if r.code != 0 || !strings.Contains(r.out, "the next scheduled cycle will be skipped (asked by ann") {
		t.Fatalf("skip: %+v", r)
	}
	r = run(t, env, "cycle", "list")
	if r.code != 0 || !strings.Contains(r.out, "the next scheduled cycle is skipped (asked by ann") ||
		!strings.Contains(r.out, "ID  STATE") || !strings.Contains(r.out, "2   done") || !strings.Contains(r.out, "1   failed") {
		t.Fatalf("list:\n%s%s", r.out, r.err)
	}
	r = run(t, env, "cycle", "show", "2")
	for _, w := range []string{"cycle 2 (cli, ann) done", "scan     ", "discover 0 conversations of 31 days", "report", "ATTEMPTS"} {
		if r.code != 0 || !strings.Contains(r.out, w) {
			t.Errorf("show lacks %q:\n%s%s", w, r.out, r.err)
		}
	}
	if r := run(t, env, "cycle", "show", "9"); r.code != exitUsage || !strings.Contains(r.err, "no cycle 9") {
		t.Errorf("show 9: %+v", r)
	}
	if r := run(t, env, "cycle", "skip", "--undo"); r.code != 0 || !strings.Contains(r.out, "withdrawn") {
		t.Errorf("undo: %+v", r)
	}
	if r := run(t, env, "cycle", "skip", "--undo"); r.code != exitUsage || !strings.Contains(r.err, "no skip is pending") {
		t.Errorf("undo again: %+v", r)
	}
}

// TestCycleResumesAfterKill: a cycle killed (-9) in its run step, with
// merges in flight, is resumed at that step by the next 'contactmerge
// cycle' at once (SQLite: the store's lock is free, so its process is
// known dead), without scanning, matching or judging again, and every
// group ends merged exactly once.
func TestCycleResumesAfterKill(t *testing.T) {
	// Slow merges (40 ms per id) at 600 requests a minute: the run step
	// lasts several seconds.
	o := testorg.New(t, sandbox.Config{Contacts: 1500, Seed: 4, RateLimit: 600, MergeLatency: 40 * time.Millisecond})
	dir := t.TempDir()
	db := testdb.SQLite(t)
	env := append(o.Env(), "CONTACTMERGE_DB="+db, "USER=ann")
	pol := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(pol, []byte(`{"mode": "enforce", "minConfidence": 0.99, "maxMergesPerCycle": 1000}`), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"cycle", "--policy", pol, "--yes", "--verify-settle", "3s", "--json"}
	cmd := child(t, env, args...)
	st := testorg.OpenStore(t, db)
	cs := st.(store.CycleStore)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := cs.Cycle(context.Background(), 1)
		if err == nil && c.Step == "run" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cycle never reached its run step: %+v %v", c, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	before := len(o.SB.Oplog())
	counts, _ := st.CountByState(context.Background())
	t.Logf("killed in the run step after %d platform merges: %v", before, counts)
	if counts[cm.StateApproved]+counts[cm.StateReady]+counts[cm.StateInFlight]+counts[cm.StateUnknown] == 0 {
		t.Fatalf("the run step had finished before the kill: %v", counts)
	}

	start := time.Now()
	r := run(t, env, args...)
	if r.code != 0 {
		t.Fatalf("resume: %+v", r)
	}
	var sum cycle.Summary
	if err := json.Unmarshal([]byte(r.out), &sum); err != nil {
		t.Fatal(err, r.out)
	}
	c, err := cs.Cycle(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed and finished in %s: %d merged by the resumed run step", time.Since(start).Round(time.Millisecond), sum.Run.MergedThisRun)
	if sum.Cycle != 1 || sum.Resumes != 1 || c.State != store.CycleDone {
		t.Fatalf("resumed cycle: %+v", c)
	}
	for _, s := range c.Steps {
		want := 1
		if s.Name == "run" {
			want = 2
		}
		if s.Attempts != want {
			t.Errorf("step %s ran %d times, want %d", s.Name, s.Attempts, want)
		}
	}
	merged, err := st.Groups(context.Background(), cm.GroupFilter{States: []cm.GroupState{cm.StateMerged}})
	if err != nil {
		t.Fatal(err)
	}
	left, _ := st.CountByState(context.Background())
	if left[cm.StateApproved]+left[cm.StateReady]+left[cm.StateInFlight]+left[cm.StateUnknown] != 0 {
		t.Errorf("groups left runnable: %v", left)
	}
	var res DemoResult
	checkExactlyOnce(&res, o.SB, merged, engine.DefaultConfig().MaxPerRequest)
	if !res.ExactlyOnce || res.DoubleMerged != 0 {
		t.Errorf("%d platform merges for %d merged groups, %d contacts merged twice", res.PlatformMerges, len(merged), res.DoubleMerged)
	}
	testorg.CheckLedgerMerges(t, st, o)
}

// TestCycleCommandDiscovers: against an organization whose auto-created
// duplicates scan cannot see, 'contactmerge cycle' finds them in its
// discover step and merges those the policy approves; cycle show prints
// the step; with --discover=false the step reads nothing and says so.
func TestCycleCommandDiscovers(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 300, Seed: 4, RateLimit: 100000, History: true})
	pol := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(pol, []byte(`{"mode": "enforce", "minConfidence": 0.99, "maxGroupSize": 4, "maxMergesPerCycle": 100}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(o.Env(), "CONTACTMERGE_DB="+testdb.SQLite(t), "USER=ann")

	r := run(t, env, "cycle", "--discover=false", "--json")
	var off cycle.Summary
	if err := json.Unmarshal([]byte(r.out), &off); r.code != 0 || err != nil {
		t.Fatalf("--discover=false: %v %+v", err, r)
	}
	if off.Discover == nil || !strings.Contains(off.Discover.Skipped, "--discover=false") || o.SB.Stats().Requests["POST /api/v2/analytics/conversations/details/jobs"] != nil {
		t.Fatalf("--discover=false: %+v", off.Discover)
	}

	r = run(t, env, "cycle", "--policy", pol, "--yes", "--json", "--discover-days", "40")
	var sum cycle.Summary
	if err := json.Unmarshal([]byte(r.out), &sum); r.code != 0 || err != nil {
		t.Fatalf("cycle: %v %+v", err, r)
	}
	d := sum.Discover
	if sum.State != store.CycleDone || d == nil || d.Skipped != "" || d.Found == 0 || d.FoundByType[cm.TypeEphemeral]+d.FoundByType[cm.TypeIdentified] != d.Found {
		t.Fatalf("cycle: %+v, discover %+v", sum, d)
	}
	merged := 0
	for _, op := range o.SB.Oplog() {
		for _, id := range op.Resolved {
			if c, ok := o.SB.Contact(id); ok && c.Type != cm.TypeCurated {
				merged++
			}
		}
	}
	if sum.Run.MergedThisRun == 0 || merged == 0 {
		t.Errorf("merged %d groups, %d auto-created contacts among the merged", sum.Run.MergedThisRun, merged)
	}
	r = run(t, env, "cycle", "show", "2")
	if want := "discover " + strconv.Itoa(d.Conversations) + " conversations of 40 days"; r.code != 0 || !strings.Contains(r.out, want) || !strings.Contains(r.out, "found (") {
		t.Errorf("show lacks %q:\n%s%s", want, r.out, r.err)
	}
}
