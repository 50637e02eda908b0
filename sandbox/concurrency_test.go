package sandbox

import (
	"sync"
	"testing"
)

// TestConcurrentMergesExactlyOnce races several clients submitting the same
// merges while others scan and read: each pair is merged exactly once, the
// losers get 422 (already in one merge set), and the oplog agrees.
func TestConcurrentMergesExactlyOnce(t *testing.T) {
	const pairs, racers = 40, 4
	cfg := DefaultConfig()
	cfg.RateLimit = -1
	e := loadEnv(t, cfg, simpleContacts(2*pairs+20))
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			for i := range pairs {
				ids := []string{"c" + pad(2*i, 4), "c" + pad(2*i+1, 4)}
				r, err := e.send(e.token, "POST", "/api/v2/externalcontacts/contacts/merge", map[string]any{"contactIds": ids})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 10, nil)
		}
	})
	wg.Go(func() {
		for i := range 200 {
			if r, err := e.send(e.token, "GET", "/api/v2/externalcontacts/contacts/c"+pad(i%(2*pairs), 4), nil); err != nil || r.status != 200 {
				t.Errorf("GET during merges: %v %d", err, r.status)
				return
			}
		}
	})
	wg.Wait()
	if statuses[200] != pairs || statuses[422] != pairs*(racers-1) {
		t.Fatalf("statuses %v, want %d×200 and %d×422", statuses, pairs, pairs*(racers-1))
	}
	ops := e.sb.Oplog()
	if len(ops) != pairs {
		t.Fatalf("%d merges applied, want %d", len(ops), pairs)
	}
	for i, op := range ops {
		if op.Seq != int64(i+1) {
			t.Fatalf("seq %d at %d", op.Seq, i)
		}
		c, ok := e.sb.Contact(op.Result)
		if !ok || c.IsMerged() || len(c.MergeSet) != 3 {
			t.Fatalf("result %s: %+v", op.Result, c)
		}
		for _, in := range op.Inputs {
			a, _ := e.sb.Contact(in)
			if a.MergedTo == nil || a.MergedTo.ID != op.Result {
				t.Fatalf("input %s not merged to %s", in, op.Result)
			}
		}
	}
	if e.sb.Len() != pairs+20 {
		t.Fatalf("Len %d", e.sb.Len())
	}
}
