package genesys_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/sandbox"
)

// handlerTransport serves requests with a handler in process, so that a
// sandbox runs inside a synctest bubble (its windows and the limiters'
// waits then follow the bubble's fake clock).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func TestBudgetWindowReserve(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var w genesys.BudgetWindow
	// A first window, its limit unknown: a minute from now, the default limit.
	g := w.Reserve(genesys.BudgetRequest{Client: "a", Now: t0, Want: 1})
	if g.Granted != 1 || !g.Reset.Equal(t0.Add(time.Minute)) || g.Limit != genesys.DefaultRatePerMinute-genesys.DefaultRateFloor {
		t.Fatalf("first grant %+v", g)
	}
	// The platform reports the window: a later reset extends it, its count
	// raises the reservations, its limit replaces the default.
	reset := t0.Add(62 * time.Second)
	g = w.Reserve(genesys.BudgetRequest{Now: t0.Add(time.Second), Limit: 50, Reset: reset, Count: 5, Want: 10})
	if g.Granted != 10 || !g.Reset.Equal(reset) || g.Reserved != 15 || g.Limit != 50 {
		t.Fatalf("grant %+v", g)
	}
	// What is left, then nothing.
	for range 3 {
		w.Reserve(genesys.BudgetRequest{Now: t0.Add(2 * time.Second), Want: 10})
	}
	g = w.Reserve(genesys.BudgetRequest{Now: t0.Add(2 * time.Second), Want: 10})
	if g.Granted != 5 || g.Reserved != 50 {
		t.Fatalf("last grant %+v", g)
	}
	if g = w.Reserve(genesys.BudgetRequest{Now: t0.Add(3 * time.Second), Want: 10}); g.Granted != 0 || g.Reserved != 50 {
		t.Fatalf("spent window granted %+v", g)
	}
	// A stale report (an earlier reset) changes nothing.
	if g = w.Reserve(genesys.BudgetRequest{Now: t0.Add(3 * time.Second), Reset: t0.Add(10 * time.Second), Count: 60, Want: 1}); g.Granted != 0 || !g.Reset.Equal(reset) || g.Reserved != 50 {
		t.Fatalf("stale report: %+v", g)
	}
	// Nothing is granted in the last second before the reset, nor until 2 s
	// after it; then a new window begins.
	w2 := genesys.BudgetWindow{Reset: reset, Limit: 50, Reserved: 1}
	for _, at := range []time.Duration{-500 * time.Millisecond, 0, 1900 * time.Millisecond} {
		if g := w2.Reserve(genesys.BudgetRequest{Now: reset.Add(at), Want: 1}); g.Granted != 0 {
			t.Errorf("at reset%+v: granted %+v", at, g)
		}
	}
	now := reset.Add(2 * time.Second)
	if g := w2.Reserve(genesys.BudgetRequest{Now: now, Want: 3}); g.Granted != 3 || g.Reserved != 3 || !g.Reset.Equal(now.Add(time.Minute)) {
		t.Errorf("new window: %+v", g)
	}
}

