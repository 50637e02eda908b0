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
// the pause and the window spending (the bucket alone paces).
//
// With a shared Budget (Config.Budget: several processes using one OAuth
// client), the limiter neither spends the window on its own nor lets the
// bucket alone decide: every request spends a slice reserved from the
// budget (min(limit/20, 10) requests at a time, limit being the window's
// allowed, at most the ceiling, minus the floor), until 1 s before the
// window's reset; when the budget grants nothing, requests wait until the
// reset plus 2 s. With a ceiling the bucket paces the reserved requests
// too. It is safe for concurrent use.
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
	winCount   int       // the highest count reported in it
	winReset   time.Time // when it resets

	// A shared budget (Config.Budget; nil: none, the limiter alone decides):
	// requests spend slices reserved from it for client.
	budget    Budget
	client    string
	reserveMu sync.Mutex // one reservation at a time per limiter
	slice     int        // requests reserved and not yet sent
	sliceEnd  time.Time  // when they stop being spendable
	// Until a response reports the window, one request at a time finds
	// it out: probing is when the last one was let through, known is
	// closed by the first report.
	probing time.Time
	known   chan struct{} // closed under mu
	// unlimited: a successful answer came without rate-limit headers and
	// none ever came with them: the platform reports no limit (the
	// sandbox's unlimited organization), so there is no window to share.
	unlimited bool
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
	// Shared is true when the limiter spends a shared Budget; Reserved is
	// the part of its last slice not sent yet.
	Shared   bool
	Reserved int
}

// newLimiter returns a limiter with ceiling requests per minute (0: none;
// it starts at DefaultRatePerMinute until the platform reports its budget).
func newLimiter(ceiling, floor int, now func() time.Time) *Limiter {
	start := ceiling
	if start == 0 {
		start = DefaultRatePerMinute
	}
	l := &Limiter{now: now, ceiling: ceiling, perMinute: start, floor: floor, known: make(chan struct{})}
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
	if l.budget != nil {
		st.Shared = true
		if now.Before(l.sliceEnd) {
			st.Reserved = l.slice
		}
	}
	return st
}

// ReadyAt returns when a request could be sent at the earliest, as far as
// the limiter knows without asking a shared budget: now, or the end of a
// pause (a Retry-After, a window spent).
func (l *Limiter) ReadyAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.paused.After(now) {
		return l.paused
	}
	return now
}

// windowLocked reports whether requests spend the current window (rather
// than wait for the bucket): no ceiling, a floor, and a window known and
// not yet reset. A window past its reset is forgotten: the next response
// reports the new one, and until then the bucket paces.
func (l *Limiter) windowLocked(now time.Time) bool {
	if !l.winReset.IsZero() && !now.Before(l.winReset) {
		l.winReset, l.winUsed, l.winCount = time.Time{}, 0, 0
	}
	return l.budget == nil && l.ceiling == 0 && l.floor > 0 && !l.winReset.IsZero()
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
	l.closeKnownLocked()
	l.unlimited = false
	l.last = rl
	l.setRateLocked(l.capped(rl.Allowed))
	// The window: a reset later than the known one (by more than the
	// headers' one-second rounding) starts a new window; within one,
	// the count only grows (responses arrive out of order, and the
	// requests sent since are counted already).
	if reset := rl.ResetAt(); l.winReset.IsZero() || reset.Sub(l.winReset) > time.Second || !rl.Observed.Before(l.winReset) {
		l.winReset, l.winUsed, l.winCount = reset, rl.Count, rl.Count
	} else {
		l.winUsed = max(l.winUsed, rl.Count)
		l.winCount = max(l.winCount, rl.Count)
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
	if l.budget != nil {
		if err := l.spendBudget(ctx); err != nil {
			return err
		}
		if l.ceilingSet() {
			return l.waitBucket(ctx)
		}
		return nil
	}
	if ok, err := l.spendWindow(ctx); ok || err != nil {
		return err
	}
	return l.waitBucket(ctx)
}

func (l *Limiter) ceilingSet() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ceiling > 0
}

