package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestFaultMatrix runs the merge pipeline through the CLI under each kind of
// platform fault, with and without a kill -9 part-way, on both stores, and
// ends every cell with the same audit: the ledger agrees with the
// platform's oplog (every platform merge recorded once, with its inputs,
// nothing recorded that the platform did not do), every approved group
// merged exactly once or quarantined (testorg.CheckExactlyOnce), and the id
// map holds every contact the platform merged (checkIDMap). CI size:
// CONTACTMERGE_FULL=1 makes each organization ten times larger.
func TestFaultMatrix(t *testing.T) {
	n := 240
	if os.Getenv("CONTACTMERGE_FULL") != "" {
		n = 2400
	}
	faults := []string{"error503=0.2", "timeout504=0.1,reset=0.05", "throttle429=0.2"}
	for name, dsn := range testdb.Stores(t) {
		for fi, spec := range faults {
			for _, kill := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/kill=%v", name, spec, kill), func(t *testing.T) {
					fs, err := sandbox.ParseFaults(spec)
					if err != nil {
						t.Fatal(err)
					}
					o := testorg.New(t, sandbox.Config{Contacts: n, Seed: int64(100 + fi), Faults: fs, ActivityRate: 0.03,
						ConflictOnActivity: true, GatewayTimeout: 300 * time.Millisecond, RateLimit: 100000})
					db := dsn(t)
					st := testorg.OpenStore(t, db)
					groups := seedOrg(t, st, o)
					env := append(o.Env(), "CONTACTMERGE_DB="+db)
					args := []string{"run", "--yes", "--verify-settle", "1s", "--job-timeout", "5s", "--rescue-after", "6s"}
					if kill {
						cmd := child(t, env, args...)
						time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
						_ = cmd.Process.Signal(syscall.SIGKILL)
						_ = cmd.Wait()
					}
					if r := run(t, env, args...); r.code != 0 {
						t.Fatalf("run: code %d\n%s%s", r.code, r.out, r.err)
					}
					testorg.CheckExactlyOnce(t, st, o, groups, 10)
					var ids []string
					for _, g := range groups {
						ids = append(ids, g.Members...)
					}
					if checkIDMap(t, env, o, ids) == 0 {
						t.Error("nothing was merged: the cell proves nothing")
					}
					for _, g := range groups {
						if g2, err := st.Group(t.Context(), g.ID); err == nil && g2.State == cm.StateFailed {
							t.Errorf("group %s failed: %s", g.ID, g2.Reason)
						}
					}
				})
			}
		}
	}
}
