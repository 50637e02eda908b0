package sandbox

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Config configures a Sandbox. The zero value is usable (New fills the
// defaults stated on each field); DefaultConfig additionally turns on
// ConflictOnActivity.
type Config struct {
	// Contacts is the number of contacts to generate (ignored when Load is
	// set). Zero gives an empty organization; negative is an error.
	Contacts int
	// Seed seeds the generator and the sandbox's own random decisions (new
	// ids, fault draws).
	Seed int64
	// Load, when set, is read as JSONL by LoadContacts: one ExternalContact
	// per line with the Genesys JSON names. A bad line is an error naming the
	// input and the line ("sandbox: contacts.jsonl:3: ..."); the input's
	// name is its Name() when it has one, as an *os.File does, else
	// "contacts".
	Load io.Reader
	// Activity, when set, is read as JSONL activity by LoadActivity: lines
	// {"externalContactId","conversationId","start","end"} for conversations
	// (no end = active) or {"externalContactId","caseId","status"} for cases.
	// When nil, the generator's activity is used (see ActivityRate). Errors
	// are named like those of Load (default name "activity").
	Activity io.Reader
	// ActivityRate is the fraction of generated contacts with an active
	// conversation or an open case, in [0,1] (default 0).
	ActivityRate float64
	// DupRate is the fraction of generated contacts that belong to a
	// duplicate cluster, at most 1 (default 0.2; negative: none).
	DupRate float64
	// RateLimit is the number of requests per minute per token (default 300;
	// negative = unlimited).
	RateLimit int
	// Faults are the fault probabilities (see ParseFaults).
	Faults Faults
	// TokenTTL is the lifetime of access tokens (default 24h; negative is an
	// error); requests with an expired token get 401.
	TokenTTL time.Duration
	// GatewayTimeout is how long the gateway waits for a merge before it
	// answers 504 (default 60s; negative is an error). The merge still
	// completes.
	GatewayTimeout time.Duration
	// MergeLatency is the processing time of a merge per input id (default
	// 0; negative is an error).
	MergeLatency time.Duration
	// ClientID and ClientSecret are the accepted OAuth client credentials
	// (defaults "sandbox-client" / "sandbox-secret").
	ClientID, ClientSecret string
	// ConflictOnActivity makes a merge that includes a contact with an active
	// conversation or an open case fail with 409 without naming the contact
	// (DefaultConfig sets it; the real behaviour is unconfirmed).
	ConflictOnActivity bool
	// HideAutoCreated hides Ephemeral and Identified contacts from scan and
	// search, as the platform does (default false: they are listed, so that
	// every generated duplicate can be found).
	HideAutoCreated bool
	// Now is the clock of rate-limit windows, token expiry, throttle bursts
	// and record dates (default time.Now). Latencies use real timers.
	Now func() time.Time
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// DefaultConfig returns the configuration of `contactmerge sandbox`: 300
// requests a minute, 24 h tokens, a 60 s gateway timeout, the default
// credentials, and 409 on merges of active contacts.
func DefaultConfig() Config {
	return Config{
		RateLimit:          300,
		TokenTTL:           24 * time.Hour,
		GatewayTimeout:     60 * time.Second,
		ClientID:           "sandbox-client",
		ClientSecret:       "sandbox-secret",
		ConflictOnActivity: true,
		DupRate:            0.2,
		Now:                time.Now,
	}
}

// Op is one mutation the sandbox applied, in order.
type Op struct {
	// Seq numbers the operations from 1.
	Seq int64 `json:"seq"`
	// Op is "merge" (current endpoint), "merge2" (deprecated endpoint) or
	// "delete".
	Op string `json:"op"`
	// Inputs are the ids as the request named them.
	Inputs []string `json:"inputs"`
	// Resolved are the canonical contacts the inputs resolved to (what was
	// really merged or deleted).
	Resolved []string `json:"resolved"`
	// Result is the new canonical contact of a merge, or the deleted id.
	Result string `json:"result"`
	// At is when the mutation was applied (Config.Now).
	At time.Time `json:"at"`
}

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
}

// token is the state of one issued access token.
type token struct {
	expires       time.Time
	winStart      time.Time
	count         int
	throttleUntil time.Time
}

// Sandbox is an emulated Genesys Cloud organization. It implements
// http.Handler and is safe for concurrent use.
type Sandbox struct {
	cfg  Config
	now  func() time.Time
	log  *slog.Logger
	mux  *http.ServeMux
	bg   sync.WaitGroup
	bufs sync.Pool // *bytes.Buffer for response bodies

	mu        sync.RWMutex
	byID      map[string]*cm.Contact // every record: canonical and ancestor
	ids       []string               // sorted ids of byID
	canonical int                    // records that are not ancestors
	truth     [][]string
	acts      []Activity
	actIdx    map[string][]int
	oplog     []Op
	idRand    *rand.Rand
	orgID     string

	amu    sync.Mutex // guards tokens, stats and fault draws
	tokens map[string]*token
	frand  *rand.Rand
	stats  Stats
}

// WithDefaults returns c with the defaults stated on its fields filled in
// where c leaves them zero. It does not turn on ConflictOnActivity (see
// DefaultConfig) and leaves invalid values for New to refuse.
func (c Config) WithDefaults() Config {
	if c.RateLimit == 0 {
		c.RateLimit = 300
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 24 * time.Hour
	}
	if c.GatewayTimeout == 0 {
		c.GatewayTimeout = 60 * time.Second
	}
	if c.ClientID == "" {
		c.ClientID = "sandbox-client"
	}
	if c.ClientSecret == "" {
		c.ClientSecret = "sandbox-secret"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate names the first field of c that holds a value New cannot use
// (its errors start with "sandbox: ", as all of New's).
func (c Config) validate() error {
	switch {
	case c.Contacts < 0:
		return fmt.Errorf("sandbox: Contacts %d is negative", c.Contacts)
	case !(c.ActivityRate >= 0 && c.ActivityRate <= 1):
		return fmt.Errorf("sandbox: ActivityRate %v is not a fraction in [0,1]", c.ActivityRate)
	case !(c.DupRate <= 1):
		return fmt.Errorf("sandbox: DupRate %v is more than 1 (it is a fraction)", c.DupRate)
	case c.TokenTTL < 0:
		return fmt.Errorf("sandbox: TokenTTL %v is negative", c.TokenTTL)
	case c.GatewayTimeout < 0:
		return fmt.Errorf("sandbox: GatewayTimeout %v is negative", c.GatewayTimeout)
	case c.MergeLatency < 0:
		return fmt.Errorf("sandbox: MergeLatency %v is negative", c.MergeLatency)
	}
	if err := c.Faults.validate(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// inputName is the name of an input in errors: its Name() (an *os.File's
// path), else def.
func inputName(r io.Reader, def string) string {
	if n, ok := r.(interface{ Name() string }); ok && n.Name() != "" {
		return n.Name()
	}
	return def
}

// New builds a Sandbox from cfg: it fills the defaults (Config.WithDefaults),
// refuses invalid fields with an error naming the field, loads cfg.Load or
// generates cfg.Contacts contacts, then reads cfg.Activity. Errors start
// with "sandbox: " and name the bad line of an input.
func New(cfg Config) (*Sandbox, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	seed := uint64(cfg.Seed)
	s := &Sandbox{
		cfg:    cfg,
		now:    cfg.Now,
		log:    cfg.Logger,
		actIdx: map[string][]int{},
		idRand: rand.New(rand.NewPCG(seed, 0x5eed1d5)),
		frand:  rand.New(rand.NewPCG(seed, 0xfa0175)),
		tokens: map[string]*token{},
		stats:  Stats{Requests: map[string]map[int]int{}, Faults: map[string]int{}},
	}
	s.orgID = newUUID(rand.New(rand.NewPCG(seed, 0x0e6)))
	var contacts []cm.Contact
	var acts []Activity
	if cfg.Load != nil {
		cs, err := LoadContacts(cfg.Load, inputName(cfg.Load, "contacts"))
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		contacts = cs
	} else if cfg.Contacts > 0 {
		org := Generate(GenConfig{Contacts: cfg.Contacts, Seed: cfg.Seed, DupRate: cfg.DupRate, ActivityRate: cfg.ActivityRate})
		contacts, acts, s.truth = org.Contacts, org.Activity, org.Truth
		// Generated activity happens just before GenEpoch; move it to the
		// sandbox's present so that analytics intervals around now find it.
		shift := cfg.Now().Sub(GenEpoch())
		for i := range acts {
			if !acts[i].Start.IsZero() {
				acts[i].Start = acts[i].Start.Add(shift)
			}
			if !acts[i].End.IsZero() {
				acts[i].End = acts[i].End.Add(shift)
			}
		}
	}
	if cfg.Activity != nil {
		a, err := LoadActivity(cfg.Activity, inputName(cfg.Activity, "activity"))
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		acts = a
	}
	s.byID = make(map[string]*cm.Contact, len(contacts))
	s.ids = make([]string, 0, len(contacts))
	for i := range contacts {
		c := &contacts[i]
		if _, dup := s.byID[c.ID]; dup {
			return nil, fmt.Errorf("sandbox: duplicate contact id %q", c.ID)
		}
		s.byID[c.ID] = c
		s.ids = append(s.ids, c.ID)
		if !c.IsMerged() {
			s.canonical++
		}
	}
	slices.Sort(s.ids)
	for _, a := range acts {
		s.addActivityLocked(a)
	}
	s.routes()
	return s, nil
}

// Close waits for merges still completing in the background (after the
// gateway answered 504) so that no goroutine outlives the Sandbox.
func (s *Sandbox) Close() error {
	s.bg.Wait()
	return nil
}

// Truth returns the generated duplicate clusters: the contact ids of each
// cluster (sorted), only clusters of at least two contacts.
func (s *Sandbox) Truth() [][]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([][]string, len(s.truth))
	for i, c := range s.truth {
		out[i] = slices.Clone(c)
	}
	return out
}

// Oplog returns every mutation applied so far, in order.
func (s *Sandbox) Oplog() []Op {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Op, len(s.oplog))
	for i, op := range s.oplog {
		op.Inputs = slices.Clone(op.Inputs)
		op.Resolved = slices.Clone(op.Resolved)
		out[i] = op
	}
	return out
}

// Stats returns a copy of the request counters.
func (s *Sandbox) Stats() Stats {
	s.amu.Lock()
	defer s.amu.Unlock()
	out := Stats{Requests: map[string]map[int]int{}, Faults: map[string]int{}, Throttled: s.stats.Throttled, Merges: s.stats.Merges}
	for r, m := range s.stats.Requests {
		mm := make(map[int]int, len(m))
		for k, v := range m {
			mm[k] = v
		}
		out.Requests[r] = mm
	}
	for k, v := range s.stats.Faults {
		out.Faults[k] = v
	}
	return out
}

// Contact returns the record stored under id itself (not redirected to its
// canonical contact), and whether it exists.
func (s *Sandbox) Contact(id string) (cm.Contact, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byID[id]
	if !ok {
		return cm.Contact{}, false
	}
	return withSelf(*c), true
}

// Len returns the number of canonical (non-ancestor) contacts.
func (s *Sandbox) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.canonical
}

// routes registers the handlers.
func (s *Sandbox) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /oauth/token", s.handleToken)
	m.HandleFunc("GET /api/v2/tokens/me", s.handleTokensMe)
	m.HandleFunc("DELETE /api/v2/tokens/me", s.handleRevoke)
	m.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", s.handleScan)
	m.HandleFunc("GET /api/v2/externalcontacts/scan/contacts/divisionviews/all", s.handleScan)
	m.HandleFunc("GET /api/v2/externalcontacts/contacts", s.handleSearch)
	m.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}", s.handleGet)
	m.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}/unresolved", s.handleGetUnresolved)
	m.HandleFunc("DELETE /api/v2/externalcontacts/contacts/{id}", s.handleDelete)
	m.HandleFunc("POST /api/v2/externalcontacts/bulk/contacts", s.handleBulk)
	m.HandleFunc("POST /api/v2/externalcontacts/bulk/contacts/unresolved", s.handleBulk)
	m.HandleFunc("POST /api/v2/externalcontacts/identifierlookup/contacts", s.handleLookup)
	m.HandleFunc("POST /api/v2/externalcontacts/contacts/merge", s.handleMerge)
	m.HandleFunc("POST /api/v2/externalcontacts/merge/contacts", s.handleMerge2)
	m.HandleFunc("POST /api/v2/analytics/conversations/details/query", s.handleAnalytics)
	m.HandleFunc("GET /api/v2/casemanagement/cases/externalcontacts/{id}", s.handleCases)
	m.HandleFunc("GET /sandbox/truth", s.handleTruth)
	m.HandleFunc("GET /sandbox/oplog", s.handleOplog)
	m.HandleFunc("GET /sandbox/stats", s.handleStats)
	s.mux = m
}

