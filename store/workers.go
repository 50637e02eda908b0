package store

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Worker heartbeats and the takeover of a dead worker's work.
//
// Exactly-once does not rest on job exclusivity (the intent is committed
// before a request and verified after; member leases carry fencing
// tokens), so a live process may take over a dead one's jobs as soon as it
// knows the owner is dead, instead of waiting for River's rescuer
// (RescueStuckJobsAfter, minutes). It knows so in two ways:
//
//   - on SQLite (one machine), every running engine holds a shared lock on
//     the file PATH.lock beside the store (LockLocal); a process that gets
//     it exclusively is the only one alive, so every job River marks
//     running belongs to a dead process;
//   - on both databases, every running engine writes a heartbeat into the
//     workers table (Heartbeat); a worker whose heartbeat is older than a
//     few seconds is dead (StaleWorkers), on any machine.
//
// TakeOver then makes the dead workers' running jobs available again and
// deletes their member leases.

// WorkerStore is the heartbeat and takeover API; the Store of both backends
// implements it.
type WorkerStore interface {
	Heartbeat(ctx context.Context, w Worker) error
	RemoveWorker(ctx context.Context, id string) error
	Workers(ctx context.Context) ([]Worker, error)
	RunningJobs(ctx context.Context) (map[string]int, error)
	TakeOver(ctx context.Context, self, selfLeaseOwner string, dead []Worker, all bool) (Takeover, error)
	LockLocal(whileAlone func() error) (release func(), alone bool, err error)
}

var _ WorkerStore = (*dbStore)(nil)

// Worker is a row of the workers table.
type Worker struct {
	// ID is the worker's River client id (rivertype.JobRow.AttemptedBy
	// names it).
	ID string
	// LeaseOwner is the engine owner its member leases are named after:
	// each execution leases as LeaseOwner#n.
	LeaseOwner  string
	StartedAt   time.Time
	HeartbeatAt time.Time
}

// Heartbeat records that worker w is alive now (inserting its row the first
// time; StartedAt is set then). EINVALID for an empty ID or LeaseOwner.
func (s *dbStore) Heartbeat(ctx context.Context, w Worker) error {
	if w.ID == "" || w.LeaseOwner == "" {
		return cm.Errorf(cm.EINVALID, "Heartbeat needs a worker id and lease owner")
	}
	now := micros(s.clock())
	return s.inTxRetry(ctx, "heartbeat", func(t tx) error {
		_, err := t.exec(ctx, `INSERT INTO workers (owner, lease_owner, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, lease_owner = excluded.lease_owner`,
			w.ID, w.LeaseOwner, now, now)
		if err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
		return nil
	})
}

// RemoveWorker deletes worker id's row (a clean stop).
func (s *dbStore) RemoveWorker(ctx context.Context, id string) error {
	return s.inTxRetry(ctx, "remove worker", func(t tx) error {
		if _, err := t.exec(ctx, "DELETE FROM workers WHERE owner = ?", id); err != nil {
			return fmt.Errorf("remove worker: %w", err)
		}
		return nil
	})
}

// Workers returns every worker row, oldest heartbeat first.
func (s *dbStore) Workers(ctx context.Context) ([]Worker, error) {
	rs, err := s.b.reader().query(ctx, "SELECT owner, lease_owner, started_at, heartbeat_at FROM workers ORDER BY heartbeat_at, owner")
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("workers: %w", err))
	}
	defer rs.Close()
	var out []Worker
	for rs.Next() {
		var w Worker
		var st, hb int64
		if err := rs.Scan(&w.ID, &w.LeaseOwner, &st, &hb); err != nil {
			return nil, fmt.Errorf("workers: %w", err)
		}
		w.StartedAt, w.HeartbeatAt = fromMicros(st), fromMicros(hb)
		out = append(out, w)
	}
	return out, rs.Err()
}

// RunningJobs counts the jobs River marks running, by the worker (River
// client id) that attempted them last ("" when none is recorded).
func (s *dbStore) RunningJobs(ctx context.Context) (map[string]int, error) {
	last := "json_extract(attempted_by, '$[#-1]')"
	if s.Kind() == "postgres" {
		last = "attempted_by[cardinality(attempted_by)]"
	}
	rs, err := s.b.reader().query(ctx, "SELECT coalesce("+last+", ''), count(*) FROM river_job WHERE state = 'running' GROUP BY 1")
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("running jobs: %w", err))
	}
	defer rs.Close()
	out := map[string]int{}
	for rs.Next() {
		var id string
		var n int
		if err := rs.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("running jobs: %w", err)
		}
		out[id] += n
	}
	return out, rs.Err()
}

// Takeover is what TakeOver did.
type Takeover struct {
	Jobs    int      // running jobs made available again
	Leases  int      // member leases deleted
	Workers []string // worker rows deleted
}

