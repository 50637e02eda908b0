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
