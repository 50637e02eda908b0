package genesys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Pool defaults.
const (
	// DefaultStormAfter is the number of consecutive 401, 403 or 429
	// answers (or failed token requests) after which a pool client is
	// benched.
	DefaultStormAfter = 5
	// DefaultBenchFor is the first bench; each storm right after a bench
	// doubles it, up to DefaultMaxBench.
	DefaultBenchFor = 30 * time.Second
	DefaultMaxBench = 10 * time.Minute
)

// PoolMember is one OAuth client of a Pool: a name (its profile, for logs
// and errors; never a secret) and its client configuration.
type PoolMember struct {
	Name   string
	Config Config
}

// PoolConfig tunes a Pool's storm detection. Zero fields take the defaults.
type PoolConfig struct {
	StormAfter         int
	BenchFor, MaxBench time.Duration
	Logger             *slog.Logger
	Now                func() time.Time
}

// Pool is a set of clients of one organization, each with its own OAuth
// client and so its own rate budget, for tenants whose work needs more than
// one client's budget. Pick spreads requests across them: the client that
// can send soonest (not paused by a Retry-After or a spent window), round
// robin among equals. A client in a storm (PoolConfig.StormAfter
// consecutive 401, 403 or 429 answers, or failed token requests) is
// benched for a while (30 s, doubling while storms repeat, up to 10 min)
// and the others carry on; Forbid benches one for good (it lacks a
// permission). Only when every client is benched does Pick return a benched
// one (the one whose bench ends first). It is safe for concurrent use.
type Pool struct {
	cfg     PoolConfig
	members []*member

	mu   sync.Mutex
	next int
}

type member struct {
	name   string
	client *Client

	mu        sync.Mutex
	strikes   int           // consecutive storm answers
	bench     time.Duration // the last bench's length (doubles)
	benched   time.Time     // benched until then
	forbidden bool
	picks     int64
}

