package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

func TestNewCmdRun(t *testing.T) {
	tests := []struct {
		args  string
		check func(*runOptions) bool
		code  int
		msg   string
	}{
		{args: "", check: func(o *runOptions) bool {
			return !o.dryRun && !o.wait && !o.asJSON && !o.yes && o.maxPerRequest == 10 && o.concurrency == 5 && o.maxConc == 50 &&
				o.settle == 2*time.Minute && o.jobTimeout == 2*time.Minute && o.rescueAfter == 3*time.Minute && o.maxRate == 0 && o.Factory != nil
		}},
		{args: "--dry-run --json --wait --check-cases --max-per-request 25 --max-rate 200", check: func(o *runOptions) bool {
			return o.dryRun && o.asJSON && o.wait && o.checkCases && o.maxPerRequest == 25 && o.maxRate == 200
		}},
		{args: "--yes", check: func(o *runOptions) bool { return o.yes }},
		{args: "-y --dry-run", check: func(o *runOptions) bool { return o.yes && o.dryRun }},
		{args: "--job-timeout 20s --rescue-after 25s", check: func(o *runOptions) bool { return o.jobTimeout == 20*time.Second && o.rescueAfter == 25*time.Second }},
		{args: "--job-timeout 5m", code: exitUsage, msg: "--rescue-after (3m0s) must exceed --job-timeout (5m0s)"},
		{args: "--job-timeout 1m --rescue-after 1m", code: exitUsage, msg: "must exceed --job-timeout"},
		{args: "--max-rate -1", code: exitUsage, msg: "--max-rate must not be negative"},
		{args: "--verify-settle soon", code: exitUsage, msg: "--verify-settle"},
		{args: "now", code: exitUsage, msg: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			o, code, msg := parse(t, nil, newCmdRun, strings.Fields(tt.args)...)
			if tt.code != 0 {
				wantRefused(t, code, msg, tt.code, tt.msg)
				return
			}
			if code != 0 || !tt.check(o) {
				t.Errorf("options %+v, code %d %s", o, code, msg)
			}
		})
	}
}

// TestRunSurvivesKills: run under faults, killed with SIGKILL at three random
// moments and restarted, ends with every group merged exactly once or
// quarantined, like an uninterrupted run.
func TestRunSurvivesKills(t *testing.T) {
	n := 2500
	if os.Getenv("CONTACTMERGE_FULL") != "" {
		n = 25000
	}
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			faults, _ := sandbox.ParseFaults("timeout504=0.05,error503=0.05,reset=0.02")
			o := testorg.New(t, sandbox.Config{Contacts: n, Seed: 9, ActivityRate: 0.05, Faults: faults, ConflictOnActivity: true,
				TokenTTL: 30 * time.Second, GatewayTimeout: 300 * time.Millisecond, RateLimit: 100000})
			db := dsn(t)
			st := testorg.OpenStore(t, db)
			groups := seedOrg(t, st, o)
			env := append(o.Env(), "CONTACTMERGE_DB="+db)
			// Short job timeouts: the jobs a killed process left running are
			// taken over after 25 s instead of minutes.
			args := []string{"run", "--yes", "--verify-settle", "1s", "--check-cases", "--job-timeout", "20s", "--rescue-after", "25s"}
			for kill := 0; kill < 3; kill++ {
				cmd := child(t, env, args...)
				time.Sleep(time.Duration(500+rand.IntN(5000)) * time.Millisecond)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
			}
			r := run(t, env, args...)
			if r.code != 0 {
				t.Fatalf("final run: code %d\n%s%s", r.code, r.out, r.err)
			}
			t.Logf("%d groups; final run: %s", len(groups), strings.TrimSpace(r.out))
			testorg.CheckExactlyOnce(t, st, o, groups, 10)

			// The id map sends every merged contact to the contact the
			// platform resolves it to now.
			r = run(t, env, "report", "--id-map", "--format", "json")
			dec := json.NewDecoder(strings.NewReader(r.out))
			rows := 0
			for dec.More() {
				var row struct{ OldID, CanonicalID string }
				if err := dec.Decode(&row); err != nil {
					t.Fatal(err)
				}
				rows++
				if got := o.Final(row.OldID); got != row.CanonicalID {
					t.Errorf("id map: %s → %s, the platform resolves it to %s", row.OldID, row.CanonicalID, got)
				}
			}
			if rows == 0 {
				t.Error("the id map is empty")
			}

			// A merged group still shows its members, from the ledger's
			// before-images.
			var merged cm.Group
			for _, g := range groups {
				if g2, _ := st.Group(context.Background(), g.ID); g2.State == cm.StateMerged {
					merged = g2
					break
				}
			}
			r = run(t, env, "plan", "show", merged.ID)
			if r.code != 0 || strings.Contains(r.out, "(unknown)") || !strings.Contains(r.out, "canonical contact: "+merged.CanonicalID) {
				t.Errorf("plan show of merged group %s:\n%s%s", merged.ID, r.out, r.err)
				testorg.DumpLedger(t, st, merged.ID)
			}
		})
	}
}

