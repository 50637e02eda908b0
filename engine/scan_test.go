package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestScanStopsOnRepeatedCursor: a platform whose scan keeps handing out
// the same after cursor ends the scan with an error naming the cursor and
// the page, after saving the pages read; it used to loop until the context
// ended.
func TestScanStopsOnRepeatedCursor(t *testing.T) {
	var fetched atomic.Int32
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.RateLimit = 10, -1
	o := testorg.NewWrapped(t, cfg, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/api/v2/externalcontacts/scan/contacts" {
				h.ServeHTTP(w, r)
				return
			}
			n := fetched.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"entities":[{"id":"c%d","firstName":"Ann"}],"cursors":{"after":"loop"}}`, n)
		})
	})
	st := testorg.OpenStore(t, testdb.SQLite(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	state, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{})
	if !errors.Is(err, genesys.ErrScanCursorRepeated) || !strings.Contains(err.Error(), `"loop"`) || !strings.Contains(err.Error(), "after page 2") {
		t.Fatalf("scan = %+v, %v; want a repeated-cursor error naming the cursor and the page (%d pages fetched)", state, err, fetched.Load())
	}
	if fetched.Load() != 2 || state.Pages != 2 || state.Done || state.Cursor != "loop" {
		t.Errorf("fetched %d pages, state %+v; want both pages saved, not done", fetched.Load(), state)
	}
	if n, _ := st.CountContacts(ctx); n != 2 {
		t.Errorf("store holds %d contacts, want the 2 of the pages read", n)
	}
	// Resuming from the saved cursor stops at once too.
	if _, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{}); !errors.Is(err, genesys.ErrScanCursorRepeated) || fetched.Load() != 3 {
		t.Errorf("resumed scan: %v after %d pages", err, fetched.Load())
	}
}

// TestScanSavesEveryPageAndFinishes: a complete scan of the sandbox saves
// every contact, counts the pages fetched (the closing empty page
// included) and starts over when run again.
func TestScanSavesEveryPageAndFinishes(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 95, 2, -1
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	ctx := context.Background()
	var progress []int
	state, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{PageSize: 10, Progress: func(s cm.ScanState) { progress = append(progress, s.Pages) }})
	if err != nil {
		t.Fatal(err)
	}
	fetched := o.SB.Stats().Requests["GET /api/v2/externalcontacts/scan/contacts"][200]
	n, _ := st.CountContacts(ctx)
	if !state.Done || state.Name != engine.DefaultScanName || int(n) != o.SB.Len() || int(state.Contacts) != o.SB.Len() ||
		state.Pages != fetched || len(progress) == 0 || progress[len(progress)-1] != state.Pages ||
		!slices.IsSorted(progress) || len(slices.Compact(slices.Clone(progress))) != len(progress) {
		t.Errorf("state %+v, %d stored of %d, %d pages fetched, progress %v (want increasing, to the last page)",
			state, n, o.SB.Len(), fetched, progress)
	}
	again, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{PageSize: 10})
	if err != nil || !again.Done || again.Pages != state.Pages || !again.StartedAt.After(state.StartedAt) {
		t.Errorf("second scan: %+v, %v", again, err)
	}
	if _, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{PageSize: 5}); err == nil {
		t.Error("page size 5 accepted")
	}
}

// pageStore is a store whose SaveScanPage first calls before (which may
// fail it).
type pageStore struct {
	cm.Store
	before func(st cm.ScanState) error
}

func (s pageStore) SaveScanPage(ctx context.Context, st cm.ScanState, page []cm.Contact) error {
	if err := s.before(st); err != nil {
		return err
	}
	return s.Store.SaveScanPage(ctx, st, page)
}

// TestScanFetchesWhileSaving: the next page is requested while a page is
// being saved (the scan takes the slower of the platform and the store,
// not their sum), and a save that fails stops the scan at the page saved
// before it, with no fetch left running (goleak).
func TestScanFetchesWhileSaving(t *testing.T) {
	var fetched atomic.Int32
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 60, 4, -1
	o := testorg.NewWrapped(t, cfg, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == "/api/v2/externalcontacts/scan/contacts" {
				fetched.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	st := testorg.OpenStore(t, testdb.SQLite(t))
	var overlapped, first bool
	slow := pageStore{Store: st, before: func(s cm.ScanState) error {
		if first {
			return nil
		}
		first = true
		// Hold the first save until the page after it was requested.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if int(fetched.Load()) > s.Pages {
				overlapped = true
				return nil
			}
		}
		return nil
	}}
	state, err := engine.Scan(ctx, o.Client(t, nil), slow, engine.ScanOptions{PageSize: 10})
	if err != nil || !state.Done {
		t.Fatalf("scan: %+v, %v", state, err)
	}
	if !overlapped {
		t.Error("the next page was not requested while the first was being saved")
	}
	if n, _ := st.CountContacts(ctx); int(n) != o.SB.Len() {
		t.Errorf("%d of %d contacts stored", n, o.SB.Len())
	}

	// Batch 1: each page saved alone, one fetched ahead.
	broken := errors.New("disk full")
	failing := pageStore{Store: st, before: func(s cm.ScanState) error {
		if s.Pages == 3 {
			return broken
		}
		return nil
	}}
	fetched.Store(0)
	state, err = engine.Scan(ctx, o.Client(t, nil), failing, engine.ScanOptions{PageSize: 10, Batch: 1, Restart: true})
	if !errors.Is(err, broken) || state.Pages != 2 || state.Done || !strings.Contains(err.Error(), "save scan page 3") {
		t.Fatalf("scan with a failing save: %+v, %v; want the error of page 3 after 2 saved pages", state, err)
	}
	if saved, _ := st.ScanState(ctx, engine.DefaultScanName); saved.Pages != 2 || saved.Cursor == "" {
		t.Errorf("saved state %+v, want page 2 and the cursor of page 3", saved)
	}
	if n := fetched.Load(); n < 3 || n > 4 {
		t.Errorf("%d pages fetched, want 3 (the one that failed to save) and at most one ahead", n)
	}

	// Batches: a failed save keeps the state of the one before it, and no
	// more than ScanRefetchMax pages were fetched beyond it.
	failing = pageStore{Store: st, before: func(s cm.ScanState) error {
		if s.Pages >= 3 {
			return broken
		}
		return nil
	}}
	fetched.Store(0)
	state, err = engine.Scan(ctx, o.Client(t, nil), failing, engine.ScanOptions{PageSize: 10, Batch: 2, Restart: true})
	if !errors.Is(err, broken) || state.Pages >= 3 || state.Done {
		t.Fatalf("scan with a failing save: %+v, %v; want the error, fewer than 3 pages saved", state, err)
	}
	if saved, _ := st.ScanState(ctx, engine.DefaultScanName); saved.Pages != state.Pages || saved.Cursor != state.Cursor {
		t.Errorf("saved state %+v, returned %+v", saved, state)
	}
	if n := int(fetched.Load()); n > state.Pages+engine.ScanRefetchMax(2) {
		t.Errorf("%d pages fetched after %d saved, want at most %d beyond", n, state.Pages, engine.ScanRefetchMax(2))
	}
}

// countingStore counts the SaveScanPage calls (transactions) and the pages
// and contacts each saved; pause, when set, runs before each.
type countingStore struct {
	cm.Store
	pause func()
	mu    sync.Mutex
	last  cm.ScanState
	calls [][2]int64 // pages, contacts of each call
}

func (s *countingStore) SaveScanPage(ctx context.Context, st cm.ScanState, page []cm.Contact) error {
	if s.pause != nil {
		s.pause()
	}
	s.mu.Lock()
	s.calls = append(s.calls, [2]int64{int64(st.Pages - s.last.Pages), int64(len(page))})
	s.last = st
	s.mu.Unlock()
	return s.Store.SaveScanPage(ctx, st, page)
}

// TestScanBatchesWhenStoreIsSlower: a store slower than the platform gets
// the pages that arrived while it saved in one transaction (at most Batch
// of them), with the cursor of the last: every contact is stored once and
// the state counts every page. A platform slower than the store gets each
// page saved alone as it arrives.
func TestScanBatchesWhenStoreIsSlower(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 200, 5, -1
	var delay atomic.Int64
	o := testorg.NewWrapped(t, cfg, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v2/externalcontacts/scan/contacts" {
				time.Sleep(time.Duration(delay.Load()))
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	slow := &countingStore{Store: testorg.OpenStore(t, testdb.SQLite(t)), pause: func() { time.Sleep(30 * time.Millisecond) }}
	state, err := engine.Scan(ctx, o.Client(t, nil), slow, engine.ScanOptions{PageSize: 10, Batch: 4})
	if err != nil || !state.Done {
		t.Fatalf("scan: %+v, %v", state, err)
	}
	fetched := o.SB.Stats().Requests["GET /api/v2/externalcontacts/scan/contacts"][200]
	n, _ := slow.CountContacts(ctx)
	if int(n) != o.SB.Len() || int(state.Contacts) != o.SB.Len() || state.Pages != fetched {
		t.Errorf("state %+v, %d stored of %d, %d pages fetched", state, n, o.SB.Len(), fetched)
	}
	var pages, contacts int64
	for _, c := range slow.calls {
		if c[0] < 1 || c[0] > 4 {
			t.Errorf("a transaction saved %d pages, want 1 to 4: %v", c[0], slow.calls)
		}
		pages, contacts = pages+c[0], contacts+c[1]
	}
	if int(pages) != state.Pages || contacts != state.Contacts || len(slow.calls) >= state.Pages {
		t.Errorf("transactions %v: %d pages, %d contacts; want %d pages, %d contacts in fewer transactions",
			slow.calls, pages, contacts, state.Pages, state.Contacts)
	}

	delay.Store(int64(40 * time.Millisecond))
	fast := &countingStore{Store: testorg.OpenStore(t, testdb.SQLite(t))}
	state, err = engine.Scan(ctx, o.Client(t, nil), fast, engine.ScanOptions{PageSize: 25})
	if err != nil || !state.Done {
		t.Fatalf("scan: %+v, %v", state, err)
	}
	if len(fast.calls) != state.Pages {
		t.Errorf("transactions %v for %d pages from a slow platform; want each page saved alone", fast.calls, state.Pages)
	}
}