// NewPool builds a client for each member (NewClient with its Config, whose
// Observer it wraps to watch for storms). Member names must be unique and
// non-empty, and so must their ClientIDs.
func NewPool(ctx context.Context, cfg PoolConfig, members ...PoolMember) (*Pool, error) {
	if len(members) == 0 {
		return nil, errors.New("genesys: a pool needs at least one client")
	}
	if cfg.StormAfter <= 0 {
		cfg.StormAfter = DefaultStormAfter
	}
	if cfg.BenchFor <= 0 {
		cfg.BenchFor = DefaultBenchFor
	}
	if cfg.MaxBench <= 0 {
		cfg.MaxBench = DefaultMaxBench
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Pool{cfg: cfg}
	names, ids := map[string]bool{}, map[string]string{}
	for i, pm := range members {
		switch {
		case strings.TrimSpace(pm.Name) == "":
			return nil, fmt.Errorf("genesys: pool client %d has no name", i+1)
		case names[pm.Name]:
			return nil, fmt.Errorf("genesys: pool client name %q is used twice", pm.Name)
		case ids[pm.Config.ClientID] != "":
			return nil, fmt.Errorf("genesys: pool clients %q and %q have the same OAuth client id: one client's budget cannot be counted twice",
				ids[pm.Config.ClientID], pm.Name)
		}
		names[pm.Name], ids[pm.Config.ClientID] = true, pm.Name
		m := &member{name: pm.Name}
		c := pm.Config
		outer := c.Observer
		c.Observer = func(ri RequestInfo) {
			p.observe(m, ri)
			if outer != nil {
				outer(ri)
			}
		}
		client, err := NewClient(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("pool client %q: %w", pm.Name, err)
		}
		client.tokens.fetched = func(err error) { p.tokenResult(m, err) }
		m.client = client
		p.members = append(p.members, m)
	}
	return p, nil
}

// Clients returns the pool's clients in their configured order.
func (p *Pool) Clients() []*Client {
	out := make([]*Client, len(p.members))
	for i, m := range p.members {
		out[i] = m.client
	}
	return out
}

// Len returns the number of clients.
func (p *Pool) Len() int { return len(p.members) }

// Name returns the name of c in the pool ("" when c is not one of its
// clients).
func (p *Pool) Name(c *Client) string {
	if m := p.memberOf(c); m != nil {
		return m.name
	}
	return ""
}

func (p *Pool) memberOf(c *Client) *member {
	for _, m := range p.members {
		if m.client == c {
			return m
		}
	}
	return nil
}

// Pick returns the client the next request should use: among the clients
// neither benched nor forbidden, the one ready soonest (Limiter.ReadyAt),
// round robin among those ready now; when all are benched, the one whose
// bench ends first; when all are forbidden, the first.
func (p *Pool) Pick() *Client {
	now := p.cfg.Now()
	p.mu.Lock()
	start := p.next
	p.next = (p.next + 1) % len(p.members)
	p.mu.Unlock()
	var best, fallback *member
	var bestAt, fallbackAt time.Time
	for i := range p.members {
		m := p.members[(start+i)%len(p.members)]
		m.mu.Lock()
		forbidden, benched := m.forbidden, m.benched
		m.mu.Unlock()
		if forbidden {
			continue
		}
		if benched.After(now) {
			if fallback == nil || benched.Before(fallbackAt) {
				fallback, fallbackAt = m, benched
			}
			continue
		}
		at := m.client.limiter.ReadyAt()
		if at.Before(now) {
			at = now
		}
		if best == nil || at.Before(bestAt) {
			best, bestAt = m, at
		}
	}
	switch {
	case best != nil:
	case fallback != nil:
		best = fallback
	default:
		best = p.members[0]
	}
	best.mu.Lock()
	best.picks++
	best.mu.Unlock()
	return best.client
}

// Forbid benches c for good (it lacks a permission the work needs) and
// reports whether another client that is not forbidden remains.
func (p *Pool) Forbid(c *Client) bool {
	m := p.memberOf(c)
	if m == nil {
		return false
	}
	m.mu.Lock()
	was := m.forbidden
	m.forbidden = true
	m.mu.Unlock()
	if !was {
		p.cfg.Logger.Warn("genesys: pool client lacks a permission: it sends nothing more", "client", m.name)
	}
	for _, o := range p.members {
		o.mu.Lock()
		ok := !o.forbidden
		o.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// PoolClientState is a snapshot of one pool client.
type PoolClientState struct {
	Name         string
	ClientID     string
	Picks        int64
	BenchedUntil time.Time // zero when not benched
	Forbidden    bool
}

// State returns a snapshot of every client, in order.
func (p *Pool) State() []PoolClientState {
	now := p.cfg.Now()
	out := make([]PoolClientState, len(p.members))
	for i, m := range p.members {
		m.mu.Lock()
		out[i] = PoolClientState{Name: m.name, ClientID: m.client.tokens.endpoint.id, Picks: m.picks, Forbidden: m.forbidden}
		if m.benched.After(now) {
			out[i].BenchedUntil = m.benched
		}
		m.mu.Unlock()
	}
	return out
}

// stormStatus reports whether an answer is part of a storm: 401
// (credentials refused), 403 (a permission missing) or 429 (throttled).
func stormStatus(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests
}

func (p *Pool) observe(m *member, ri RequestInfo) {
	switch {
	case ri.Status == 0:
		// No answer (a network error): says nothing about the client.
	case stormStatus(ri.Status):
		p.strike(m, fmt.Sprintf("HTTP %d", ri.Status))
	default:
		p.healthy(m)
	}
}

func (p *Pool) tokenResult(m *member, err error) {
	if err == nil {
		return // a token is no answer to a request yet
	}
	var ae *AuthError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
		p.strike(m, "token request refused")
	}
}

// strike counts one storm answer; the StormAfter-th in a row benches the
// client.
func (p *Pool) strike(m *member, what string) {
	now := p.cfg.Now()
	m.mu.Lock()
	m.strikes++
	if m.strikes < p.cfg.StormAfter || m.benched.After(now) {
		m.mu.Unlock()
		return
	}
	m.strikes = 0
	switch {
	case m.bench == 0:
		m.bench = p.cfg.BenchFor
	default:
		m.bench = min(2*m.bench, p.cfg.MaxBench)
	}
	m.benched = now.Add(m.bench)
	until, d := m.benched, m.bench
	m.mu.Unlock()
	p.cfg.Logger.Warn("genesys: pool client benched after a storm; the others carry on", "client", m.name,
		"answers", fmt.Sprintf("%d × %s", p.cfg.StormAfter, what), "for", d, "until", until)
}

// healthy resets a client's storm count; a client that answers normally
// after its bench starts over at the first bench length.
func (p *Pool) healthy(m *member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.strikes = 0
	if !m.benched.After(p.cfg.Now()) {
		m.bench = 0
	}
}
