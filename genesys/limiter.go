package genesys

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// resetMargin is waited beyond a window reset before sending again.
const resetMargin = 2 * time.Second

// Limiter is the client-side rate limiter of a Client. The platform's limit
// is a window with a reset, not a rate, so without a configured ceiling the
// limiter spends the window: once a response has reported the window
// (inin-ratelimit-allowed, -count, -reset), every request up to allowed
// minus the floor is let through at once (as fast as concurrency allows),
// counting each one sent against the window itself (responses report the
// count late), and then requests wait for the reset plus 2 s. With a
// ceiling (Config.RatePerMinute, --max-rate: a budget shared with other
// integrations), and before the window is known, requests are paced evenly
// by a token bucket (golang.org/x/time/rate) refilled at PerMinute/60 per
// second, whose rate follows inin-ratelimit-allowed (never above the
// ceiling). In both modes, when the remaining budget reported falls below
// the floor, or after a 429 with Retry-After, new requests wait until the
// window resets plus 2 s (or the Retry-After elapses). A floor ≤ 0 disables
// the pause and the window spending (the bucket alone paces). It is safe
// for concurrent use.
type Limiter struct {
	now func() time.Time

	mu        sync.Mutex
	ceiling   int // configured requests per minute
	perMinute int // effective requests per minute
	floor     int
	bucket    *rate.Limiter
	paused    time.Time // requests wait until then
	last      RateLimit
	waits     int64
	waited    time.Duration

	// The current window, as far as it is known (winReset zero: unknown).
	winAllowed int       // inin-ratelimit-allowed
	winUsed    int       // requests counted against it: max(reported count, sent since)
	winReset   time.Time // when it resets
}

// LimiterState is a snapshot of a Limiter.
type LimiterState struct {
	PerMinute   int           // effective rate (requests per minute)
	Ceiling     int           // configured ceiling (Config.RatePerMinute; 0 = none)
	Floor       int           // configured floor (Config.RateFloor)
	Tokens      float64       // tokens currently in the bucket
	PausedUntil time.Time     // zero when not paused
	Last        RateLimit     // last budget reported by the platform
	Waits       int64         // requests that had to wait for a pause
	Waited      time.Duration // total time spent in pauses
	// Window is true when the limiter spends the current window (no
	// ceiling, the window known); WindowUsed and WindowReset describe it.
	Window      bool
	WindowUsed  int
	WindowReset time.Time
}

// newLimiter returns a limiter with ceiling requests per minute (0: none;
// it starts at DefaultRatePerMinute until the platform reports its budget).
func newLimiter(ceiling, floor int, now func() time.Time) *Limiter {
	start := ceiling
	if start == 0 {
		start = DefaultRatePerMinute
	}
	l := &Limiter{now: now, ceiling: ceiling, perMinute: start, floor: floor}
	l.bucket = rate.NewLimiter(perSecond(start), burst(start))
	return l
}

// capped applies the ceiling (if any) to a rate.
func (l *Limiter) capped(perMinute int) int {
	if l.ceiling > 0 {
		return min(l.ceiling, perMinute)
	}
	return perMinute
}

func perSecond(perMinute int) rate.Limit { return rate.Limit(float64(perMinute) / 60) }

func burst(perMinute int) int { return max(perMinute/10, 1) }

// State returns a snapshot of the limiter.
func (l *Limiter) State() LimiterState {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := LimiterState{
		PerMinute: l.perMinute, Ceiling: l.ceiling, Floor: l.floor,
		Tokens: l.bucket.Tokens(), Last: l.last, Waits: l.waits, Waited: l.waited,
	}
	now := l.now()
	if l.paused.After(now) {
		st.PausedUntil = l.paused
	}
	if l.windowLocked(now) {
		st.Window, st.WindowUsed, st.WindowReset = true, l.winUsed, l.winReset
	}
	return st
}

// windowLocked reports whether requests spend the current window (rather
// than wait for the bucket): no ceiling, a floor, and a window known and
// not yet reset. A window past its reset is forgotten: the next response
// reports the new one, and until then the bucket paces.
func (l *Limiter) windowLocked(now time.Time) bool {
	if !l.winReset.IsZero() && !now.Before(l.winReset) {
		l.winReset, l.winUsed = time.Time{}, 0
	}
	return l.ceiling == 0 && l.floor > 0 && !l.winReset.IsZero()
}

