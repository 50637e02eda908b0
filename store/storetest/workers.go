package storetest

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/riverqueue/river"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// workerTestArgs is a job kind for the takeover test (never worked).
type workerTestArgs struct {
	N int `json:"n"`
}

func (workerTestArgs) Kind() string { return "storetest.worker" }

// testWorkers: heartbeats, the running jobs by worker, the takeover of dead
// workers' jobs and leases (theirs only, by lease owner prefix) and of
// everything (all), and the local lock.
func testWorkers(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ws, ok := e.s.(store.WorkerStore)
	if !ok {
		t.Fatalf("%T is not a store.WorkerStore", e.s)
	}
	must(t, ws.Heartbeat(ctx(), store.Worker{ID: "w1", LeaseOwner: "h:1"}))
	e.clock.Advance(time.Second)
	must(t, ws.Heartbeat(ctx(), store.Worker{ID: "w2", LeaseOwner: "h:2"}))
	e.clock.Advance(time.Second)
	must(t, ws.Heartbeat(ctx(), store.Worker{ID: "w1", LeaseOwner: "h:1"}))
	wantCode(t, ws.Heartbeat(ctx(), store.Worker{ID: "w1"}), cm.EINVALID)
	got, err := ws.Workers(ctx())
	must(t, err)
	if len(got) != 2 || got[0].ID != "w2" || got[1].ID != "w1" || !got[1].StartedAt.Equal(t0()) ||
		!got[1].HeartbeatAt.Equal(t0().Add(2*time.Second)) || got[1].LeaseOwner != "h:1" {
		t.Fatalf("Workers = %+v", got)
	}

	// Jobs running on w1 (two) and w2 (one), and one available.
	jc, err := e.s.NewJobClient(&river.Config{})
	must(t, err)
	var ids []int64
	for i := range 4 {
		res, err := jc.Insert(ctx(), workerTestArgs{N: i}, nil)
		must(t, err)
		ids = append(ids, res.Job.ID)
	}
	setRunning := func(id int64, by string) {
		q := fmt.Sprintf(`UPDATE river_job SET state = 'running', attempt = 1, attempted_by = '["%s"]' WHERE id = %d`, by, id)
		if e.s.Kind() == "postgres" {
			q = fmt.Sprintf(`UPDATE river_job SET state = 'running', attempt = 1, attempted_by = ARRAY['x', '%s'] WHERE id = %d`, by, id)
		}
		must(t, h.Exec(t, e.dsn, q))
	}
	setRunning(ids[0], "w1")
	setRunning(ids[1], "w1")
	setRunning(ids[2], "w2")
	running, err := ws.RunningJobs(ctx())
	must(t, err)
	if want := map[string]int{"w1": 2, "w2": 1}; !maps.Equal(running, want) {
		t.Fatalf("RunningJobs = %v, want %v", running, want)
	}
	// Leases of w1's executions, of w2's, of an owner whose name extends
	// w1's (h:10), and of the taker.
	for owner, id := range map[string]string{"h:1#1": "a", "h:1#2": "b", "h:2#1": "c", "h:10#1": "d", "h:3#1": "e"} {
		_, err := e.s.AcquireLeases(ctx(), owner, []string{id}, time.Hour)
		must(t, err)
	}

	res, err := ws.TakeOver(ctx(), "w3", "h:3", []store.Worker{{ID: "w1", LeaseOwner: "h:1"}}, false)
	must(t, err)
	if res.Jobs != 2 || res.Leases != 2 || len(res.Workers) != 1 || res.Workers[0] != "w1" {
		t.Fatalf("TakeOver(w1) = %+v", res)
	}
	for i, want := range []string{"available", "available", "running", "available"} {
		if st := jobState(t, h, e.dsn, ids[i]); st != want {
			t.Errorf("job %d: %s, want %s", i, st, want)
		}
	}
	free := func(id string, want bool) {
		t.Helper()
		_, err := e.s.AcquireLeases(ctx(), "probe", []string{id}, time.Millisecond)
		if (err == nil) != want {
			t.Errorf("lease %s free = %v, want %v (%v)", id, err == nil, want, err)
		}
		if err == nil {
			must(t, e.s.ReleaseLeases(ctx(), "probe", []string{id}))
		}
	}
	free("a", true)
	free("b", true)
	free("c", false)
	free("d", false)
	free("e", false)
	got, err = ws.Workers(ctx())
	must(t, err)
	if len(got) != 1 || got[0].ID != "w2" {
		t.Fatalf("after TakeOver(w1) Workers = %+v", got)
	}

	// all: every other worker's jobs and leases, whatever their rows say.
	must(t, ws.Heartbeat(ctx(), store.Worker{ID: "w3", LeaseOwner: "h:3"}))
	setRunning(ids[3], "w3")
	res, err = ws.TakeOver(ctx(), "w3", "h:3", nil, true)
	must(t, err)
	if res.Jobs != 1 || res.Leases != 2 || len(res.Workers) != 1 || res.Workers[0] != "w2" {
		t.Fatalf("TakeOver(all) = %+v", res)
	}
	if st := jobState(t, h, e.dsn, ids[2]); st != "available" {
		t.Errorf("w2's job: %s", st)
	}
	if st := jobState(t, h, e.dsn, ids[3]); st != "running" {
		t.Errorf("the taker's own job: %s", st)
	}
	free("c", true)
	free("d", true)
	free("e", false)
	must(t, ws.RemoveWorker(ctx(), "w3"))
	if got, err = ws.Workers(ctx()); err != nil || len(got) != 0 {
		t.Fatalf("after RemoveWorker: %+v %v", got, err)
	}

	// The local lock: alone only when no other holder (SQLite only).
	called := 0
	rel1, alone, err := ws.LockLocal(func() error { called++; return nil })
	must(t, err)
	wantAlone := e.s.Kind() == "sqlite"
	if alone != wantAlone || called != map[bool]int{true: 1, false: 0}[wantAlone] {
		t.Fatalf("first LockLocal: alone %v, called %d", alone, called)
	}
	rel2, alone, err := ws.LockLocal(func() error { called++; return nil })
	must(t, err)
	if alone {
		t.Errorf("second LockLocal while the first is held: alone")
	}
	rel1()
	rel2()
	rel3, alone, err := ws.LockLocal(nil)
	must(t, err)
	if alone != wantAlone {
		t.Errorf("LockLocal after both released: alone %v", alone)
	}
	rel3()
}

func jobState(t *testing.T, h Harness, dsn string, id int64) string {
	t.Helper()
	rows := h.Query(t, dsn, fmt.Sprintf("SELECT state FROM river_job WHERE id = %d", id))
	if len(rows) != 1 {
		t.Fatalf("job %d: %v", id, rows)
	}
	return rows[0][0]
}