// storeSnapshot is what a refused command must leave as it was: the
// contacts, the groups (with their versions), the ledger, the binding and
// the request counters.
type storeSnapshot struct {
	contacts []string
	groups   []string
	ledger   int
	org      cm.Org
	requests []cm.RequestCount
}

func snapshot(t *testing.T, st cm.Store) storeSnapshot {
	t.Helper()
	ctx := context.Background()
	var s storeSnapshot
	if err := st.EachContact(ctx, func(c *cm.Contact) error {
		b, err := json.Marshal(c)
		s.contacts = append(s.contacts, string(b))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	gs, err := st.Groups(ctx, cm.GroupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		s.groups = append(s.groups, fmt.Sprintf("%s %s v%d", g.ID, g.State, g.Version))
	}
	if err := st.Ledger(ctx, cm.LedgerFilter{}, func(cm.LedgerEvent) error { s.ledger++; return nil }); err != nil {
		t.Fatal(err)
	}
	if s.org, err = st.Org(ctx); err != nil {
		t.Fatal(err)
	}
	if s.requests, err = st.RequestCounts(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s storeSnapshot) equal(o storeSnapshot) bool {
	return slices.Equal(s.contacts, o.contacts) && slices.Equal(s.groups, o.groups) && s.ledger == o.ledger &&
		s.org == o.org && slices.Equal(s.requests, o.requests)
}

// approveTruth saves one approved group per true cluster of o that the
// store holds entirely, as a steward approving the match would.
func approveTruth(t *testing.T, st store.Store, o *testorg.Org) []cm.Group {
	t.Helper()
	var groups []cm.Group
	for _, cluster := range o.SB.Truth() {
		cs, err := st.Contacts(context.Background(), cluster)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == len(cluster) {
			groups = append(groups, testorg.PlanGroup(cluster, cs))
		}
	}
	if len(groups) == 0 {
		t.Fatal("no cluster to approve")
	}
	testorg.Approve(t, st, groups)
	return groups
}

// TestWrongOrganization is the reproduction of issue 9 item 2: a store
// scanned from organization A, then run (and scanned, and served by a
// worker) with the credentials of organization B. Before, run turned A's
// approved groups into "dropped" and exited 0. Now every command that calls
// the API exits 2 naming both organizations, and neither the store nor
// either platform changes. The two organizations are two sandboxes with
// different seeds: sandbox.Config has no organization setting, and the
// seed derives the organization id tokens/me answers.
func TestWrongOrganization(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			orgA := testorg.New(t, sandbox.Config{Contacts: 300, Seed: 21, RateLimit: 100000})
			orgB := testorg.New(t, sandbox.Config{Contacts: 300, Seed: 22, RateLimit: 100000})
			db := dsn(t)
			envA, envB := append(orgA.Env(), "CONTACTMERGE_DB="+db), append(orgB.Env(), "CONTACTMERGE_DB="+db)
			if r := run(t, envA, "scan"); r.code != 0 {
				t.Fatalf("scan of A: code %d\n%s%s", r.code, r.out, r.err)
			}
			st := testorg.OpenStore(t, db)
			groups := approveTruth(t, st, orgA)
			before := snapshot(t, st)
			a, b := before.org, bindOrgOf(t, orgB)
			if a.ID == b.ID {
				t.Fatalf("the two sandboxes share organization %s", a.ID)
			}
			for _, args := range [][]string{{"run", "--yes"}, {"run", "--dry-run"}, {"scan"}, {"scan", "--restart"}, {"worker", "--yes"}, {"auth", "check"}} {
				r := run(t, envB, args...)
				if r.code != 2 || !strings.Contains(r.err, a.ID) || !strings.Contains(r.err, b.ID) || !strings.Contains(r.err, "nothing was changed") {
					t.Errorf("%v with B's credentials: code %d, want 2 naming %s and %s\n%s%s", args, r.code, a.ID, b.ID, r.out, r.err)
				}
			}
			if after := snapshot(t, st); !after.equal(before) {
				t.Errorf("a refused command changed the store:\nbefore %+v\nafter  %+v", before, after)
			}
			for name, o := range map[string]*testorg.Org{"A": orgA, "B": orgB} {
				if ops := o.SB.Oplog(); len(ops) != 0 {
					t.Errorf("organization %s's oplog has %d entries, want none: %+v", name, len(ops), ops[0])
				}
			}
			if r := run(t, envB, "auth", "check"); !strings.Contains(r.out, "of ANOTHER organization: "+a.String()) {
				t.Errorf("auth check does not show the binding:\n%s", r.out)
			}
			// A's own credentials still work on A's store.
			if r := run(t, envA, "run", "--yes"); r.code != 0 {
				t.Fatalf("run with A's credentials: code %d\n%s%s", r.code, r.out, r.err)
			}
			testorg.CheckExactlyOnce(t, st, orgA, groups, 10)
		})
	}
}

