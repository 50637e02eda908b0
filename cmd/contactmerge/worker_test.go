package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdWorker(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdWorker, "--yes", "--concurrency", "3", "--max-rate", "100")
	if code != 0 || !o.yes || o.pipeline.concurrency != 3 || o.pipeline.maxRate != 100 || o.pipeline.rescueAfter != 3*time.Minute || o.Factory == nil {
		t.Fatalf("options %+v, code %d %s", o, code, msg)
	}
	// A worker merges unattended: it always needs --yes, terminal or not.
	_, code, msg = parse(t, nil, newCmdWorker, "--concurrency", "3")
	wantRefused(t, code, msg, exitUsage, "start it with --yes")
	_, code, msg = parse(t, nil, newCmdWorker, "--yes", "--rescue-after", "1m")
	wantRefused(t, code, msg, exitUsage, "--rescue-after (1m0s) must exceed --job-timeout (2m0s)")
	_, code, msg = parse(t, nil, newCmdWorker, "--yes", "--dry-run")
	wantRefused(t, code, msg, exitUsage, "unknown flag: --dry-run")
	if !strings.Contains(msg, "Run 'contactmerge --help'") {
		t.Errorf("flag error is not a usage error: %q", msg)
	}
}

// TestWorker: `worker` merges approved groups until interrupted, and stops
// cleanly on SIGINT.
func TestWorker(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 800, Seed: 12, RateLimit: 100000})
	db := testdb.SQLite(t)
	st := testorg.OpenStore(t, db)
	groups := seedOrg(t, st, o)
	addr := freeAddr(t)
	cmd := child(t, append(o.Env(), "CONTACTMERGE_DB="+db), "worker", "--yes", "--metrics-addr", addr)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		counts, err := st.CountByState(context.Background())
		if err == nil && counts[cm.StateMerged] == len(groups) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// --metrics-addr: the worker's requests and merges, in Prometheus' format.
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("--metrics-addr: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"contactmerge_", "go_goroutines", "process_"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(string(body), "sandbox-secret") {
		t.Errorf("/metrics shows a credential")
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker did not stop cleanly: %v\n%s", err, cmd.Stdout)
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