// reqInfo travels with a request through the context.
type reqInfo struct {
	corrID string
	token  string
	fault  string // the fault drawn for this request ("" = none)
	route  string
}

type ctxKey struct{}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// recorder counts the response in the stats as soon as its status is known
// (before the client can see it, so that Stats is never behind a response a
// client has read).
type recorder struct {
	http.ResponseWriter
	s       *Sandbox
	route   string
	status  int
	counted bool
}

// count records status once.
func (w *recorder) count(status int) {
	if w.counted {
		return
	}
	w.counted = true
	w.s.countRequest(w.route, status)
}

// WriteHeader counts the first status written.
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.count(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts an implicit 200.
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP serves the emulated API: /oauth/token, the /api/v2 endpoints
// (authenticated, rate limited, subject to faults) and the test-only
// /sandbox/ endpoints.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ri := &reqInfo{corrID: cryptoUUID()}
	w.Header().Set("ININ-Correlation-Id", ri.corrID)
	_, pattern := s.mux.Handler(r)
	ri.route = pattern
	if pattern == "" {
		ri.route = "unmatched"
	}
	rec := &recorder{ResponseWriter: w, s: s, route: ri.route}
	defer func() {
		rec.count(0) // no response: dropped, or the client went away
		s.log.Debug("sandbox request", "method", r.Method, "route", ri.route, "status", rec.status, "elapsed", time.Since(start))
	}()
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
	if pattern == "" {
		s.writeError(rec, r, http.StatusNotFound, "not.found", "No resource matches "+r.Method+" "+r.URL.Path)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/v2/") {
		if !s.gate(rec, r, ri) {
			return
		}
		switch ri.fault {
		case FaultError500:
			s.writeError(rec, r, http.StatusInternalServerError, "internal.server.error", "The server encountered an unexpected condition.")
			return
		case FaultError503:
			s.writeError(rec, r, http.StatusServiceUnavailable, "service.unavailable", "The service is currently unavailable.")
			return
		case FaultReset:
			if !isMergeRoute(ri.route) {
				s.dropConn(rec)
				return
			}
		}
	}
	// The mux (not the handler Handler returned) fills r.PathValue.
	s.mux.ServeHTTP(rec, r)
}

