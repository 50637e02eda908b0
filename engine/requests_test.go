package engine_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// failingCounts is a store whose next AddRequestCounts fails.
type failingCounts struct {
	cm.Store
	fail bool
}

func (s *failingCounts) AddRequestCounts(ctx context.Context, cs []cm.RequestCount) error {
	if s.fail {
		s.fail = false
		return errors.New("disk full")
	}
	return s.Store.AddRequestCounts(ctx, cs)
}

// TestRequestLog: observed attempts reach the store's counters once per
// flush, concurrent observers included, and a failed flush keeps them.
func TestRequestLog(t *testing.T) {
	ctx := context.Background()
	st := &failingCounts{Store: testorg.OpenStore(t, testdb.SQLite(t))}
	l := engine.NewRequestLog(st)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.Flush(ctx)) // nothing observed: nothing written
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				l.Observe(genesys.RequestInfo{Route: "/api/v2/externalcontacts/contacts/merge", Status: 429, Throttled: true})
				l.Observe(genesys.RequestInfo{Route: "/api/v2/externalcontacts/contacts/merge", Status: 200})
			}
		})
	}
	wg.Wait()
	l.Observe(genesys.RequestInfo{Method: "GET", Status: 0})
	st.fail = true
	if err := l.Flush(ctx); err == nil {
		t.Fatal("the failing flush returned nil")
	}
	l.Observe(genesys.RequestInfo{Route: "/api/v2/externalcontacts/contacts/merge", Status: 429})
	must(l.Flush(ctx))
	must(l.Flush(ctx)) // nothing new: counted once
	got, err := st.RequestCounts(ctx)
	must(err)
	want := []cm.RequestCount{
		{Route: "/api/v2/externalcontacts/contacts/merge", Status: 200, N: 100},
		{Route: "/api/v2/externalcontacts/contacts/merge", Status: 429, N: 101},
		{Route: "GET (unknown route)", Status: 0, N: 1},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
}

// TestEngineRecordsEveryRequest: the engine's observer counts every HTTP
// attempt of a run, 429s included, and FlushRequests puts them in the
// store: exactly what the platform answered.
func TestEngineRecordsEveryRequest(t *testing.T) {
	ctx := context.Background()
	faults, err := sandbox.ParseFaults("throttle429=0.05")
	if err != nil {
		t.Fatal(err)
	}
	o := testorg.New(t, sandbox.Config{Contacts: 300, Seed: 31, RateLimit: 100000, Faults: faults})
	st := testorg.OpenStore(t, testdb.SQLite(t))
	groups := testorg.Seed(t, st, o) // its own client: not counted
	base := o.SB.Stats()
	p := newPipeline(t, st, o, "w1", engine.Config{VerifySettle: time.Second})
	if _, err := p.eng.Run(ctx, p.jc, engine.RunOptions{Progress: func(engine.Progress) { _ = p.eng.FlushRequests(ctx) }}); err != nil {
		t.Fatal(err)
	}
	if err := p.eng.FlushRequests(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := st.RequestCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var total, throttled int64
	for _, c := range counts {
		total += c.N
		if c.Status == 429 {
			throttled += c.N
		}
	}
	stats := o.SB.Stats()
	wantTotal, wantThrottled := testorg.Requests(stats)-testorg.Requests(base), stats.Throttled-base.Throttled
	t.Logf("%d groups: %d requests (%d throttled) recorded; the sandbox answered %d (%d)", len(groups), total, throttled, wantTotal, wantThrottled)
	if total != int64(wantTotal) || throttled != int64(wantThrottled) {
		t.Errorf("recorded %d requests, %d throttled; the sandbox answered %d, %d throttled", total, throttled, wantTotal, wantThrottled)
	}
	if wantThrottled == 0 {
		t.Error("no 429 during the run: the test proves nothing")
	}
}