// TestSharedBudgetKeepsProcessesInsideTheWindow: three clients of one OAuth
// client (three processes: each its own limiter and token source) share
// one budget and one token. For five minutes they send as fast as they can;
// the sandbox, which counts per token and per client, sees one token, no
// window over its limit, no 429, and the windows spent: about 5 × (600 -
// the floor). Without the shared budget each would spend the whole window.
func TestSharedBudgetKeepsProcessesInsideTheWindow(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := sandbox.DefaultConfig()
				cfg.RateLimit, cfg.Now = 600, time.Now
				cfg.Load = strings.NewReader(contactsJSONL)
				sb, err := sandbox.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer sb.Close()
				budget, tokens := &genesys.MemoryBudget{}, &genesys.MemoryTokenCache{}
				var clients []*genesys.Client
				for range 3 {
					ccfg := genesys.Config{Region: "http://sandbox.test", ClientID: "sandbox-client", ClientSecret: "sandbox-secret",
						HTTPClient: &http.Client{Transport: handlerTransport{sb}}, MaxRetries: -1}
					if shared {
						ccfg.Budget, ccfg.TokenCache = budget, tokens
					}
					c, err := genesys.NewClient(t.Context(), ccfg)
					if err != nil {
						t.Fatal(err)
					}
					clients = append(clients, c)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
				defer cancel()
				var wg sync.WaitGroup
				for _, c := range clients {
					for range 4 {
						wg.Go(func() {
							for ctx.Err() == nil {
								_, _, _ = c.Tokens.Me(ctx)
							}
						})
					}
				}
				wg.Wait()
				stats := sb.Stats()
				st := stats.Clients["sandbox-client"]
				if !shared {
					// Each process with its own token and window: together
					// they send three windows' worth in each of the client's.
					if st.MaxPerWindow <= 600 {
						t.Errorf("without a shared budget the client's window was not overspent (max %d): the test shows nothing", st.MaxPerWindow)
					}
					return
				}
				used := 0
				for _, ts := range stats.Tokens {
					if ts.Requests > 0 {
						used++
					}
				}
				if used != 1 {
					t.Errorf("%d tokens sent requests, want 1 shared (%d issued)", used, st.TokensIssued)
				}
				if st.MaxPerWindow > 600 || st.Throttled != 0 {
					t.Errorf("max %d requests in a window (limit 600), %d throttled", st.MaxPerWindow, st.Throttled)
				}
				if want := 5 * 590 * 9 / 10; st.Requests < want {
					t.Errorf("%d requests in 5 windows, want at least %d (windows spent)", st.Requests, want)
				}
				if w := budget.Window("sandbox-client"); w.Limit != 590 {
					t.Errorf("budget window %+v, want limit 590 (600 - floor 10)", w)
				}
				t.Logf("%d requests in 5 min, max %d in a window", st.Requests, st.MaxPerWindow)
			})
		})
	}
}

// TestMemoryTokenCacheSwap: a token is shared unless another process
// shared a newer one first, and is never printed.
func TestMemoryTokenCacheSwap(t *testing.T) {
	cache := &genesys.MemoryTokenCache{}
	ctx := context.Background()
	if _, err := cache.SwapToken(ctx, "c", "", genesys.SharedToken{Access: "t1"}); err != nil {
		t.Fatal(err)
	}
	// Another process renewed first: a swap from a stale token keeps theirs.
	got, _ := cache.SwapToken(ctx, "c", "t0", genesys.SharedToken{Access: "t2"})
	if got.Access != "t1" {
		t.Errorf("stale swap replaced the token: %v", got.Access)
	}
	got, _ = cache.SwapToken(ctx, "c", "t1", genesys.SharedToken{Access: "t3"})
	if got.Access != "t3" {
		t.Errorf("swap from the current token kept %v", got.Access)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", got, got, got, got); strings.Contains(s, "t3") {
		t.Errorf("shared token printed: %s", s)
	}
}

// TestSharedBudgetUnlimited: a platform that reports no limit (no
// rate-limit headers, the sandbox's unlimited organization) leaves nothing
// to share: requests are not held back by the budget.
func TestSharedBudgetUnlimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := sandbox.DefaultConfig()
		cfg.RateLimit, cfg.Now = -1, time.Now
		cfg.Load = strings.NewReader(contactsJSONL)
		sb, err := sandbox.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer sb.Close()
		c, err := genesys.NewClient(t.Context(), genesys.Config{Region: "http://sandbox.test", ClientID: "sandbox-client", ClientSecret: "sandbox-secret",
			HTTPClient: &http.Client{Transport: handlerTransport{sb}}, Budget: &genesys.MemoryBudget{}, TokenCache: &genesys.MemoryTokenCache{}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 250 {
					if _, _, err := c.Tokens.Me(t.Context()); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("1000 requests without a reported limit took %v", el)
		}
	})
}