func isMergeRoute(route string) bool {
	return route == "POST /api/v2/externalcontacts/contacts/merge" || route == "POST /api/v2/externalcontacts/merge/contacts"
}

// gate authenticates an /api/v2 request, counts it against its token's
// window, sets the rate-limit headers and draws its fault. It answers the
// request itself (401, 429) and returns false when it must not proceed.
func (s *Sandbox) gate(w *recorder, r *http.Request, ri *reqInfo) bool {
	now := s.now()
	auth := r.Header.Get("Authorization")
	tokStr, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		tokStr, ok = strings.CutPrefix(auth, "bearer ")
	}
	s.amu.Lock()
	tok := s.tokens[strings.TrimSpace(tokStr)]
	if !ok || tok == nil {
		s.amu.Unlock()
		s.writeError(w, r, http.StatusUnauthorized, "bad.credentials", "Invalid login credentials.")
		return false
	}
	if !now.Before(tok.expires) {
		s.amu.Unlock()
		s.writeError(w, r, http.StatusUnauthorized, "authentication.required", "The access token has expired; request a new token.")
		return false
	}
	ri.token = strings.TrimSpace(tokStr)
	limit := s.cfg.RateLimit
	if limit > 0 {
		if tok.winStart.IsZero() || !now.Before(tok.winStart.Add(time.Minute)) {
			tok.winStart, tok.count = now, 0
		}
		tok.count++
		reset := ceilSeconds(tok.winStart.Add(time.Minute).Sub(now))
		h := w.Header()
		h.Set("inin-ratelimit-count", strconv.Itoa(tok.count))
		h.Set("inin-ratelimit-allowed", strconv.Itoa(limit))
		h.Set("inin-ratelimit-reset", strconv.Itoa(reset))
		if tok.count > limit {
			s.amu.Unlock()
			w.Header().Set("Retry-After", strconv.Itoa(reset))
			s.writeError(w, r, http.StatusTooManyRequests, "too.many.requests.retry.after",
				fmt.Sprintf("Rate limit exceeded the maximum of %d requests per minute. Retry the request in %d seconds.", limit, reset))
			return false
		}
	}
	if now.Before(tok.throttleUntil) {
		s.stats.Faults[FaultThrottle]++
		s.amu.Unlock()
		s.writeThrottle(w, r, ceilSeconds(tok.throttleUntil.Sub(now)))
		return false
	}
	ri.fault = s.drawFaultLocked(isMergeRoute(ri.route))
	if ri.fault == FaultThrottle {
		burst := time.Second + time.Duration(s.frand.Int64N(int64(2*time.Second)))
		tok.throttleUntil = now.Add(burst)
		s.stats.Faults[FaultThrottle]++
		s.amu.Unlock()
		s.writeThrottle(w, r, ceilSeconds(burst))
		return false
	}
	if ri.fault != "" && ri.fault != FaultTimeout504 && ri.fault != FaultReset {
		s.stats.Faults[ri.fault]++
	}
	if ri.fault == FaultReset && !isMergeRoute(ri.route) {
		s.stats.Faults[ri.fault]++
	}
	s.amu.Unlock()
	return true
}

