package genesys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestLimiterFrozenClockDoesNotSpin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		frozen := time.Now()
		l := newLimiter(300, 10, func() time.Time { return frozen })
		l.observe(RateLimit{Count: 299, Allowed: 300, Reset: 3 * time.Second, Observed: frozen})
		start := time.Now()
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 5*time.Second {
			t.Errorf("waited %v, want 5s once", el)
		}
	})
}

func TestLimiterSmallBudgetFloor(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(300, 10, func() time.Time { return now })
	// allowed 20: the floor is capped at 5, so 14 remaining is no pause.
	l.observe(RateLimit{Count: 6, Allowed: 20, Reset: 30 * time.Second, Observed: now})
	if st := l.State(); !st.PausedUntil.IsZero() || st.PerMinute != 20 {
		t.Errorf("state = %+v", st)
	}
	l.observe(RateLimit{Count: 16, Allowed: 20, Reset: 20 * time.Second, Observed: now})
	if st := l.State(); !st.PausedUntil.Equal(now.Add(22 * time.Second)) {
		t.Errorf("PausedUntil = %v", st.PausedUntil)
	}
	// An older observation does not overwrite a newer one.
	l.observe(RateLimit{Count: 1, Allowed: 300, Observed: now.Add(-time.Second)})
	if st := l.State(); st.Last.Count != 16 {
		t.Errorf("Last = %+v", st.Last)
	}
	// A negative floor disables the pause.
	l2 := newLimiter(300, -1, func() time.Time { return now })
	l2.observe(RateLimit{Count: 300, Allowed: 300, Reset: time.Minute, Observed: now})
	if st := l2.State(); !st.PausedUntil.IsZero() {
		t.Errorf("disabled floor paused: %+v", st)
	}
}

func TestLimiterWaitRespectsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(60, 10, time.Now)
		l.pauseUntil(time.Now().Add(time.Hour))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
		// Bucket empty and a deadline shorter than the refill.
		l2 := newLimiter(6, -1, time.Now) // burst 1, one token per 10 s
		if err := l2.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx2, cancel2 := context.WithTimeout(t.Context(), time.Second)
		defer cancel2()
		if err := l2.Wait(ctx2); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("bucket wait err = %v", err)
		}
	})
}

func TestConfigNeverPrintsSecret(t *testing.T) {
	cfg := Config{Region: "us-east-1", ClientID: "id", ClientSecret: testClientSecret}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "cfg", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), buf.String()} {
		if strings.Contains(s, testClientSecret) {
			t.Errorf("secret printed: %s", s)
		}
	}
	if !strings.Contains(buf.String(), "us-east-1") {
		t.Errorf("log = %s", buf.String())
	}
}

// Without a ceiling the window is spent at once: everything above the floor
// goes through without waiting, then requests wait for the reset + 2 s, and
// never more than allowed - floor are sent in the window.
func TestLimiterSpendsTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		l := newLimiter(0, 10, time.Now)
		l.observe(RateLimit{Count: 1, Allowed: 600, Reset: 60 * time.Second, Observed: start})
		for i := range 589 {
			if err := l.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			if i == 100 {
				// A late response reports a lower count: the requests sent
				// since are still counted.
				l.observe(RateLimit{Count: 50, Allowed: 600, Reset: 60 * time.Second, Observed: start})
			}
		}
		if el := time.Since(start); el != 0 {
			t.Errorf("589 requests of a fresh 600 window took %v, want no wait", el)
		}
		if st := l.State(); !st.Window || st.WindowUsed != 590 || !st.PausedUntil.IsZero() {
			t.Errorf("state = %+v", st)
		}
		// At the floor: the next request waits for the reset plus the margin.
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 62*time.Second {
			t.Errorf("request at the floor sent after %v, want 62s", el)
		}
		if st := l.State(); st.Window || st.Waits != 1 {
			t.Errorf("after the reset: %+v", st)
		}
		// The next response reports the new window: it is spent again.
		now := time.Now()
		l.observe(RateLimit{Count: 2, Allowed: 600, Reset: 60 * time.Second, Observed: now})
		for range 100 {
			if err := l.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if el := time.Since(now); el != 0 {
			t.Errorf("new window: 100 requests took %v", el)
		}
		if st := l.State(); st.WindowUsed != 102 || !st.WindowReset.Equal(now.Add(time.Minute)) {
			t.Errorf("new window state = %+v", st)
		}
	})
}

// With a ceiling (a budget shared with other integrations) requests are
// paced evenly, as before window spending.
func TestLimiterCeilingPacesEvenly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(600, 10, time.Now)
		l.observe(RateLimit{Count: 1, Allowed: 600, Reset: 60 * time.Second, Observed: time.Now()})
		start := time.Now()
		for range 160 {
			if err := l.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		// Burst 60, then 10 per second.
		if el := time.Since(start); el < 9*time.Second || el > 11*time.Second {
			t.Errorf("160 requests at a 600/min ceiling took %v, want about 10s", el)
		}
		if st := l.State(); st.Window {
			t.Errorf("a ceiling spends the window: %+v", st)
		}
	})
}

// A window past its reset is forgotten: the bucket paces until a response
// reports the new one.
func TestLimiterForgetsAnExpiredWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(0, 10, time.Now)
		l.observe(RateLimit{Count: 1, Allowed: 600, Reset: 5 * time.Second, Observed: time.Now()})
		if st := l.State(); !st.Window {
			t.Fatalf("state = %+v", st)
		}
		time.Sleep(5 * time.Second)
		if st := l.State(); st.Window || st.WindowUsed != 0 {
			t.Errorf("expired window kept: %+v", st)
		}
	})
}
