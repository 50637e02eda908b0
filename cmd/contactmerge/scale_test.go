package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestScaleWorkersShareClientBudgets is the scale test of one budget per
// OAuth client shared by every worker, and of the pool: three `worker`
// processes on one PostgreSQL store merge with two OAuth clients
// (GENESYSCLOUD_OAUTHCLIENT_ID and _ID_2), the sandbox's faults on (5xx,
// resets, gateway timeouts of applied merges, 429 bursts). The sandbox
// counts requests per token and per client (all tokens together, in the
// platform's fixed windows): no client's window may hold more than its
// limit, each client must use one token, every worker must merge, and what
// was merged is exactly once (no contact in two merges, the ledger agreeing
// with the platform's oplog; at full size every group merged).
//
// CI size (make test): 90 requests/min per client, so the first windows
// are spent within seconds and the test stops once the workers wait for the
// reset; it logs the groups merged against the budget. Full size
// (CONTACTMERGE_SCALE=full, make scale): 600/min per client, ≈ 2,300
// groups (several windows), until all are merged; it logs merged groups per
// minute against 2 × 600 ÷ requests per group.
func TestScaleWorkersShareClientBudgets(t *testing.T) {
	dsn := testdb.Postgres(t) // the workers share one PostgreSQL
	full := os.Getenv("CONTACTMERGE_SCALE") == "full"
	// At CI size merges are slower and fewer at once, so that the first
	// windows last long enough for every worker to start and take part.
	contacts, limit, deadline, latency, maxConc := 2000, 90, 90*time.Second, 60*time.Millisecond, "4"
	if full {
		contacts, limit, deadline, latency, maxConc = 30000, 600, 30*time.Minute, 40*time.Millisecond, "8"
	}
	spec := "timeout504=0.02,error503=0.03,reset=0.01,throttle429=0.01"
	if v, ok := os.LookupEnv("CONTACTMERGE_SCALE_FAULTS"); ok {
		spec = v // e.g. to measure what each kind of fault costs
	}
	faults, err := sandbox.ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sandbox.DefaultConfig()
	// The default client seeds the store, unlimited; the workers merge with
	// two others, each limited.
	cfg.Contacts, cfg.Seed, cfg.RateLimit, cfg.Faults = contacts, 21, -1, faults
	cfg.GatewayTimeout, cfg.MergeLatency = time.Second, latency
	cfg.Clients = []sandbox.Client{
		{ID: "worker-a", Secret: "worker-a-secret", RateLimit: limit},
		{ID: "worker-b", Secret: "worker-b-secret", RateLimit: limit},
	}
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, dsn)
	groups := seedOrg(t, st, o)
	env := []string{
		"CONTACTMERGE_DB=" + dsn, "GENESYSCLOUD_REGION=" + o.URL,
		"GENESYSCLOUD_OAUTHCLIENT_ID=worker-a", "GENESYSCLOUD_OAUTHCLIENT_SECRET=worker-a-secret",
		"GENESYSCLOUD_OAUTHCLIENT_ID_2=worker-b", "GENESYSCLOUD_OAUTHCLIENT_SECRET_2=worker-b-secret",
	}
	start := time.Now()
	var workers []*exec.Cmd
	for range 3 {
		workers = append(workers, child(t, env, "worker", "--yes", "--verify-settle", "1s", "--concurrency", "2", "--max-concurrency", maxConc))
	}
	// Until every group is merged or (CI) the budget is spent: no request
	// for 3 s while the workers wait for the windows' reset.
	sent := func() int {
		s := o.SB.Stats().Clients
		return s["worker-a"].Requests + s["worker-b"].Requests
	}
	last, lastChange := 0, time.Now()
	for {
		time.Sleep(200 * time.Millisecond)
		counts, err := st.CountByState(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if counts[cm.StateMerged] == len(groups) {
			break
		}
		if n := sent(); n != last {
			last, lastChange = n, time.Now()
		}
		if !full && last > 0 && time.Since(lastChange) > 3*time.Second {
			break
		}
		if time.Since(start) > deadline {
			t.Fatalf("after %s: %v of %d groups; workers:\n%s", deadline, counts, len(groups), workerOutput(workers))
		}
	}
	elapsed := time.Since(start)
	for _, w := range workers {
		if err := w.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range workers {
		if err := w.Wait(); err != nil {
			t.Errorf("worker did not stop cleanly: %v\n%s", err, w.Stdout)
		}
	}

	stats := o.SB.Stats()
	for _, id := range []string{"worker-a", "worker-b"} {
		cs := stats.Clients[id]
		if cs.MaxPerWindow > limit || cs.MaxPerTokenWindow > limit {
			t.Errorf("client %s: %d requests in one window (%d with one token), limit %d", id, cs.MaxPerWindow, cs.MaxPerTokenWindow, limit)
		}
		used := 0
		for _, ts := range stats.Tokens {
			if ts.Client == id && ts.Requests > 0 {
				used++
			}
		}
		if used != 1 {
			t.Errorf("client %s: %d tokens sent requests (%d issued), want 1 shared by the three workers", id, used, cs.TokensIssued)
		}
		if cs.Requests == 0 {
			t.Errorf("client %s sent nothing: merges did not spread across the pool", id)
		}
	}
	actors, merged, first, lastMerge := mergedBy(t, st)
	if len(actors) != 3 {
		t.Errorf("merges by %d workers (%v), want 3", len(actors), actors)
	}
	if full {
		testorg.CheckExactlyOnce(t, st, o, groups, 10)
	} else {
		checkMergedOnce(t, st, o, groups)
	}
	reqs := stats.Clients["worker-a"].Requests + stats.Clients["worker-b"].Requests
	perGroup := float64(reqs) / float64(max(merged, 1))
	spendable := 2 * (limit - min(genesys.DefaultRateFloor, limit/4))
	t.Logf("%d groups, %d merged by %d workers in %s; %d requests (a %d, b %d; max per window a %d, b %d, limit %d); %.2f requests per group; faults %v",
		len(groups), merged, len(actors), elapsed.Round(time.Second), reqs, stats.Clients["worker-a"].Requests, stats.Clients["worker-b"].Requests,
		stats.Clients["worker-a"].MaxPerWindow, stats.Clients["worker-b"].MaxPerWindow, limit, perGroup, stats.Faults)
	if full {
		// The platform's windows are fixed minutes from a client's first
		// request (about when the workers started), and a window's budget
		// is spent as fast as the work allows at its start: the figure is
		// the groups merged in each whole minute from the start (the last,
		// partial one left out), averaged: the minutes are only about the
		// windows (each starts with its first request, 2 s or more after the
		// last one reset), so merges shift between neighbouring minutes.
		var perWindow []int
		for k := 0; start.Add(time.Duration(k+1) * time.Minute).Before(lastMerge); k++ {
			perWindow = append(perWindow, mergedBetween(t, st, start.Add(time.Duration(k)*time.Minute), start.Add(time.Duration(k+1)*time.Minute)))
		}
		bound := 2 * float64(limit) / perGroup
		if len(perWindow) == 0 {
			t.Logf("THROUGHPUT no whole window: everything merged within %s", lastMerge.Sub(first).Round(time.Second))
		} else {
			sum := 0
			for _, n := range perWindow {
				sum += n
			}
			mean := float64(sum) / float64(len(perWindow))
			t.Logf("THROUGHPUT %v merged groups in the whole minutes (mean %.0f/min); limit 2 × %d ÷ %.2f requests per group = %.0f/min (%.0f%%); overall %d groups in %s",
				perWindow, mean, limit, perGroup, bound, 100*mean/bound, merged, lastMerge.Sub(start).Round(time.Second))
		}
	} else {
		t.Logf("THROUGHPUT first windows: %d groups merged with %d requests of the %d the two windows allow after the floor (%.0f%%)",
			merged, reqs, spendable, 100*float64(reqs)/float64(spendable))
	}
}

// workerOutput is what the workers printed so far.
func workerOutput(ws []*exec.Cmd) string {
	var b strings.Builder
	for i, w := range ws {
		fmt.Fprintf(&b, "--- worker %d:\n%s\n", i+1, w.Stdout)
	}
	return b.String()
}

// mergedBy returns the workers (ledger actors) that moved a group to
// merged, how many groups were merged, and when the first and last were.
func mergedBy(t *testing.T, st cm.Store) (actors []string, merged int, first, last time.Time) {
	t.Helper()
	err := st.Ledger(context.Background(), cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerTransition}}, func(ev cm.LedgerEvent) error {
		if ev.To != cm.StateMerged {
			return nil
		}
		merged++
		if !slices.Contains(actors, ev.Actor) {
			actors = append(actors, ev.Actor)
		}
		if first.IsZero() || ev.At.Before(first) {
			first = ev.At
		}
		if ev.At.After(last) {
			last = ev.At
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return actors, merged, first, last
}

// mergedBetween counts the groups that became merged in [from, to).
func mergedBetween(t *testing.T, st cm.Store, from, to time.Time) int {
	t.Helper()
	n := 0
	err := st.Ledger(context.Background(), cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerTransition}}, func(ev cm.LedgerEvent) error {
		if ev.To == cm.StateMerged && !ev.At.Before(from) && ev.At.Before(to) {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkMergedOnce is the exactly-once check of a run stopped part-way (the
// budget spent): no contact took part in two merges; every merge the ledger
// records was applied by the platform, with the inputs recorded; and every
// merge the platform applied is recorded exactly once, unless its group
// still awaits verification (unknown or in flight: its answer was lost and
// the next read, after the window's reset, settles it).
func checkMergedOnce(t *testing.T, st cm.Store, o *testorg.Org, groups []cm.Group) {
	t.Helper()
	ctx := context.Background()
	pending := map[string]bool{}
	for _, g0 := range groups {
		g, err := st.Group(ctx, g0.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g.State == cm.StateUnknown || g.State == cm.StateInFlight {
			for _, id := range append(slices.Clone(g.Members), g.CanonicalID) {
				pending[id] = true
			}
		}
	}
	applied, err := engine.AppliedMerges(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string][]string{}
	for _, m := range applied {
		recorded[m.Result] = append(recorded[m.Result], strings.Join(cm.SortedIDs(m.Inputs), ","))
	}
	inputs, byResult := map[string]int{}, map[string]bool{}
	for _, op := range o.SB.Oplog() {
		if op.Op != "merge" {
			continue
		}
		byResult[op.Result] = true
		for _, id := range op.Resolved {
			if inputs[id]++; inputs[id] == 2 {
				t.Errorf("contact %s took part in two merges", id)
			}
		}
		switch rec := recorded[op.Result]; {
		case len(rec) > 1:
			t.Errorf("platform merge → %s recorded %d times", op.Result, len(rec))
		case len(rec) == 1 && rec[0] != strings.Join(cm.SortedIDs(op.Inputs), ","):
			t.Errorf("platform merge → %s of %v recorded with inputs %s", op.Result, op.Inputs, rec[0])
		case len(rec) == 0 && !slices.ContainsFunc(op.Inputs, func(id string) bool { return pending[id] }):
			t.Errorf("platform merge → %s of %v is not recorded and its group awaits no verification", op.Result, op.Inputs)
		}
	}
	for res := range recorded {
		if !byResult[res] {
			t.Errorf("the ledger records a merge → %s that the platform never applied", res)
		}
	}
}
