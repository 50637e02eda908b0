package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestWindowIsSpent runs about 300 approved groups against a sandbox limit
// of 600 requests a minute from a fresh window: the whole plan fits in one
// window, so the limiter spends it as fast as concurrency allows rather
// than pacing at 10 a second (which took about 28 s). The time is logged;
// the assertion is that no window was exceeded (the sandbox's
// MaxPerWindow) and nothing was throttled. CONTACTMERGE_FULL=1 also asserts
// the target: under 10 s.
func TestWindowIsSpent(t *testing.T) {
	const limit = 600
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 4200, 3, limit
	o := testorg.New(t, cfg)
	o.Rate = 0 // no --max-rate: the token's whole budget, as run uses it by default
	st := testorg.OpenStore(t, testdb.SQLite(t))
	groups := testorg.Seed(t, st, o)
	p := newPipeline(t, st, o, "w1", engine.Config{})
	start := time.Now()
	sum, err := p.eng.Run(context.Background(), p.jc, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	stats := o.SB.Stats()
	t.Logf("%d groups merged at %d/min in %.1f s, %.0f requests, %.0f throttled, most requests in one window: %v",
		sum.MergedThisRun, limit, el.Seconds(), sum.Requests, sum.Throttled, maxPerWindow(stats))
	if sum.MergedThisRun != len(groups) {
		t.Errorf("merged %d of %d groups", sum.MergedThisRun, len(groups))
	}
	for id, c := range stats.Clients {
		if c.MaxPerWindow > limit {
			t.Errorf("client %s sent %d requests in one window, limit %d", id, c.MaxPerWindow, limit)
		}
	}
	if sum.Throttled > 0 {
		t.Errorf("%.0f throttled responses", sum.Throttled)
	}
	if fullSize() && el >= 10*time.Second {
		t.Errorf("%d groups at %d/min took %v, want < 10s", len(groups), limit, el)
	}
}

func maxPerWindow(s sandbox.Stats) map[string]int {
	m := map[string]int{}
	for id, c := range s.Clients {
		m[id] = c.MaxPerWindow
	}
	return m
}
