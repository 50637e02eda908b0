package genesys

import (
	"context"
	"sync"
	"time"
)

// Sharing one OAuth client's rate budget between processes.
//
// Genesys Cloud limits each client-credentials token to 300 requests a
// minute by default (client.credentials.token.rate.per.minute, Developer
// Center limits page; Genesys developer blog 2021-02-03 "Caching in flows":
// "300 platform API requests per OAuth2 token per minute", which also asks
// an integration to use a single token rather than one per process or
// request; inin-ratelimit-allowed says the actual figure, which can be
// lower). Community answers put the limit per OAuth client
// (community.genesys.com/discussion/api-limits). So the processes of one
// integration share both: the token (Config.TokenCache: one token, one
// window, whose headers count every process's requests) and that window's
// budget (Config.Budget: slices reserved before they are spent, so that the
// processes together never send more than the window allows). More budget
// means more OAuth clients (Pool), within the organization's own limits.
// The machines' clocks must agree to well under a second (NTP): a shared
// window's reset is an absolute time.

// Budget is a rate budget shared by every process that uses one OAuth
// client: each reserves slices of the client's current window before
// spending them (Config.Budget). The store's implementation keeps one row
// per client id in the database (store.UpdateBudget with
// BudgetWindow.Reserve); MemoryBudget shares one between the clients of
// one process. Implementations must be safe for concurrent use.
type Budget interface {
	Reserve(ctx context.Context, r BudgetRequest) (BudgetGrant, error)
}

// BudgetRequest asks for a slice of an OAuth client's window.
type BudgetRequest struct {
	// Client is the OAuth client id: the budget's key.
	Client string
	// Now is the requester's clock.
	Now time.Time
	// Limit is how many requests the window lets every process together
	// send: inin-ratelimit-allowed (at most the ceiling, Config.
	// RatePerMinute) minus the floor. Zero: unknown yet (the window's last
	// limit is kept, DefaultRatePerMinute - DefaultRateFloor for a first
	// one).
	Limit int
	// Reset and Count are the window as the requester's last response
	// reported it (inin-ratelimit-reset as a time, inin-ratelimit-count);
	// zero Reset: unknown or past.
	Reset time.Time
	Count int
	// Want is the slice asked for.
	Want int
}

// BudgetGrant is the answer to a BudgetRequest.
type BudgetGrant struct {
	// Granted is the number of requests reserved (0..Want): 0 when the
	// window is spent.
	Granted int
	// Reset is when the window the grant belongs to resets. Reserved
	// requests are sent before Reset - 1 s (the reset header is rounded up
	// to whole seconds); a new window begins at Reset + 2 s.
	Reset time.Time
	// Limit and Reserved describe the window after the grant: every
	// process's reservations together.
	Limit, Reserved int
}

// BudgetWindow is the shared state of one OAuth client's window, as a
// Budget keeps it (a database row).
type BudgetWindow struct {
	Reset    time.Time // zero: no window yet
	Limit    int
	Reserved int
}

// budgetSpendMargin is how long before a window's reset reserved requests
// stop being sent: the reset header is rounded up to whole seconds, so the
// platform's window may end up to a second before the reset computed from
// it.
const budgetSpendMargin = time.Second

