package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// TestRunTakesOverAfterKill: a run of about 300 groups at a 600/min limit
// is killed (-9) after 4 s, with merge jobs running; the restarted run (the
// default --rescue-after of 3 min) takes over the dead run's jobs and
// member leases within 15 s (SQLite: at once, the store's lock being free;
// PostgreSQL: once the dead worker's heartbeat is 10 s old) instead of
// after minutes, and finishes every group exactly once. The times are
// logged.
func TestRunTakesOverAfterKill(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			// Slow merges (50 ms per id) so that 4 s is mid-run.
			o := testorg.New(t, sandbox.Config{Contacts: 4200, Seed: 3, RateLimit: 600, MergeLatency: 50 * time.Millisecond})
			db := dsn(t)
			st := testorg.OpenStore(t, db)
			groups := seedOrg(t, st, o)
			ws := st.(store.WorkerStore)
			env := append(o.Env(), "CONTACTMERGE_DB="+db)
			// A group whose request the kill cut off and that is verified not
			// applied waits --verify-settle (default 2 min: a merge may still
			// complete after a gateway timeout) before it is sent again; short
			// here, so that the finish time measures the takeover.
			args := []string{"run", "--yes", "--verify-settle", "3s"}
			cmd := child(t, env, args...)
			time.Sleep(4 * time.Second)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			ctx := context.Background()
			held, err := ws.RunningJobs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			counts, _ := st.CountByState(ctx)
			t.Logf("%d groups; killed after 4 s: %v, running jobs by worker %v", len(groups), counts, held)

			start := time.Now()
			type res struct {
				r  result
				at time.Duration
			}
			done := make(chan res, 1)
			go func() { r := run(t, env, args...); done <- res{r, time.Since(start)} }()
			var takeover time.Duration
			var fin res
		poll:
			for {
				select {
				case fin = <-done:
					break poll
				case <-time.After(100 * time.Millisecond):
				}
				if takeover > 0 {
					continue
				}
				now, err := ws.RunningJobs(ctx)
				if err != nil {
					t.Fatal(err)
				}
				left := 0
				for id := range held {
					left += now[id]
				}
				if left == 0 {
					takeover = time.Since(start)
				}
			}
			if takeover == 0 {
				takeover = fin.at
			}
			if fin.r.code != 0 {
				t.Fatalf("restarted run: code %d\n%s%s", fin.r.code, fin.r.out, fin.r.err)
			}
			t.Logf("restarted run: dead run's jobs taken over after %.1f s, finished after %.1f s: %s\n%s",
				takeover.Seconds(), fin.at.Seconds(), strings.TrimSpace(fin.r.out), lastLines(fin.r.err, 30))
			if takeover > 15*time.Second {
				t.Errorf("takeover after %v, want within 15 s of the restart", takeover)
			}
			testorg.CheckExactlyOnce(t, st, o, groups, 10)
		})
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}