// drawFaultLocked picks the fault of one request (amu held). timeout504 only
// applies to merges.
func (s *Sandbox) drawFaultLocked(merge bool) string {
	if len(s.cfg.Faults) == 0 {
		return ""
	}
	u := s.frand.Float64()
	acc := 0.0
	for _, k := range faultKinds() {
		p := s.cfg.Faults[k]
		if p <= 0 {
			continue
		}
		acc += p
		if u < acc {
			if k == FaultTimeout504 && !merge {
				return ""
			}
			return k
		}
	}
	return ""
}

func (s *Sandbox) countFault(kind string) {
	s.amu.Lock()
	s.stats.Faults[kind]++
	s.amu.Unlock()
}

func (s *Sandbox) writeThrottle(w http.ResponseWriter, r *http.Request, secs int) {
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.writeError(w, r, http.StatusTooManyRequests, "too.many.requests.retry.after",
		fmt.Sprintf("Too many requests. Retry the request in %d seconds.", secs))
}

// dropConn closes the client connection without a response.
func (s *Sandbox) dropConn(w *recorder) {

	w.count(0)
	conn, _, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// ceilSeconds rounds d up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int {
	n := int((d + time.Second - 1) / time.Second)
	if n < 1 {
		n = 1
	}
	return n
}

// apiError is an error answered with the Genesys error body.
type apiError struct {
	status  int
	code    string
	message string
}

