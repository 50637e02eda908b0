package genesys

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header names the platform uses.
const (
	headerRateCount     = "Inin-Ratelimit-Count"
	headerRateAllowed   = "Inin-Ratelimit-Allowed"
	headerRateReset     = "Inin-Ratelimit-Reset"
	headerCorrelationID = "Inin-Correlation-Id"
)

// Defaults of Config.
const (
	DefaultRatePerMinute  = 300
	DefaultRateFloor      = 10
	DefaultMaxRetries     = 3
	DefaultMaxRetryWait   = 2 * time.Minute
	DefaultRequestTimeout = 60 * time.Second
	DefaultUserAgent      = "contactmerge-genesys/1"
)

// Config configures a Client. Zero fields take the documented defaults
// (see WithDefaults).
type Config struct {
	// Region is a region key such as "us-east-1" or a base URL such as
	// "http://127.0.0.1:8089" (GENESYSCLOUD_REGION); see ResolveRegion.
	// Required.
	Region string
	// ClientID and ClientSecret are the OAuth client-credentials pair.
	// Required. The secret never appears in errors or logs.
	ClientID, ClientSecret string
	// HTTPClient supplies the base transport (HTTPClient.Transport; nil means
	// http.DefaultTransport) and the per-attempt timeout (HTTPClient.Timeout,
	// covering the response body too; 0 means none). Default: a client with
	// dial/TLS timeouts of 10 s and a 60 s per-attempt timeout. Its redirect
	// policy and cookie jar are not used: the client never follows redirects.
	HTTPClient *http.Client
	// UserAgent is sent on every request. Default "contactmerge-genesys/1".
	UserAgent string
	// Logger receives debug logs of attempts and info logs of retries and
	// token renewals. Default: discard.
	Logger *slog.Logger
	// RatePerMinute is a ceiling on the client-side token bucket's rate
	// (refill rate/60 per second, burst rate/10), for organizations whose
	// other integrations share the budget (--max-rate). The effective rate
	// follows the platform's inin-ratelimit-allowed header, never above the
	// ceiling. Zero means no ceiling: the client starts at
	// DefaultRatePerMinute and then uses its token's budget fully.
	RatePerMinute int
	// RateFloor: when the remaining budget of the window (allowed - count)
	// falls below it, new requests wait until the window resets plus 2 s.
	// It is capped at a quarter of the allowed budget so that a small budget
	// still allows requests. Default 10; negative disables the pause.
	RateFloor int
	// MaxRetries is how many times a request is retried after a 429 (all
	// methods) or after a 5xx or network error (safe requests only: GET,
	// HEAD, bulk reads, identifier lookup, the analytics query). Merges are
	// never retried on 5xx, timeouts or network errors. Default 3; negative
	// disables retries.
	MaxRetries int
	// MaxRetryWait: a Retry-After longer than this is not waited for; the
	// *RateLimitError is returned so the caller can reschedule. Default 2 min.
	MaxRetryWait time.Duration
	// Observer is called after every HTTP attempt (including retries and the
	// re-send after a 401) with what happened. It may be nil. It must be safe
	// for concurrent use.
	Observer func(RequestInfo)
	// Now is the clock used for token renewal and rate-limit bookkeeping.
	// Default time.Now.
	Now func() time.Time
	// Budget, when set, is the rate budget this client shares with every
	// other process using the same OAuth client (ClientID): the limiter
	// spends only slices reserved from it (see Limiter). Nil: the client
	// alone decides, as one process with its own token may.
	Budget Budget
	// TokenCache, when set, shares the access token with the other
	// processes using the same OAuth client, so that all of them spend one
	// token's window (see budget.go). Nil: the client requests its own.
	TokenCache TokenCache
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultRequestTimeout, Transport: defaultTransport()}
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.RateFloor == 0 {
		c.RateFloor = DefaultRateFloor
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.MaxRetryWait == 0 {
		c.MaxRetryWait = DefaultMaxRetryWait
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// String describes c without its secret.
func (c Config) String() string {
	secret := ""
	if c.ClientSecret != "" {
		secret = "[REDACTED]"
	}
	return fmt.Sprintf("genesys.Config{Region: %q, ClientID: %q, ClientSecret: %q, RatePerMinute: %d, RateFloor: %d, MaxRetries: %d}",
		c.Region, c.ClientID, secret, c.RatePerMinute, c.RateFloor, c.MaxRetries)
}

// LogValue implements slog.LogValuer without the secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("region", c.Region), slog.String("client_id", c.ClientID),
		slog.Int("rate_per_minute", c.RatePerMinute), slog.Int("rate_floor", c.RateFloor), slog.Int("max_retries", c.MaxRetries))
}