// bindOrgOf returns the organization o's tokens/me names.
func bindOrgOf(t *testing.T, o *testorg.Org) cm.Org {
	t.Helper()
	info, _, err := o.Client(t, nil).Tokens.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cm.Org{ID: info.Organization.ID, Name: info.Organization.Name}
}

// TestRunConfirmation: run prints its plan and merges only with --yes or
// "yes" typed on a terminal; without a terminal and without --yes, and on
// any other answer, it exits 2 and nothing is merged.
func TestRunConfirmation(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 300, Seed: 23, RateLimit: 100000})
	db := testdb.SQLite(t)
	env := append(o.Env(), "CONTACTMERGE_DB="+db)
	if r := run(t, env, "scan"); r.code != 0 {
		t.Fatalf("scan: %s%s", r.out, r.err)
	}
	st := testorg.OpenStore(t, db)
	groups := approveTruth(t, st, o)
	members := 0
	for _, g := range groups {
		members += len(g.Members)
	}
	planLine := fmt.Sprintf("plan: merge %d groups: %d contacts become %d", len(groups), members, len(groups))
	noMerges := func(when string) {
		t.Helper()
		if ops := o.SB.Oplog(); len(ops) != 0 {
			t.Fatalf("%s: the platform applied %d operations", when, len(ops))
		}
		if n, _ := st.CountByState(context.Background()); n[cm.StateApproved] != len(groups) {
			t.Fatalf("%s: groups by state %v, want %d approved", when, n, len(groups))
		}
	}

	r := run(t, env, "run")
	if r.code != 2 || !strings.Contains(r.err, "pass --yes") || !strings.Contains(r.out, planLine) ||
		!strings.Contains(r.out, "Merges are permanent") || !strings.Contains(r.out, "report --id-map") {
		t.Fatalf("run without a terminal or --yes: code %d\n%s%s", r.code, r.out, r.err)
	}
	noMerges("without --yes")

	for _, answer := range []string{"no\n", "", "y es\n"} {
		r = runIO(t, env, answer, true, "run")
		if r.code != 2 || !strings.Contains(r.err, "Type yes to continue") || !strings.Contains(r.err, "run cancelled") || !strings.Contains(r.out, planLine) {
			t.Fatalf("answer %q: code %d\n%s%s", answer, r.code, r.out, r.err)
		}
		noMerges(fmt.Sprintf("after %q", answer))
	}

	// --dry-run: the same plan, group by group, and nothing changes.
	r = run(t, env, "run", "--dry-run")
	if r.code != 0 || !strings.Contains(r.out, planLine) || !strings.Contains(r.out, groups[0].ID) || !strings.Contains(r.out, "nothing changed") {
		t.Fatalf("run --dry-run: code %d\n%s%s", r.code, r.out, r.err)
	}
	r = run(t, env, "run", "--dry-run", "--json")
	var dry struct {
		Plan  runPlan
		Check struct{ Groups, WouldMerge int }
	}
	if err := json.Unmarshal([]byte(r.out), &dry); err != nil {
		t.Fatalf("run --dry-run --json: %v\n%s", err, r.out)
	}
	if dry.Plan.Groups != len(groups) || dry.Plan.Contacts != members || len(dry.Plan.PerGroup) != len(groups) ||
		dry.Plan.MergeRequests < len(groups) || dry.Plan.EstimatedSeconds < 0 || dry.Check.Groups != len(groups) {
		t.Errorf("run --dry-run --json: %+v", dry)
	}
	noMerges("after --dry-run")

	r = runIO(t, env, "yes\n", true, "run", "--verify-settle", "1s")
	if r.code != 0 || !strings.Contains(r.out, "run finished") {
		t.Fatalf("answer yes: code %d\n%s%s", r.code, r.out, r.err)
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)

	// Nothing left: no question, exit 0.
	r = run(t, env, "run")
	if r.code != 0 || !strings.Contains(r.out, "plan: nothing to merge") {
		t.Errorf("run with nothing to merge: code %d\n%s%s", r.code, r.out, r.err)
	}
}

