package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// AIMD is an adaptive concurrency limit for merge requests: it starts at
// Initial, adds one per healthy window (no throttled response, and the limit
// was in use), and halves when throttled responses exceed MaxThrottled of
// the window's responses, raising an alert. Acquire/Release bound the number
// of merges in progress.
type AIMD struct {
	mu           sync.Mutex
	cond         *sync.Cond
	limit        int
	min, max     int
	inUse        int
	peakInUse    int
	window       time.Duration
	maxThrottled float64
	windowStart  time.Time
	requests     int
	throttled    int
	now          func() time.Time
	alert        func(Alert)
}

// AIMDConfig configures an AIMD controller. Zero fields take the defaults
// of DefaultConfig().Concurrency.
type AIMDConfig struct {
	Initial      int              // default 5
	Min          int              // default 1
	Max          int              // default 50
	Window       time.Duration    // default 10s
	MaxThrottled float64          // default 0.05 (5%)
	Now          func() time.Time // default time.Now
	Alert        func(Alert)      // called (synchronously) when the limit is halved
}

// defaultAIMD is the default adaptive concurrency.
func defaultAIMD() AIMDConfig {
	return AIMDConfig{Initial: 5, Min: 1, Max: 50, Window: 10 * time.Second, MaxThrottled: 0.05}
}

// withDefaults returns c with zero (or negative) fields set to the defaults.
func (c AIMDConfig) withDefaults() AIMDConfig {
	d := defaultAIMD()
	if c.Initial <= 0 {
		c.Initial = d.Initial
	}
	if c.Min <= 0 {
		c.Min = d.Min
	}
	if c.Max <= 0 {
		c.Max = d.Max
	}
	if c.Window <= 0 {
		c.Window = d.Window
	}
	if c.MaxThrottled <= 0 {
		c.MaxThrottled = d.MaxThrottled
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Alert is raised when the throttled share of a window exceeds the threshold.
type Alert struct {
	At             time.Time `json:"at"`
	Kind           string    `json:"kind"`
	Requests       int       `json:"requests"`
	Throttled      int       `json:"throttled"`
	ThrottledShare float64   `json:"throttledShare"`
	OldLimit       int       `json:"oldLimit"`
	NewLimit       int       `json:"newLimit"`
	Message        string    `json:"message"`
}

// NewAIMD returns a controller.
func NewAIMD(cfg AIMDConfig) *AIMD {
	cfg = cfg.withDefaults()
	a := &AIMD{
		limit: min(max(cfg.Initial, cfg.Min), cfg.Max), min: cfg.Min, max: cfg.Max,
		window: cfg.Window, maxThrottled: cfg.MaxThrottled, now: cfg.Now, alert: cfg.Alert,
	}
	a.cond = sync.NewCond(&a.mu)
	a.windowStart = a.now()
	return a
}

// Limit returns the current concurrency limit.
func (a *AIMD) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit
}

// usage returns the current limit and the slots in use (metrics).
func (a *AIMD) usage() (limit, inUse int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit, a.inUse
}

// Acquire waits for a free slot or for ctx to end.
func (a *AIMD) Acquire(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	defer stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.inUse >= a.limit {
		if err := ctx.Err(); err != nil {
			return err
		}
		a.cond.Wait()
	}
	a.inUse++
	a.peakInUse = max(a.peakInUse, a.inUse)
	return nil
}

// Release frees a slot taken by Acquire.
func (a *AIMD) Release() {
	a.mu.Lock()
	a.inUse--
	a.cond.Broadcast()
	a.mu.Unlock()
}

// Observe records one response (throttled = HTTP 429) and closes the window
// when it has lasted Window.
func (a *AIMD) Observe(throttled bool) {
	a.mu.Lock()
	a.requests++
	if throttled {
		a.throttled++
	}
	now := a.now()
	var fire *Alert
	if now.Sub(a.windowStart) >= a.window {
		fire = a.closeWindowLocked(now)
	}
	a.mu.Unlock()
	if fire != nil && a.alert != nil {
		a.alert(*fire)
	}
}

func (a *AIMD) closeWindowLocked(now time.Time) *Alert {
	defer func() {
		a.windowStart, a.requests, a.throttled, a.peakInUse = now, 0, 0, a.inUse
	}()
	if a.requests == 0 {
		return nil
	}
	share := float64(a.throttled) / float64(a.requests)
	switch {
	case share > a.maxThrottled:
		old := a.limit
		a.limit = max(a.min, a.limit/2)
		return &Alert{
			At: now, Kind: "throttled", Requests: a.requests, Throttled: a.throttled,
			ThrottledShare: share, OldLimit: old, NewLimit: a.limit,
			Message: fmt.Sprintf("%.1f%% of %d responses were throttled (limit %.0f%%): concurrency %d -> %d",
				share*100, a.requests, a.maxThrottled*100, old, a.limit),
		}
	case a.throttled == 0 && a.peakInUse >= a.limit && a.limit < a.max:
		a.limit++
		a.cond.Broadcast()
	}
	return nil
}

// webhookAlerter posts alerts as JSON to url (best effort, bounded time).
func webhookAlerter(url string, client *http.Client, log *slog.Logger) func(Alert) {
	return func(al Alert) {
		body, _ := json.Marshal(al)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			log.Error("alert webhook", "err", err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			log.Error("alert webhook", "err", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			log.Error("alert webhook", "status", resp.StatusCode)
		}
	}
}
