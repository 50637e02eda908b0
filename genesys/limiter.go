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

// Limiter is the client-side rate limiter of a Client: a token bucket
// (golang.org/x/time/rate) refilled at PerMinute/60 per second, whose rate
// follows the platform's inin-ratelimit-allowed header (never above the
// configured ceiling), and a pause: when the remaining budget of the
// platform's window falls below the floor, or after a 429 with Retry-After,
// new requests wait until the window resets plus 2 s (or the Retry-After
// elapses). It is safe for concurrent use.
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
	if l.paused.After(l.now()) {
		st.PausedUntil = l.paused
	}
	return st
}

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
	floor := min(l.floor, max(rl.Allowed/4, 1))
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

// Wait blocks until a request may be sent: until any pause is over and the
// bucket has a token. It returns ctx's error if ctx is done first.
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
	if err := l.bucket.Wait(ctx); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		// The bucket refuses a wait that would outlast the deadline.
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return nil
}