// Reserve applies r to w (the one implementation of a budget's rules, which
// every Budget runs under its own lock) and returns the grant:
//
//   - a window that reset more than 2 s ago (or none) is replaced by a new
//     one, ending at the reset r reports or, when r knows none, a minute from
//     now: the platform's next window starts with its first request, which
//     comes after this reservation, so it ends no earlier;
//   - a reported reset later than the window's (by more than the header's
//     rounding) extends it: the platform's window ends later than assumed;
//   - a reported count above the window's reservations raises them (requests
//     the budget did not grant, such as another process's first ones);
//   - the grant is what is left of Limit, up to Want; between the reset and
//     2 s after it nothing is granted.
func (w *BudgetWindow) Reserve(r BudgetRequest) BudgetGrant {
	if r.Limit > 0 {
		w.Limit = r.Limit
	}
	if w.Limit <= 0 {
		w.Limit = DefaultRatePerMinute - DefaultRateFloor
	}
	reported := !r.Reset.IsZero() && r.Reset.After(r.Now)
	switch {
	case w.Reset.IsZero() || !r.Now.Before(w.Reset.Add(resetMargin)):
		reset := r.Now.Add(time.Minute)
		if reported {
			reset = r.Reset
		}
		w.Reset, w.Reserved = reset, 0
		if reported {
			w.Reserved = r.Count
		}
	case reported && r.Reset.Sub(w.Reset) > time.Second:
		w.Reset = r.Reset
		w.Reserved = max(w.Reserved, r.Count)
	case reported && w.Reset.Sub(r.Reset) <= time.Second:
		w.Reserved = max(w.Reserved, r.Count)
	}
	g := BudgetGrant{Reset: w.Reset, Limit: w.Limit}
	if r.Now.Before(w.Reset.Add(-budgetSpendMargin)) {
		g.Granted = min(max(w.Limit-w.Reserved, 0), max(r.Want, 0))
	}
	w.Reserved += g.Granted
	g.Reserved = w.Reserved
	return g
}

// MemoryBudget is a Budget kept in memory: the clients of one process that
// use the same OAuth client share it. The zero value is ready to use.
type MemoryBudget struct {
	mu      sync.Mutex
	windows map[string]*BudgetWindow
}

// Reserve implements Budget.
func (b *MemoryBudget) Reserve(ctx context.Context, r BudgetRequest) (BudgetGrant, error) {
	if err := ctx.Err(); err != nil {
		return BudgetGrant{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.windows == nil {
		b.windows = map[string]*BudgetWindow{}
	}
	w := b.windows[r.Client]
	if w == nil {
		w = new(BudgetWindow)
		b.windows[r.Client] = w
	}
	return w.Reserve(r), nil
}

// Window returns the current window of client (zero when none).
func (b *MemoryBudget) Window(client string) BudgetWindow {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := b.windows[client]; w != nil {
		return *w
	}
	return BudgetWindow{}
}

// TokenCache shares one OAuth client's access token between processes
// (Config.TokenCache): a process adopts the token another one obtained
// instead of requesting its own, which would have a window of its own.
// The store's implementation keeps it in the client's budget row, never
// logged. Implementations must be safe for concurrent use.
type TokenCache interface {
	// LoadToken returns the token cached for client (zero: none).
	LoadToken(ctx context.Context, client string) (SharedToken, error)
	// SwapToken caches next for client unless the cache holds a token other
	// than prev (another process renewed it first), and returns what the
	// cache holds afterwards: next, or the other process's token.
	SwapToken(ctx context.Context, client, prev string, next SharedToken) (SharedToken, error)
}

// SharedToken is an access token in a TokenCache.
type SharedToken struct {
	Access string
	// RenewAt is when the token is due for renewal (80% of its lifetime);
	// zero: never.
	RenewAt time.Time
}

// String never shows the token.
func (t SharedToken) String() string {
	if t.Access == "" {
		return "genesys.SharedToken{}"
	}
	return "genesys.SharedToken{Access: [REDACTED], RenewAt: " + t.RenewAt.Format(time.RFC3339) + "}"
}

// GoString never shows the token.
func (t SharedToken) GoString() string { return t.String() }

// MemoryTokenCache is a TokenCache kept in memory. The zero value is ready
// to use.
type MemoryTokenCache struct {
	mu     sync.Mutex
	tokens map[string]SharedToken
}

// LoadToken implements TokenCache.
func (c *MemoryTokenCache) LoadToken(_ context.Context, client string) (SharedToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens[client], nil
}

// SwapToken implements TokenCache.
func (c *MemoryTokenCache) SwapToken(_ context.Context, client, prev string, next SharedToken) (SharedToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil {
		c.tokens = map[string]SharedToken{}
	}
	if cur := c.tokens[client]; cur.Access == "" || cur.Access == prev {
		c.tokens[client] = next
	}
	return c.tokens[client], nil
}