// TestRunWithYes: --yes merges without a terminal, and --json keeps
// standard output to the one summary object (the plan goes to standard
// error).
func TestRunWithYes(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 200, Seed: 24, RateLimit: 100000})
	db := testdb.SQLite(t)
	st := testorg.OpenStore(t, db)
	groups := seedOrg(t, st, o)
	r := run(t, append(o.Env(), "CONTACTMERGE_DB="+db), "run", "--yes", "--json", "--verify-settle", "1s")
	var sum struct{ MergedThisRun int }
	if err := json.Unmarshal([]byte(r.out), &sum); r.code != 0 || err != nil || !strings.Contains(r.err, "plan: merge") {
		t.Fatalf("run --yes --json: code %d, %v\n%s%s", r.code, err, r.out, r.err)
	}
	if sum.MergedThisRun == 0 {
		t.Errorf("nothing merged: %s", r.out)
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)
}

// TestStatusCountsThrottles is the reproduction of issue 9 item 5: after a
// scan and a run under injected 429 bursts, status reported 0 throttled
// because the ledger keeps only the merge outcomes. Now the request
// counters hold every 429 the commands received, which is exactly what the
// platform (the sandbox's stats) answered.
func TestStatusCountsThrottles(t *testing.T) {
	faults, err := sandbox.ParseFaults("throttle429=0.04")
	if err != nil {
		t.Fatal(err)
	}
	o := testorg.New(t, sandbox.Config{Contacts: 400, Seed: 25, RateLimit: 100000, Faults: faults})
	db := testdb.SQLite(t)
	env := append(o.Env(), "CONTACTMERGE_DB="+db)
	if r := run(t, env, "scan", "--page-size", "20"); r.code != 0 {
		t.Fatalf("scan: %s%s", r.out, r.err)
	}
	st := testorg.OpenStore(t, db)
	approveTruth(t, st, o)
	if r := run(t, env, "run", "--yes", "--verify-settle", "1s"); r.code != 0 {
		t.Fatalf("run: %s%s", r.out, r.err)
	}
	r := run(t, env, "status", "--json")
	var rep statusReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatal(err, r.out)
	}
	stats := o.SB.Stats()
	t.Logf("status: %d requests, %d throttled; sandbox: %d requests, %d throttled", rep.Requests.Total, rep.Requests.Throttled,
		testorg.Requests(stats), stats.Throttled)
	if stats.Throttled == 0 {
		t.Fatal("the sandbox answered no 429: the test proves nothing")
	}
	if rep.Requests.Throttled != int64(stats.Throttled) {
		t.Errorf("status counts %d throttled responses, the platform answered %d", rep.Requests.Throttled, stats.Throttled)
	}
	if rep.Requests.Total != int64(testorg.Requests(stats)) {
		t.Errorf("status counts %d requests, the platform answered %d", rep.Requests.Total, testorg.Requests(stats))
	}
}

// TestEstimateSeconds: the plan's time at a budget.
func TestEstimateSeconds(t *testing.T) {
	tests := []struct {
		requests int
		b        planBudget
		want     float64
	}{
		{30, planBudget{PerMinute: 300, Remaining: 300, ResetSeconds: 60}, 6},
		{0, planBudget{PerMinute: 300, Remaining: 300}, 0},
		// 100 fit above the floor of 10; 290 more at 290 a window after the reset.
		{390, planBudget{PerMinute: 300, Remaining: 110, ResetSeconds: 20}, 20 + 60},
		{100, planBudget{PerMinute: 300, Remaining: 5, ResetSeconds: 30}, 30 + 100*60.0/290},
		{100, planBudget{PerMinute: 300, Remaining: 300, MaxRate: 100}, 60},
		{100, planBudget{MaxRate: 200}, 30},
		{100, planBudget{}, -1},
	}
	for _, tt := range tests {
		if got := estimateSeconds(tt.requests, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("estimateSeconds(%d, %+v) = %g, want %g", tt.requests, tt.b, got, tt.want)
		}
	}
}
