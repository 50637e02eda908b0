package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdRun(t *testing.T) {
	tests := []struct {
		args  string
		check func(*runOptions) bool
		code  int
		msg   string
	}{
		{args: "", check: func(o *runOptions) bool {
			return !o.dryRun && !o.wait && !o.asJSON && o.maxPerRequest == 10 && o.concurrency == 5 && o.maxConc == 50 &&
				o.settle == 2*time.Minute && o.jobTimeout == 2*time.Minute && o.rescueAfter == 3*time.Minute && o.maxRate == 0 && o.Factory != nil
		}},
		{args: "--dry-run --json --wait --check-cases --max-per-request 25 --max-rate 200", check: func(o *runOptions) bool {
			return o.dryRun && o.asJSON && o.wait && o.checkCases && o.maxPerRequest == 25 && o.maxRate == 200
		}},
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
			groups := testorg.Seed(t, st, o)
			env := append(o.Env(), "CONTACTMERGE_DB="+db)
			// Short job timeouts: the jobs a killed process left running are
			// taken over after 25 s instead of minutes.
			args := []string{"run", "--verify-settle", "1s", "--check-cases", "--job-timeout", "20s", "--rescue-after", "25s"}
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