// GoString describes c without its secret (for %#v).
func (c Config) GoString() string { return c.String() }

func (c Config) validate() error {
	switch {
	case strings.TrimSpace(c.ClientID) == "":
		return errors.New("genesys: Config.ClientID is required")
	case c.ClientSecret == "":
		return errors.New("genesys: Config.ClientSecret is required")
	case c.RatePerMinute < 0:
		return errors.New("genesys: Config.RatePerMinute must not be negative")
	case c.MaxRetryWait < 0:
		return errors.New("genesys: Config.MaxRetryWait must not be negative")
	}
	return nil
}

func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// RequestInfo describes one HTTP attempt, for Config.Observer.
type RequestInfo struct {
	Method    string
	Route     string // path template, e.g. "/api/v2/externalcontacts/contacts/{id}"
	Status    int    // 0 when no response was received
	Err       error  // transport error, nil when a response was received
	Duration  time.Duration
	Throttled bool      // the response was a 429
	RateLimit RateLimit // parsed from the response headers (zero when absent)
	Attempt   int       // 1 for the first attempt, 2 for the first retry, …
}

// RateLimit is the budget the platform reported in its inin-ratelimit-*
// headers.
type RateLimit struct {
	Count    int           // inin-ratelimit-count: requests used in the window
	Allowed  int           // inin-ratelimit-allowed: requests allowed in the window
	Reset    time.Duration // inin-ratelimit-reset: time until the window resets
	Observed time.Time     // when the headers were received (Config.Now)
}

// Known reports whether the headers were present.
func (r RateLimit) Known() bool { return r.Allowed > 0 }

// Remaining returns Allowed - Count (never negative).
func (r RateLimit) Remaining() int { return max(r.Allowed-r.Count, 0) }

// ResetAt returns the time the window resets.
func (r RateLimit) ResetAt() time.Time { return r.Observed.Add(r.Reset) }

