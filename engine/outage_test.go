package engine_test

import (
	"context"
	"errors"
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

// outageStore is a store whose CountByState and Groups fail while down
// says so (Run's own polls; the workers' jobs use other reads).
type outageStore struct {
	store.Store
	mu    sync.Mutex
	down  func(call int) bool
	calls int
	fails int
}

var errOutage = errors.New("database is locked (test outage)")

func (s *outageStore) fail() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.down(s.calls) {
		s.fails++
		return true
	}
	return false
}

func (s *outageStore) CountByState(ctx context.Context) (map[cm.GroupState]int, error) {
	if s.fail() {
		return nil, errOutage
	}
	return s.Store.CountByState(ctx)
}

func (s *outageStore) Groups(ctx context.Context, f cm.GroupFilter) ([]cm.Group, error) {
	if s.fail() {
		return nil, errOutage
	}
	return s.Store.Groups(ctx, f)
}

func outageOrg(t *testing.T) (*testorg.Org, store.Store, []cm.Group) {
	t.Helper()
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 600, 11, -1
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	return o, st, testorg.Seed(t, st, o)
}

// TestRunRidesOutAStoreOutage: the store fails Run's polls for a while
// after the first reconcile; Run logs it, keeps polling, and merges every
// group exactly once when the store answers again.
func TestRunRidesOutAStoreOutage(t *testing.T) {
	o, st, groups := outageOrg(t)
	fs := &outageStore{Store: st, down: func(call int) bool { return call > 4 && call <= 24 }}
	p := newPipeline(t, fs, o, "w1", engine.Config{})
	sum, err := p.eng.Run(context.Background(), p.jc, engine.RunOptions{
		Poll: 20 * time.Millisecond, Reconcile: 40 * time.Millisecond, StoreOutage: time.Minute,
	})
	if err != nil {
		t.Fatalf("Run stopped on a store outage it should ride out: %v", err)
	}
	if fs.fails != 20 {
		t.Fatalf("the store failed %d polls, want 20 (the test's outage did not happen as planned)", fs.fails)
	}
	if sum.MergedThisRun != len(groups) {
		t.Errorf("merged %d of %d groups", sum.MergedThisRun, len(groups))
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)
}

// TestRunGivesUpOnALastingStoreOutage: a store that keeps failing stops
// Run after StoreOutage with an error that says what failed, how often and
// for how long, wrapping the store's error.
func TestRunGivesUpOnALastingStoreOutage(t *testing.T) {
	o, st, _ := outageOrg(t)
	fs := &outageStore{Store: st, down: func(call int) bool { return call > 3 }}
	p := newPipeline(t, fs, o, "w1", engine.Config{})
	start := time.Now()
	_, err := p.eng.Run(context.Background(), p.jc, engine.RunOptions{
		Poll: 20 * time.Millisecond, Reconcile: 40 * time.Millisecond, StoreOutage: 300 * time.Millisecond,
	})
	took := time.Since(start)
	if !errors.Is(err, errOutage) {
		t.Fatalf("Run returned %v, want the store's error", err)
	}
	if !strings.Contains(err.Error(), "times in a row for") {
		t.Errorf("error %q does not say how long the store failed", err)
	}
	if fs.fails < 2 {
		t.Errorf("Run gave up after %d failure(s), want it to retry for StoreOutage", fs.fails)
	}
	if took > 20*time.Second {
		t.Errorf("Run took %s to give up on a 300ms outage limit", took)
	}
}
