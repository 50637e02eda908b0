package storetest

import (
	"sync"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

func testMigrations(t *testing.T, h Harness) {
	dsn := h.NewDSN(t)
	clock := NewClock(t0())
	// Concurrent first opens of an empty database.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := store.Open(ctx(), dsn, store.Options{Now: clock.Now})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
	}
	// Open again: nothing to do, data intact.
	s := open(t, h, dsn, clock)
	seedGroup(t, s, "v1", "v2")
	must(t, s.Close())
	s = open(t, h, dsn, clock)
	if n, err := s.CountByState(ctx()); err != nil || n[cm.StateProposed] != 1 {
		t.Fatalf("after reopen: %v %v", n, err)
	}
	if s.Kind() != "sqlite" && s.Kind() != "postgres" {
		t.Fatalf("Kind() = %q", s.Kind())
	}
}
