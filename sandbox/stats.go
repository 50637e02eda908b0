package sandbox

import (
	"maps"
	"net/http"
	"time"
)

// Stats are the request counters of a Sandbox.
type Stats struct {
	// Requests counts responses by route pattern (e.g.
	// "POST /api/v2/externalcontacts/contacts/merge") and status; a dropped
	// connection counts as status 0.
	Requests map[string]map[int]int `json:"requests"`
	// Throttled counts 429 responses (rate limit and injected bursts).
	Throttled int `json:"throttled"`
	// Faults counts injected faults by kind. For resets of merges it also
	// counts "reset.before" (the merge was not applied) and "reset.after"
	// (the merge was applied, then the connection dropped); for merges whose
	// latency exceeded the gateway timeout it counts "slow504".
	Faults map[string]int `json:"faults"`
	// Merges counts merges applied (both endpoints).
	Merges int `json:"merges"`
	// Clients holds the counters of every OAuth client of the Config, by
	// client id (clients that never asked for a token included).
	Clients map[string]ClientStats `json:"clients"`
	// Tokens holds the counters of every access token issued, by token
	// label: "<client id>#<n>", n numbering the client's tokens from 1 (the
	// access token itself is never shown).
	Tokens map[string]TokenStats `json:"tokens"`
}

// ClientStats are the counters of one OAuth client. Requests are the /api/v2
// requests that presented a valid token of the client, whatever their
// answer (429 and 403 included): what the client sent, which is what a
// rate-limit window counts.
type ClientStats struct {
	// RateLimit is the client's limit: requests per minute per token
	// (negative: unlimited).
	RateLimit int `json:"rateLimit"`
	// TokensIssued counts the tokens the client obtained.
	TokensIssued int `json:"tokensIssued"`
	// Requests counts the client's requests.
	Requests int `json:"requests"`
	// Throttled counts its 429 answers, Forbidden its 403s.
	Throttled int `json:"throttled"`
	Forbidden int `json:"forbidden"`
	// MaxPerWindow is the most requests the client made within one window
	// of one minute, all its tokens together: windows are fixed, the first
	// starting at the client's first request and each next one at its first
	// request after the previous window ended (the way the platform times a
	// token's window). Several processes sharing one OAuth client share its
	// budget, so a client that respects it keeps MaxPerWindow at or below
	// RateLimit.
	MaxPerWindow int `json:"maxPerWindow"`
	// MaxPerTokenWindow is the most requests any one token of the client
	// made within one of its rate-limit windows.
	MaxPerTokenWindow int `json:"maxPerTokenWindow"`
}

// TokenStats are the counters of one access token.
type TokenStats struct {
	// Client is the id of the OAuth client the token was issued to.
	Client string `json:"client"`
	// Requests counts the requests made with the token, Throttled and
	// Forbidden its 429 and 403 answers.
	Requests  int `json:"requests"`
	Throttled int `json:"throttled"`
	Forbidden int `json:"forbidden"`
	// MaxPerWindow is the most requests made within one of the token's
	// rate-limit windows.
	MaxPerWindow int `json:"maxPerWindow"`
}

// window counts requests in fixed one-minute windows: the first starts at
// the first request, each next one at the first request after the previous
// one ended.
type window struct {
	start time.Time
	n     int
	max   int
}

// add counts a request at now and returns the count of its window.
func (w *window) add(now time.Time) int {
	if w.start.IsZero() || !now.Before(w.start.Add(time.Minute)) {
		w.start, w.n = now, 0
	}
	w.n++
	w.max = max(w.max, w.n)
	return w.n
}

// reset is the time left in the current window.
func (w *window) reset(now time.Time) time.Duration { return w.start.Add(time.Minute).Sub(now) }

// oauthClient is the state of one OAuth client.
type oauthClient struct {
	id, secret string
	rateLimit  int
	perms      map[string]bool // nil: all
	stats      ClientStats
	win        window
}

// allows reports whether the client holds any of need.
func (c *oauthClient) allows(need []string) bool {
	if c.perms == nil || len(need) == 0 {
		return true
	}
	for _, p := range need {
		if c.perms[p] {
			return true
		}
	}
	return false
}

// newClient returns the state of cl; rate 0 takes def.
func newClient(cl Client, def int) *oauthClient {
	c := &oauthClient{id: cl.ID, secret: cl.Secret, rateLimit: cl.RateLimit}
	if c.rateLimit == 0 {
		c.rateLimit = def
	}
	if cl.Permissions != nil {
		c.perms = make(map[string]bool, len(cl.Permissions))
		for _, p := range cl.Permissions {
			c.perms[p] = true
		}
	}
	c.stats.RateLimit = c.rateLimit
	return c
}

// countRequest adds one response to the stats (tok: the token it presented,
// nil when none was valid).
func (s *Sandbox) countRequest(route string, status int, tok *token) {
	s.amu.Lock()
	defer s.amu.Unlock()
	m := s.stats.Requests[route]
	if m == nil {
		m = map[int]int{}
		s.stats.Requests[route] = m
	}
	m[status]++
	switch status {
	case http.StatusTooManyRequests:
		s.stats.Throttled++
		if tok != nil {
			tok.stats.Throttled++
			tok.client.stats.Throttled++
		}
	case http.StatusForbidden:
		if tok != nil {
			tok.stats.Forbidden++
			tok.client.stats.Forbidden++
		}
	}
}

// countAuthenticated counts a request with a valid token in the token's and
// its client's windows (amu held) and returns the count of the token's
// window.
func countAuthenticated(tok *token, now time.Time) int {
	n := tok.win.add(now)
	tok.stats.Requests++
	tok.stats.MaxPerWindow = tok.win.max
	c := tok.client
	c.win.add(now)
	c.stats.Requests++
	c.stats.MaxPerWindow = c.win.max
	c.stats.MaxPerTokenWindow = max(c.stats.MaxPerTokenWindow, tok.win.max)
	return n
}

// Stats returns a copy of the request counters.
func (s *Sandbox) Stats() Stats {
	s.amu.Lock()
	defer s.amu.Unlock()
	out := Stats{Requests: map[string]map[int]int{}, Faults: maps.Clone(s.stats.Faults), Throttled: s.stats.Throttled, Merges: s.stats.Merges,
		Clients: make(map[string]ClientStats, len(s.clients)), Tokens: make(map[string]TokenStats, len(s.tokens))}
	for r, m := range s.stats.Requests {
		out.Requests[r] = maps.Clone(m)
	}
	for id, c := range s.clients {
		out.Clients[id] = c.stats
	}
	for _, t := range s.issued {
		out.Tokens[t.label] = t.stats
	}
	return out
}

// handleTruth serves GET /sandbox/truth: the clusters as a scan sees them;
// with ?all=true, with their hidden (auto-created) members too.
func (s *Sandbox) handleTruth(w http.ResponseWriter, r *http.Request) {
	t := s.Truth()
	if r.URL.Query().Get("all") == "true" {
		t = s.TruthAll()
	}
	if t == nil {
		t = [][]string{}
	}
	s.writeJSON(w, http.StatusOK, t)
}

// handleOplog serves GET /sandbox/oplog.
func (s *Sandbox) handleOplog(w http.ResponseWriter, _ *http.Request) {
	ops := s.Oplog()
	if ops == nil {
		ops = []Op{}
	}
	s.writeJSON(w, http.StatusOK, ops)
}

// handleStats serves GET /sandbox/stats.
func (s *Sandbox) handleStats(w http.ResponseWriter, _ *http.Request) {
	s.writeJSON(w, http.StatusOK, s.Stats())
}