// waitBucket waits for a token of the bucket.
func (l *Limiter) waitBucket(ctx context.Context) error {
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

// shareBudget makes the limiter spend slices of client's window reserved
// from b (Config.Budget).
func (l *Limiter) shareBudget(b Budget, client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.budget, l.client = b, client
}

// maxSlice is the largest slice a limiter reserves at once: small enough
// that what an idle process holds does not starve the others.
const maxSlice = 10

// sliceOf is the slice reserved at once from a window of limit requests:
// min(limit/20, 10), at least 1.
func sliceOf(limit int) int { return max(min(limit/20, maxSlice), 1) }

// budgetLimitLocked is what this limiter says the window allows every
// process together: inin-ratelimit-allowed, at most the ceiling, minus the
// floor (0: unknown yet, the budget keeps its own).
func (l *Limiter) budgetLimitLocked() int {
	allowed := l.winAllowed
	if allowed == 0 {
		allowed = l.last.Allowed
	}
	if l.ceiling > 0 {
		if allowed == 0 {
			allowed = l.ceiling
		}
		allowed = min(allowed, l.ceiling)
	}
	if allowed > 0 && l.floor > 0 {
		allowed -= l.floorOf(allowed)
	}
	return allowed
}

// spendBudget takes one request from the slice reserved from the shared
// budget, reserving the next slice when it is spent (one reservation at a
// time), and waits for the window's reset plus resetMargin when the budget
// grants nothing. A slice is spent only until 1 s before its window's reset
// (budgetSpendMargin: the reset header is rounded up).
func (l *Limiter) spendBudget(ctx context.Context) error {
	var waitedFor time.Time
	for {
		if l.takeSlice() {
			return nil
		}
		l.reserveMu.Lock()
		if l.takeSlice() { // reserved by another request meanwhile
			l.reserveMu.Unlock()
			return nil
		}
		l.mu.Lock()
		if l.unlimited && l.ceiling == 0 {
			l.mu.Unlock()
			l.reserveMu.Unlock()
			return nil
		}
		now := l.now()
		r := BudgetRequest{Client: l.client, Now: now, Limit: l.budgetLimitLocked()}
		r.Want = sliceOf(r.Limit)
		if r.Limit == 0 {
			// The window is not known yet: one request finds it out, the
			// others wait for its answer (or for probeWait, when it brings
			// no rate-limit headers).
			if !l.probing.IsZero() {
				l.mu.Unlock()
				l.reserveMu.Unlock()
				if err := l.waitKnown(ctx); err != nil {
					return err
				}
				continue
			}
			l.probing = now
			r.Want = 1
		}
		if l.winReset.After(now) {
			r.Reset, r.Count = l.winReset, l.winCount
		}
		l.mu.Unlock()
		g, err := l.budget.Reserve(ctx, r)
		if err != nil {
			l.reserveMu.Unlock()
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return fmt.Errorf("genesys: reserving from the shared rate budget: %w", err)
		}
		l.mu.Lock()
		if g.Granted > 0 {
			end := g.Reset.Add(-budgetSpendMargin)
			if !end.Equal(l.sliceEnd) || !now.Before(l.sliceEnd) {
				l.slice = 0
			}
			l.slice += g.Granted - 1
			l.sliceEnd = end
			l.mu.Unlock()
			l.reserveMu.Unlock()
			return nil
		}
		// The window is spent: wait for its reset plus the margin (once
		// per window, so a frozen test clock cannot make this spin).
		until := g.Reset.Add(resetMargin)
		if until.After(l.paused) {
			l.paused = until
		}
		d := until.Sub(now)
		if !until.After(waitedFor) || d <= 0 {
			d = resetMargin
		}
		waitedFor = until
		l.waits++
		l.waited += d
		l.mu.Unlock()
		l.reserveMu.Unlock()
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// answered tells the limiter of a response that carried no rate-limit
// headers: a 2xx without them, before any response carried them, means no
// limit is reported, and the shared budget is not waited for.
func (l *Limiter) answered(ri RequestInfo) {
	if ri.RateLimit.Known() || ri.Status < 200 || ri.Status > 299 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.Allowed == 0 && !l.unlimited {
		l.unlimited = true
		l.closeKnownLocked()
	}
}

// closeKnownLocked wakes the requests waiting for the first answer (once).
func (l *Limiter) closeKnownLocked() {
	select {
	case <-l.known:
	default:
		close(l.known)
	}
}

// probeWait is how long requests wait for the answer to the request that
// finds out the window before another one is let through.
const probeWait = time.Second

// waitKnown waits until a response reported the window, or probeWait (then
// the next request probes again).
func (l *Limiter) waitKnown(ctx context.Context) error {
	tm := time.NewTimer(probeWait)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-l.known:
		return nil
	case <-tm.C:
		l.mu.Lock()
		l.probing = time.Time{}
		l.mu.Unlock()
		return nil
	}
}

// takeSlice takes one request from the reserved slice, if any is left and
// its window still spendable.
func (l *Limiter) takeSlice() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.slice > 0 && l.now().Before(l.sliceEnd) {
		l.slice--
		return true
	}
	return false
}
