package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// testBudget: the shared budget row of an OAuth client: created on first
// update, kept as updated, read back, its token never printed, and updates
// from two stores on one database (two processes) serialized: none lost.
func testBudget(t *testing.T, h Harness) {
	e := newEnv(t, h)
	bs, ok := e.s.(store.BudgetStore)
	if !ok {
		t.Fatalf("%T is not a store.BudgetStore", e.s)
	}
	got, err := bs.Budget(ctx(), "client-a")
	must(t, err)
	if got.Client != "client-a" || !got.Reset.IsZero() || got.Reserved != 0 || got.Token != "" {
		t.Fatalf("Budget of a new client = %+v", got)
	}
	reset := t0().Add(time.Minute)
	got, err = bs.UpdateBudget(ctx(), "client-a", func(b *store.ClientBudget) {
		if b.Client != "client-a" || b.Limit != 0 {
			t.Errorf("first update sees %+v", *b)
		}
		b.Reset, b.Limit, b.Reserved = reset, 590, 10
		b.Token, b.TokenRenewAt = "secret-token-value", t0().Add(19*time.Hour)
	})
	must(t, err)
	back, err := bs.Budget(ctx(), "client-a")
	must(t, err)
	if back != got || !back.Reset.Equal(reset) || back.Limit != 590 || back.Reserved != 10 ||
		back.Token != "secret-token-value" || !back.TokenRenewAt.Equal(t0().Add(19*time.Hour)) || !back.UpdatedAt.Equal(t0()) {
		t.Fatalf("Budget = %+v, UpdateBudget returned %+v", back, got)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", back, back, back, back); strings.Contains(s, "secret-token-value") {
		t.Errorf("token printed: %s", s)
	}
	wantCode(t, func() error { _, err := bs.UpdateBudget(ctx(), " ", func(*store.ClientBudget) {}); return err }(), cm.EINVALID)

	// Two processes reserving at once: every increment is kept.
	other, ok := open(t, h, e.dsn, e.clock).(store.BudgetStore)
	if !ok {
		t.Fatal("the second store is not a store.BudgetStore")
	}
	var wg sync.WaitGroup
	for i := range 16 {
		s := bs
		if i%2 == 1 {
			s = other
		}
		wg.Go(func() {
			for range 5 {
				if _, err := s.UpdateBudget(ctx(), "client-b", func(b *store.ClientBudget) { b.Reserved++ }); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	b, err := other.Budget(ctx(), "client-b")
	must(t, err)
	if b.Reserved != 80 {
		t.Errorf("80 concurrent reservations left %d reserved", b.Reserved)
	}
	if a, _ := other.Budget(ctx(), "client-a"); a.Reserved != 10 {
		t.Errorf("another client's row changed: %+v", a)
	}
}