// TakeOver takes over the work of dead workers: their running jobs become
// available (River's next fetch runs them again; an execution found in
// flight verifies before it sends anything) and their member leases are
// deleted. With all (the caller knows every other process is dead:
// LockLocal), every running job not attempted by self and every lease not
// named after selfLeaseOwner is taken over, and every other worker row is
// deleted; otherwise only those of dead. The caller must know them dead:
// a worker taken over while alive cannot apply a merge twice (fencing
// tokens, committed intent), but its jobs run twice.
func (s *dbStore) TakeOver(ctx context.Context, self, selfLeaseOwner string, dead []Worker, all bool) (Takeover, error) {
	var res Takeover
	last := "json_extract(attempted_by, '$[#-1]')"
	if s.Kind() == "postgres" {
		last = "attempted_by[cardinality(attempted_by)]"
	}
	// Lock order (PostgreSQL): worker after worker in id order (with all,
	// every one at once), its running jobs in id order, then its leases in
	// member id order, then its row. Two processes taking over the same
	// dead workers at once then wait for each other instead of
	// deadlocking, and leases are locked in the order AcquireLeases and
	// ReleaseLeases use. A plain UPDATE or DELETE would lock the rows in
	// the order its plan reads them.
	fu := s.b.forUpdate()
	freeJobs := func(t tx, where string, args ...any) (int64, error) {
		return t.exec(ctx, "UPDATE river_job SET state = 'available' WHERE state = 'running' AND id IN (SELECT id FROM river_job WHERE state = 'running' AND "+
			where+" ORDER BY id"+fu+")", args...)
	}
	dropLeases := func(t tx, where string, args ...any) (int64, error) {
		return t.exec(ctx, "DELETE FROM leases WHERE member_id IN (SELECT member_id FROM leases WHERE "+where+" ORDER BY member_id"+fu+")", args...)
	}
	byID := func(a, b Worker) int { return strings.Compare(a.ID, b.ID) }
	sorted := slices.SortedFunc(slices.Values(dead), byID)
	err := s.inTxRetry(ctx, "take over", func(t tx) error {
		res = Takeover{}
		dead := slices.Clone(sorted) // a retried run starts again from the caller's list
		if all {
			n, err := freeJobs(t, "coalesce("+last+", '') <> ?", self)
			if err != nil {
				return fmt.Errorf("take over jobs: %w", err)
			}
			res.Jobs += int(n)
			if n, err = dropLeases(t, "substr(owner, 1, ?) <> ?", len(selfLeaseOwner)+1, selfLeaseOwner+"#"); err != nil {
				return fmt.Errorf("take over leases: %w", err)
			}
			res.Leases += int(n)
			rs, err := t.query(ctx, "SELECT owner FROM workers WHERE owner <> ? ORDER BY owner", self)
			if err != nil {
				return fmt.Errorf("take over workers: %w", err)
			}
			for rs.Next() {
				var id string
				if err := rs.Scan(&id); err != nil {
					rs.Close()
					return err
				}
				dead = append(dead, Worker{ID: id})
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return err
			}
			slices.SortFunc(dead, byID)
		}
		for _, w := range dead {
			if w.ID == self || slices.Contains(res.Workers, w.ID) {
				continue
			}
			if !all {
				n, err := freeJobs(t, last+" = ?", w.ID)
				if err != nil {
					return fmt.Errorf("take over jobs of %s: %w", w.ID, err)
				}
				res.Jobs += int(n)
				if w.LeaseOwner != "" && w.LeaseOwner != selfLeaseOwner {
					if n, err = dropLeases(t, "substr(owner, 1, ?) = ?", len(w.LeaseOwner)+1, w.LeaseOwner+"#"); err != nil {
						return fmt.Errorf("take over leases of %s: %w", w.ID, err)
					}
					res.Leases += int(n)
				}
			}
			if _, err := t.exec(ctx, "DELETE FROM workers WHERE owner = ?", w.ID); err != nil {
				return fmt.Errorf("take over worker %s: %w", w.ID, err)
			}
			res.Workers = append(res.Workers, w.ID)
		}
		return nil
	})
	slices.Sort(res.Workers)
	return res, err
}

// LockLocal takes the local lock of a SQLite store: a shared lock on the
// file PATH.lock, held until release is called (or the process dies).
// Every process running an engine on the store takes it, so when it is
// free to take exclusively no other such process is alive: then alone is
// true and whileAlone (if not nil) runs first, with the lock exclusive (a
// takeover of every other process's work; no process can start meanwhile).
// On PostgreSQL (several machines), and where file locks are not
// supported, it does nothing and alone is false: heartbeats tell.
func (s *dbStore) LockLocal(whileAlone func() error) (release func(), alone bool, err error) {
	b, ok := s.b.(*sqliteBackend)
	if !ok {
		return func() {}, false, nil
	}
	f, err := os.OpenFile(b.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("local lock: %w", err)
	}
	alone, err = lockExclusiveNB(f)
	if err == nil && alone && whileAlone != nil {
		err = whileAlone()
	}
	if err == nil {
		err = lockShared(f)
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("local lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, alone, nil
}
