package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/store/storetest"
)

func TestAIMD(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var alerts []Alert
	a := NewAIMD(AIMDConfig{Initial: 5, Max: 8, Window: 10 * time.Second, Now: clock.Now, Alert: func(al Alert) { alerts = append(alerts, al) }})
	ctx := context.Background()
	// Saturate the limit in a healthy window: +1.
	for range 5 {
		if err := a.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		a.Observe(false)
	}
	clock.Advance(10 * time.Second)
	a.Observe(false)
	if a.Limit() != 6 {
		t.Fatalf("after a healthy saturated window: limit %d, want 6", a.Limit())
	}
	// Not saturated: no increase.
	for range 5 {
		a.Release()
	}
	clock.Advance(10 * time.Second)
	a.Observe(false)
	if a.Limit() != 6 {
		t.Fatalf("after an idle window: limit %d, want 6", a.Limit())
	}
	// 6% throttled: halve and alert.
	for i := range 100 {
		a.Observe(i < 6)
	}
	clock.Advance(10 * time.Second)
	a.Observe(false)
	if a.Limit() != 3 || len(alerts) != 1 || alerts[0].OldLimit != 6 || alerts[0].NewLimit != 3 {
		t.Fatalf("after a throttled window: limit %d, alerts %+v", a.Limit(), alerts)
	}
	// 4% throttled: no alert, no increase (there were throttles).
	for i := range 100 {
		a.Observe(i < 4)
	}
	clock.Advance(10 * time.Second)
	a.Observe(false)
	if a.Limit() != 3 || len(alerts) != 1 {
		t.Fatalf("at 4%% throttled: limit %d, alerts %d", a.Limit(), len(alerts))
	}
}

func TestAIMDAcquireHonoursLimitAndContext(t *testing.T) {
	a := NewAIMD(AIMDConfig{Initial: 2})
	ctx := context.Background()
	_ = a.Acquire(ctx)
	_ = a.Acquire(ctx)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := a.Acquire(cctx); err == nil {
		t.Fatal("a third Acquire over the limit of 2 succeeded")
	}
	done := make(chan struct{})
	go func() { _ = a.Acquire(ctx); close(done) }()
	a.Release()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Release did not wake a waiter")
	}
}

func TestWebhookAlert(t *testing.T) {
	got := make(chan Alert, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a Alert
		_ = json.NewDecoder(r.Body).Decode(&a)
		got <- a
	}))
	defer srv.Close()
	webhookAlerter(srv.URL, srv.Client(), slog.New(slog.DiscardHandler))(Alert{Kind: "throttled", OldLimit: 8, NewLimit: 4})
	select {
	case a := <-got:
		if a.Kind != "throttled" || a.NewLimit != 4 {
			t.Fatalf("webhook got %+v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook call")
	}
}

func TestRoundsAndQuarantineDelay(t *testing.T) {
	for _, c := range []struct{ n, per, want int }{{2, 10, 1}, {10, 10, 1}, {11, 10, 2}, {19, 10, 2}, {20, 10, 3}, {25, 25, 1}, {26, 25, 2}} {
		if got := Rounds(c.n, c.per); got != c.want {
			t.Errorf("Rounds(%d, %d) = %d, want %d", c.n, c.per, got, c.want)
		}
	}
	e := &Engine{cfg: Config{QuarantineBase: time.Minute, QuarantineMax: 10 * time.Minute}}
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 30: 10 * time.Minute} {
		if got := e.quarantineDelay(n); got != want {
			t.Errorf("quarantineDelay(%d) = %v, want %v", n, got, want)
		}
	}
}