// floorOf is the floor for a window of allowed requests: the configured
// floor, but at most a quarter of the window.
func (l *Limiter) floorOf(allowed int) int { return min(l.floor, max(allowed/4, 1)) }

// SetCeiling changes the configured requests-per-minute ceiling (e.g. from a
// --max-rate flag or an adaptive controller). The effective rate becomes
// min(n, the platform's allowed budget). n ≤ 0 is ignored.
func (l *Limiter) SetCeiling(n int) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ceiling = n
	eff := n
	if l.last.Allowed > 0 {
		eff = l.capped(l.last.Allowed)
	}
	l.setRateLocked(eff)
}

func (l *Limiter) setRateLocked(perMinute int) {
	if perMinute == l.perMinute {
		return
	}
	l.perMinute = perMinute
	l.bucket.SetLimit(perSecond(perMinute))
	l.bucket.SetBurst(burst(perMinute))
}

// observe corrects the limiter from the platform's headers.
func (l *Limiter) observe(rl RateLimit) {
	if !rl.Known() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if rl.Observed.Before(l.last.Observed) {
		return
	}
	l.last = rl
	l.setRateLocked(l.capped(rl.Allowed))
	// The window: a reset later than the known one (by more than the
	// headers' one-second rounding) starts a new window; within one,
	// the count only grows (responses arrive out of order, and the
	// requests sent since are counted already).
	if reset := rl.ResetAt(); l.winReset.IsZero() || reset.Sub(l.winReset) > time.Second || !rl.Observed.Before(l.winReset) {
		l.winReset, l.winUsed = reset, rl.Count
	} else {
		l.winUsed = max(l.winUsed, rl.Count)
	}
	l.winAllowed = rl.Allowed
	floor := l.floorOf(rl.Allowed)
	if l.floor > 0 && rl.Remaining() < floor {
		if until := rl.ResetAt().Add(resetMargin); until.After(l.paused) {
			l.paused = until
		}
	}
}

// pauseUntil makes new requests wait until t (a Retry-After).
func (l *Limiter) pauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.paused) {
		l.paused = t
	}
}

// Wait blocks until a request may be sent: until any pause is over and then
// either the current window has budget above the floor (window spending) or
// the bucket has a token. It returns ctx's error if ctx is done first.
func (l *Limiter) Wait(ctx context.Context) error {
	// Each pause is waited for once, by its duration; the loop only goes on
	// when the pause was extended meanwhile (so a frozen test clock cannot
	// make it spin).
	var waitedFor time.Time
	for {
		l.mu.Lock()
		p := l.paused
		d := p.Sub(l.now())
		l.mu.Unlock()
		if d <= 0 || !p.After(waitedFor) {
			break
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
		waitedFor = p
		l.mu.Lock()
		l.waits++
		l.waited += d
		l.mu.Unlock()
	}
	if ok, err := l.spendWindow(ctx); ok || err != nil {
		return err
	}
	if err := l.bucket.Wait(ctx); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		// The bucket refuses a wait that would outlast the deadline.
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return nil
}

// spendWindow lets a request through at once when the limiter spends the
// current window and it has budget above the floor (ok), and counts it. At
// the floor it pauses new requests until the reset plus resetMargin and
// waits for that; ok is false when the bucket is to pace the request (a
// ceiling, or the window unknown, e.g. after the pause).
func (l *Limiter) spendWindow(ctx context.Context) (ok bool, err error) {
	for {
		l.mu.Lock()
		now := l.now()
		if !l.windowLocked(now) {
			l.mu.Unlock()
			return false, nil
		}
		if l.winUsed < l.winAllowed-l.floorOf(l.winAllowed) {
			l.winUsed++
			l.mu.Unlock()
			return true, nil
		}
		win := l.winReset
		until := win.Add(resetMargin)
		if until.After(l.paused) {
			l.paused = until
		}
		d := until.Sub(now)
		l.waits++
		l.waited += d
		l.mu.Unlock()
		if err := sleep(ctx, d); err != nil {
			return false, err
		}
		// The window has reset: forget it, unless a response reported a
		// new one meanwhile (so a frozen test clock cannot make this wait
		// again for the same window).
		l.mu.Lock()
		if l.winReset.Equal(win) {
			l.winReset, l.winUsed = time.Time{}, 0
		}
		l.mu.Unlock()
	}
}