// Error returns the message.
func (e *apiError) Error() string { return e.message }

func errBad(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "bad.request", fmt.Sprintf(format, args...)}
}

func errNotFound(id string) *apiError {
	return &apiError{http.StatusNotFound, "not.found", fmt.Sprintf("The requested contact %s was not found.", id)}
}

// errorBody is the Genesys error body.
type errorBody struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	Status    int    `json:"status"`
	ContextID string `json:"contextId"`
	EntityID  string `json:"entityId,omitempty"`
}

func (s *Sandbox) writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	s.writeJSON(w, status, errorBody{Message: msg, Code: code, Status: status, ContextID: info(r).corrID})
}

func (s *Sandbox) writeAPIError(w http.ResponseWriter, r *http.Request, e *apiError) {
	s.writeError(w, r, e.status, e.code, e.message)
}

// writeJSON encodes v as the response body.
func (s *Sandbox) writeJSON(w http.ResponseWriter, status int, v any) {
	buf, _ := s.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"encoding failed","code":"internal.server.error","status":500}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	if buf.Cap() <= 4<<20 {
		s.bufs.Put(buf)
	}
}

// newUUID returns a random version-4 UUID drawn from r.
func newUUID(r *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	return formatUUID(b)
}

// cryptoUUID returns a version-4 UUID from crypto/rand.
func cryptoUUID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hx = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hx[c>>4], hx[c&0xf]
		j += 2
	}
	return string(out[:])
}

// randomToken returns an opaque access token.
func randomToken() string {
	var b [32]byte
	_, _ = crand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// countRequest adds one response to the stats.
func (s *Sandbox) countRequest(route string, status int) {
	s.amu.Lock()
	defer s.amu.Unlock()
	m := s.stats.Requests[route]
	if m == nil {
		m = map[int]int{}
		s.stats.Requests[route] = m
	}
	m[status]++
	if status == http.StatusTooManyRequests {
		s.stats.Throttled++
	}
}
