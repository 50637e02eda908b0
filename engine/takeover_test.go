package engine_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// TestRunWaitsForASilentWorker: a group's merge job is running on another
// worker ("ghost") whose heartbeat is fresh, and the store's lock is held
// (another process is alive), so the run cannot know it dead: it says whom
// it waits for and until when, and once the ghost has been silent for
// DeadAfter takes over its job and lease and finishes.
func TestRunWaitsForASilentWorker(t *testing.T) {
	ctx := context.Background()
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 300, 5, -1
	o := testorg.New(t, cfg)
	path := testdb.SQLite(t)
	st := testorg.OpenStore(t, path)
	groups := testorg.Seed(t, st, o)
	ws := st.(store.WorkerStore)
	release, _, err := ws.LockLocal(nil) // another live process
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	// The ghost holds the first group: its running merge job and a lease.
	p := newPipeline(t, st, o, "w1", engine.Config{})
	held := groups[0]
	if _, err := p.jc.Insert(ctx, engine.MergeArgs{GroupID: held.ID}, nil); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_by = '["ghost"]'`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcquireLeases(ctx, "ghost-owner#1", held.Members, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := ws.Heartbeat(ctx, store.Worker{ID: "ghost", LeaseOwner: "ghost-owner"}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var waiting string
	start := time.Now()
	sum, err := p.eng.Run(ctx, p.jc, engine.RunOptions{Progress: func(pr engine.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if waiting == "" && pr.Waiting != "" {
			waiting = pr.Waiting
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	t.Logf("finished in %.1f s; waiting said: %s", el.Seconds(), waiting)
	if !strings.Contains(waiting, "1 job held by worker ghost") || !strings.Contains(waiting, "taken over at") {
		t.Errorf("Progress.Waiting = %q", waiting)
	}
	if el > engine.DeadAfter+3*engine.HeartbeatEvery+5*time.Second {
		t.Errorf("run took %v: the silent worker was not taken over", el)
	}
	if sum.Counts[cm.StateMerged] != len(groups) {
		t.Errorf("counts %v, want %d merged", sum.Counts, len(groups))
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)
	if w, err := ws.Workers(ctx); err != nil || len(w) != 0 {
		t.Errorf("workers left: %+v %v", w, err)
	}
}