// parseRateLimit reads the inin-ratelimit-* headers; ok is false when
// inin-ratelimit-allowed is missing or not a positive integer.
func parseRateLimit(h http.Header, now time.Time) (RateLimit, bool) {
	atoi := func(k string) int {
		n, err := strconv.Atoi(strings.TrimSpace(h.Get(k)))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	rl := RateLimit{
		Count:    atoi(headerRateCount),
		Allowed:  atoi(headerRateAllowed),
		Reset:    time.Duration(atoi(headerRateReset)) * time.Second,
		Observed: now,
	}
	return rl, rl.Allowed > 0
}

// Response wraps an *http.Response (whose body is already read and closed)
// with the parsed rate-limit headers and correlation id.
type Response struct {
	*http.Response
	RateLimit     RateLimit
	CorrelationID string
}

func newResponse(r *http.Response, now time.Time) *Response {
	rl, _ := parseRateLimit(r.Header, now)
	return &Response{Response: r, RateLimit: rl, CorrelationID: r.Header.Get(headerCorrelationID)}
}

// Client is a Genesys Cloud API client. It is safe for concurrent use.
type Client struct {
	// Contacts is the External Contacts API.
	Contacts *ContactsService
	// Tokens is the token information API.
	Tokens *TokensService
	// Analytics is the conversation-details query API.
	Analytics *AnalyticsService
	// Cases is the Case Management API (case lookup by contact).
	Cases *CasesService

	apiBase, loginBase *url.URL
	userAgent          string
	logger             *slog.Logger
	now                func() time.Time
	secrets            []string // the client secret in every form it is sent
	transport          http.RoundTripper
	limiter            *Limiter
	tokens             *tokenSource
	// bulkIDs and predicates are the learned batch limits of bulk reads and
	// analytics queries (see batchSize).
	bulkIDs, predicates *batchSize

	mu   sync.Mutex
	rate RateLimit
}

type service struct{ client *Client }

// NewClient returns a client for cfg. ctx is long-lived: token fetches stop
// when it is done. NewClient does no I/O; the first request fetches a token.
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	apiBase, loginBase, err := ResolveRegion(cfg.Region)
	if err != nil {
		return nil, err
	}
	base := cfg.HTTPClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := &Client{
		apiBase:   apiBase,
		loginBase: loginBase,
		userAgent: cfg.UserAgent,
		logger:    cfg.Logger,
		now:       cfg.Now,
		secrets:   secretForms(cfg.ClientID, cfg.ClientSecret),
	}
	tokenURL := loginBase.JoinPath("/oauth/token")
	c.tokens = &tokenSource{
		endpoint: tokenEndpoint{
			url: tokenURL.String(), id: cfg.ClientID, secret: cfg.ClientSecret, userAgent: cfg.UserAgent,
		},
		base:       ctx,
		httpClient: &http.Client{Transport: base, Timeout: cfg.HTTPClient.Timeout},
		now:        cfg.Now,
		logger:     cfg.Logger,
		redact:     c.redact,
		cache:      cfg.TokenCache,
	}
	c.limiter = newLimiter(cfg.RatePerMinute, cfg.RateFloor, cfg.Now)
	if cfg.Budget != nil {
		c.limiter.shareBudget(cfg.Budget, cfg.ClientID)
	}
	c.bulkIDs = newBatchSize("ids per bulk read", BulkMax, cfg.Logger)
	c.predicates = newBatchSize("contact ids per analytics query", AnalyticsBatch, cfg.Logger)
	observer := cfg.Observer
	if cfg.Budget != nil {
		// The shared budget needs to know of answers without rate-limit
		// headers (no limit reported).
		observer = func(ri RequestInfo) {
			c.limiter.answered(ri)
			if cfg.Observer != nil {
				cfg.Observer(ri)
			}
		}
	}
	meter := &meterTransport{client: c, base: base, timeout: cfg.HTTPClient.Timeout, observer: observer}
	auth := &authTransport{source: c.tokens, next: meter}
	limit := &limitTransport{limiter: c.limiter, next: auth}
	c.transport = &retryTransport{
		next:         limit,
		maxRetries:   max(cfg.MaxRetries, 0),
		maxRetryWait: cfg.MaxRetryWait,
		logger:       cfg.Logger,
		limiter:      c.limiter,
		now:          cfg.Now,
	}
	c.Contacts = &ContactsService{client: c}
	c.Tokens = &TokensService{client: c}
	c.Analytics = &AnalyticsService{client: c}
	c.Cases = &CasesService{client: c}
	return c, nil
}

// BaseURL returns a copy of the API base URL.
func (c *Client) BaseURL() *url.URL { u := *c.apiBase; return &u }

// LoginURL returns a copy of the login base URL (the token endpoint is
// LoginURL()/oauth/token).
func (c *Client) LoginURL() *url.URL { u := *c.loginBase; return &u }

// RateLimit returns the latest budget reported by the platform (zero until a
// response carried inin-ratelimit-* headers).
func (c *Client) RateLimit() RateLimit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// Limiter returns the client-side rate limiter shared by every request of
// this client, so callers (the engine, metrics) can read its state.
func (c *Client) Limiter() *Limiter { return c.limiter }

func (c *Client) setRate(rl RateLimit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rl.Observed.Before(c.rate.Observed) {
		return
	}
	c.rate = rl
}

