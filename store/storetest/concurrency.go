package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

func testConcurrentTransition(t *testing.T, h Harness) {
	e := newEnv(t, h)
	// A second store on the same database stands in for a second process.
	other := open(t, h, e.dsn, e.clock)
	const n = 10
	var gs []cm.Group
	for i := range n {
		gs = append(gs, group(0.9, fmt.Sprintf("k%d-a", i), fmt.Sprintf("k%d-b", i)))
	}
	seedGroups(t, e.s, gs...)
	for i := range n {
		id := cm.GroupID(gs[i].Members)
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for w, s := range []store.Store{e.s, other, e.s, other} {
			wg.Go(func() {
				_, err := s.Transition(ctx(), cm.Transition{GroupID: id, From: []cm.GroupState{cm.StateProposed},
					To: cm.StateApproved, Version: 1, Actor: fmt.Sprintf("w%d", w)})
				switch {
				case err == nil:
					wins.Add(1)
				case cm.IsCode(err, cm.ECONFLICT):
					conflicts.Add(1)
				default:
					t.Errorf("transition: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 3 {
			t.Fatalf("group %d: %d wins, %d conflicts; want exactly one winner", i, wins.Load(), conflicts.Load())
		}
		rows := ledgerRows(t, e.s, cm.LedgerFilter{GroupID: id, Kinds: []cm.LedgerKind{cm.LedgerTransition}})
		if len(rows) != 2 {
			t.Fatalf("group %d has %d transition rows, want 2", i, len(rows))
		}
	}
}

func testConcurrentLeases(t *testing.T, h Harness) {
	e := newEnv(t, h)
	other := open(t, h, e.dsn, e.clock)
	var wins atomic.Int32
	var mu sync.Mutex
	var tokens []int64
	var wg sync.WaitGroup
	for w := range 6 {
		s := []store.Store{e.s, other}[w%2]
		wg.Go(func() {
			tok, err := s.AcquireLeases(ctx(), fmt.Sprintf("w%d", w), []string{"z3", "z1", "z2"}, time.Minute)
			switch {
			case err == nil:
				wins.Add(1)
				mu.Lock()
				tokens = append(tokens, tok)
				mu.Unlock()
			case !cm.IsCode(err, cm.ECONFLICT):
				t.Errorf("acquire: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d owners acquired the same leases", wins.Load())
	}
}
