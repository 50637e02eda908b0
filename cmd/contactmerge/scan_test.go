package main

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdScan(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdScan)
	if code != 0 || o.restart || o.division != "" || o.pageSize != 200 {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdScan, "--restart", "--division", "d1", "--page-size", "50")
	if !o.restart || o.division != "d1" || o.pageSize != 50 {
		t.Errorf("flags: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdScan, "--page-size", "many")
	wantRefused(t, code, msg, exitUsage, "--page-size")
}

// TestScanResumesAfterKill kills a real scan process with SIGKILL three
// times and checks that the resumed scans lose no contact and fetch no page
// twice beyond the ones in flight at each kill (engine.ScanRefetchMax).
func TestScanResumesAfterKill(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			o := testorg.New(t, sandbox.Config{Contacts: 100000, Seed: 2, RateLimit: 100000000})
			db := dsn(t)
			env := append(o.Env(), "CONTACTMERGE_DB="+db)
			st := testorg.OpenStore(t, db)
			ctx := context.Background()
			kills := 0
			for kills < 3 {
				before, err := st.ScanState(ctx, "contacts")
				if err != nil {
					t.Fatal(err)
				}
				cmd := child(t, env, "scan")
				target := before.Pages + 5 + rand.IntN(20)
				deadline := time.Now().Add(60 * time.Second)
				for time.Now().Before(deadline) {
					s, err := st.ScanState(ctx, "contacts")
					if err == nil && (s.Pages >= target || s.Done) {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
				s, _ := st.ScanState(ctx, "contacts")
				if s.Done {
					t.Fatalf("the scan finished before it could be killed (pages %d)", s.Pages)
				}
				kills++
			}
			r := run(t, env, "scan")
			if r.code != 0 {
				t.Fatalf("resumed scan: %s%s", r.out, r.err)
			}
			n, err := st.CountContacts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if int(n) != o.SB.Len() {
				t.Errorf("store holds %d contacts, the organization %d", n, o.SB.Len())
			}
			s, _ := st.ScanState(ctx, "contacts")
			fetched := o.SB.Stats().Requests["GET /api/v2/externalcontacts/scan/contacts"][200]
			// A kill loses the pages being saved and the ones the scan
			// fetched ahead meanwhile: no other page is fetched twice.
			if lost := engine.ScanRefetchMax(0); fetched > s.Pages+lost*kills {
				t.Errorf("%d pages fetched for %d pages saved and %d kills (at most %d lost each): pages were fetched twice",
					fetched, s.Pages, kills, lost)
			}
			t.Logf("%d contacts, %d pages, %d fetched, %d kills", n, s.Pages, fetched, kills)
		})
	}
}
