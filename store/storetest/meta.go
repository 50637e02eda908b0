package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// testOrg: a store is bound to no organization until the first BindOrg,
// which wins for good; the binding survives a reopen.
func testOrg(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	_, err := s.Org(ctx())
	wantCode(t, err, cm.ENOTFOUND)
	wantCode(t, s.BindOrg(ctx(), cm.Org{ID: " "}), cm.EINVALID)

	a := cm.Org{ID: "org-a", Source: "import --org"}
	must(t, s.BindOrg(ctx(), a))
	e.clock.Advance(time.Minute)
	// The same organization again fills the name and keeps the rest.
	must(t, s.BindOrg(ctx(), cm.Org{ID: "org-a", Name: "Org A", Source: "scan"}))
	// A name is never replaced once known.
	must(t, s.BindOrg(ctx(), cm.Org{ID: "org-a", Name: "Renamed", Source: "scan"}))
	want := cm.Org{ID: "org-a", Name: "Org A", Source: "import --org", BoundAt: t0()}
	got, err := s.Org(ctx())
	must(t, err)
	if got != want {
		t.Fatalf("Org = %+v, want %+v", got, want)
	}

	// Another organization is refused, naming both, and changes nothing.
	err = s.BindOrg(ctx(), cm.Org{ID: "org-b", Name: "Org B", Source: "scan"})
	wantCode(t, err, cm.ECONFLICT)
	if msg := err.Error(); msg != "the store belongs to Org A (org-a), not to Org B (org-b)" {
		t.Errorf("conflict message %q", msg)
	}
	wantCode(t, s.BindOrg(ctx(), cm.Org{ID: cm.OfflineOrgID, Name: "offline import"}), cm.ECONFLICT)
	must(t, s.Close())
	s = open(t, h, e.dsn, e.clock)
	if got, err := s.Org(ctx()); err != nil || got != want {
		t.Fatalf("after reopen: Org = %+v, %v; want %+v", got, err, want)
	}
}

// testOrgRace: stores racing to bind one database to different
// organizations end with exactly one binding, and every loser gets
// ECONFLICT.
func testOrgRace(t *testing.T, h Harness) {
	dsn := h.NewDSN(t)
	clock := NewClock(t0())
	const n = 4
	stores := make([]store.Store, n)
	for i := range stores {
		stores[i] = open(t, h, dsn, clock)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.BindOrg(ctx(), cm.Org{ID: fmt.Sprintf("org-%d", i)}) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("BindOrg %d and %d both succeeded", won, i)
		case err == nil:
			won = i
		case !cm.IsCode(err, cm.ECONFLICT):
			t.Fatalf("BindOrg %d: %v, want ECONFLICT", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no BindOrg succeeded")
	}
	for i, s := range stores {
		got, err := s.Org(ctx())
		must(t, err)
		if got.ID != fmt.Sprintf("org-%d", won) {
			t.Fatalf("store %d sees %s, the winner was org-%d", i, got.ID, won)
		}
	}
}

// testRequestCounts: counters add up, across calls and concurrent writers,
// and come back ordered by route and status.
func testRequestCounts(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	if got, err := s.RequestCounts(ctx()); err != nil || len(got) != 0 {
		t.Fatalf("fresh store: %v, %v", got, err)
	}
	must(t, s.AddRequestCounts(ctx(), nil))
	must(t, s.AddRequestCounts(ctx(), []cm.RequestCount{
		{Route: "/b", Status: 200, N: 3}, {Route: "/a", Status: 429, N: 2}, {Route: "/a", Status: 200, N: 1}, {Route: "/z", Status: 500, N: 0},
	}))
	must(t, s.AddRequestCounts(ctx(), []cm.RequestCount{{Route: "/a", Status: 429, N: 5}, {Route: "/a", Status: 0, N: 1}}))
	wantCode(t, s.AddRequestCounts(ctx(), []cm.RequestCount{{Route: "", Status: 200, N: 1}}), cm.EINVALID)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				if err := s.AddRequestCounts(ctx(), []cm.RequestCount{{Route: "/b", Status: 200, N: 1}, {Route: "/a", Status: 429, N: 1}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.RequestCounts(ctx())
	must(t, err)
	want := []cm.RequestCount{{Route: "/a", Status: 0, N: 1}, {Route: "/a", Status: 200, N: 1}, {Route: "/a", Status: 429, N: 47}, {Route: "/b", Status: 200, N: 43}}
	if !slices.Equal(got, want) {
		t.Fatalf("RequestCounts = %v, want %v", got, want)
	}
}

// testMustExist: Options.MustExist refuses a store that does not exist
// without creating it, and opens (and migrates) one that does.
func testMustExist(t *testing.T, h Harness) {
	dsn := h.NewDSN(t)
	clock := NewClock(t0())
	for range 2 { // the second refusal proves the first created nothing
		s, err := store.Open(ctx(), dsn, store.Options{Now: clock.Now, MustExist: true})
		if err == nil {
			_ = s.Close()
		}
		wantCode(t, err, cm.ENOTFOUND)
	}
	s := open(t, h, dsn, clock)
	must(t, s.BindOrg(ctx(), cm.Org{ID: "org-a"}))
	must(t, s.Close())
	s, err := store.Open(ctx(), dsn, store.Options{Now: clock.Now, MustExist: true})
	must(t, err)
	defer s.Close()
	if got, err := s.Org(ctx()); err != nil || got.ID != "org-a" {
		t.Fatalf("existing store: Org = %+v, %v", got, err)
	}
}