// NewRequest builds an API request. path is relative to the API base
// ("/api/v2/…", with an optional query), or an absolute URL on the API host
// (such as a nextUri); any other host is refused so the token never leaves
// the API host. body, when not nil, is encoded as JSON.
func (c *Client) NewRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	if ctx == nil {
		return nil, errors.New("genesys: nil context")
	}
	ref, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("genesys: invalid request path %q: %w", path, err)
	}
	u := *c.apiBase
	if ref.Scheme != "" || ref.Host != "" {
		if !strings.EqualFold(ref.Host, c.apiBase.Host) || !strings.EqualFold(ref.Scheme, c.apiBase.Scheme) {
			return nil, fmt.Errorf("genesys: refusing request to %s://%s: not the API host", ref.Scheme, ref.Host)
		}
		p, rp := ref.Path, ref.EscapedPath()
		bp, brp := c.apiBase.Path, c.apiBase.EscapedPath()
		if !strings.HasPrefix(p, bp) || !strings.HasPrefix(rp, brp) {
			return nil, fmt.Errorf("genesys: refusing request outside the API base path: %s", p)
		}
		ref = &url.URL{Path: strings.TrimPrefix(p, bp), RawPath: strings.TrimPrefix(rp, brp), RawQuery: ref.RawQuery}
	}
	if !strings.HasPrefix(ref.Path, "/") {
		ref.Path = "/" + ref.Path
		ref.RawPath = ""
	}
	u.Path = c.apiBase.Path + ref.Path
	u.RawPath = c.apiBase.EscapedPath() + ref.EscapedPath()
	u.RawQuery = ref.RawQuery
	var rd io.Reader
	if body != nil {
		buf := new(bytes.Buffer)
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return nil, fmt.Errorf("genesys: encoding request body: %w", err)
		}
		rd = bytes.NewReader(buf.Bytes())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("genesys: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	return req, nil
}

// Do sends req through the retry, rate-limit and auth layers and decodes a
// 2xx JSON body into v (when v is not nil; an io.Writer receives the raw
// body). It returns the response (nil when none was received) and:
//   - *APIError / *RateLimitError for non-2xx responses;
//   - *AuthError when no token could be obtained;
//   - *TransportError for network errors and timeouts;
//   - an error wrapping ErrMalformedResponse when a 2xx body does not decode.
//
// The response body is always read and closed.
func (c *Client) Do(req *http.Request, v any) (*Response, error) {
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		return nil, c.wrapTransportErr(req, err)
	}
	defer resp.Body.Close()
	r := newResponse(resp, c.now())
	if err := c.checkResponse(req, resp); err != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return r, err
	}
	if v == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return r, nil
	}
	if w, ok := v.(io.Writer); ok {
		if _, err := io.Copy(w, resp.Body); err != nil {
			return r, &TransportError{Method: req.Method, URL: redactURL(req.URL), Written: true, Err: fmt.Errorf("reading response body: %w", err)}
		}
		return r, nil
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return r, &TransportError{Method: req.Method, URL: redactURL(req.URL), Written: true, Err: fmt.Errorf("reading response body: %w", err)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return r, nil
	}
	if err := decodeJSON(data, v); err != nil {
		return r, fmt.Errorf("genesys: %s %s: %w: %w", req.Method, redactURL(req.URL), ErrMalformedResponse, err)
	}
	return r, nil
}

// decodeJSON is the decoder used for every response body.
func decodeJSON(data []byte, v any) error {
	return json.Unmarshal(data, v)
}

func (c *Client) wrapTransportErr(req *http.Request, err error) error {
	var (
		ae *AuthError
		te *TransportError
	)
	switch {
	case errors.As(err, &ae):
		return err
	case errors.As(err, &te):
		te.Err = redactErr(te.Err, c.redact)
		return te
	}
	return &TransportError{Method: req.Method, URL: redactURL(req.URL), Err: redactErr(err, c.redact)}
}

// secretForms returns the secret as given, URL-encoded, and inside the
// Basic authorization value, as the client sends it (raw) and as
// golang.org/x/oauth2 would (escaped), longest first.
func secretForms(id, secret string) []string {
	if secret == "" {
		return nil
	}
	forms := []string{
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret))),
		basicCredentials(id, secret),
		url.QueryEscape(secret),
		secret,
	}
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(forms)
}

// redact removes the client secret and the current access token from s.
func (c *Client) redact(s string) string {
	for _, f := range c.secrets {
		s = strings.ReplaceAll(s, f, "[REDACTED]")
	}
	if c.tokens != nil {
		if t := c.tokens.current(); t != "" {
			s = strings.ReplaceAll(s, t, "[REDACTED]")
		}
	}
	return s
}

// redactErr returns err unchanged unless its text contains a secret, in
// which case the text is replaced (the chain is kept for errors.Is).
func redactErr(err error, redact func(string) string) error {
	if err == nil {
		return nil
	}
	if s := err.Error(); redact(s) != s {
		return &redactedError{msg: redact(s), err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactURL returns scheme://host/path of u, without query or user info.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}
