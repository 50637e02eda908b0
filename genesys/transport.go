package genesys

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Backoff of retried 5xx and network errors: full jitter over an exponential
// base, capped.
const (
	backoffBase = 500 * time.Millisecond
	backoffMax  = 30 * time.Second
)

type attemptKey struct{}

func attemptFrom(ctx context.Context) int {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		return n
	}
	return 1
}

// safePOSTRoutes are POST routes that only read: they may be retried after a
// 5xx or a network error.
func isSafeRequest(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	case http.MethodPost:
		switch routeOf(req.URL.Path) {
		case "/api/v2/externalcontacts/bulk/contacts",
			"/api/v2/externalcontacts/bulk/contacts/unresolved",
			"/api/v2/externalcontacts/bulk/contacts/divisionviews",
			"/api/v2/externalcontacts/identifierlookup/contacts",
			"/api/v2/externalcontacts/identifierlookup",
			"/api/v2/analytics/conversations/details/query",
			"/api/v2/analytics/conversations/details/jobs": // starts a read
			return true
		}
	}
	return false
}

// routeTemplates are the path templates reported in RequestInfo.Route.
func routeTemplates() []string {
	return []string{
		"/api/v2/externalcontacts/contacts/{id}",
		"/api/v2/externalcontacts/contacts/{id}/unresolved",
		"/api/v2/externalcontacts/contacts/{id}/identifiers",
		"/api/v2/casemanagement/cases/externalcontacts/{id}",
		"/api/v2/casemanagement/cases/{id}",
		"/api/v2/analytics/conversations/details/jobs/{id}",
		"/api/v2/analytics/conversations/details/jobs/{id}/results",
	}
}

// routeOf returns the route template of an API path: a path with an {id}
// where a known template has one, else the path itself (API base prefix
// removed).
func routeOf(path string) string {
	if i := strings.Index(path, "/api/v2/"); i > 0 {
		path = path[i:]
	}
	path = strings.TrimRight(path, "/")
	segs := strings.Split(path, "/")
	for _, tpl := range routeTemplates() {
		ts := strings.Split(tpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		ok := true
		for i := range ts {
			if ts[i] != "{id}" && ts[i] != segs[i] {
				ok = false
				break
			}
		}
		// Fixed sub-paths such as /contacts/merge are not ids.
		if ok && len(segs) == 6 && segs[3] == "externalcontacts" && segs[4] == "contacts" && segs[5] == "merge" {
			ok = false
		}
		if ok {
			return tpl
		}
	}
	return path
}

// meterTransport is the innermost layer: it applies the per-attempt timeout,
// records whether the request was written, parses the rate-limit headers,
// feeds the limiter and calls the observer.
type meterTransport struct {
	client   *Client
	base     http.RoundTripper
	timeout  time.Duration
	observer func(RequestInfo)
}

func (t *meterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.client
	start := c.now()
	ctx := req.Context()
	cancel := context.CancelFunc(func() {})
	if t.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
	}
	var written atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				written.Store(true)
			}
		},
	})
	r := req.WithContext(ctx)
	resp, err := t.base.RoundTrip(r)
	info := RequestInfo{
		Method:   req.Method,
		Route:    routeOf(req.URL.Path),
		Duration: c.now().Sub(start),
		Attempt:  attemptFrom(req.Context()),
	}
	if err != nil {
		cancel()
		err = &TransportError{Method: req.Method, URL: redactURL(req.URL), Written: written.Load(), Err: err}
		info.Err = err
		c.logger.LogAttrs(req.Context(), slog.LevelDebug, "genesys: request failed",
			slog.String("method", info.Method), slog.String("route", info.Route), slog.Int("attempt", info.Attempt),
			slog.Bool("written", written.Load()), slog.String("error", c.redact(err.Error())))
		if t.observer != nil {
			t.observer(info)
		}
		return nil, err
	}
	if resp.Request == nil {
		resp.Request = r
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel, method: req.Method, url: redactURL(req.URL)}
	now := c.now()
	if rl, ok := parseRateLimit(resp.Header, now); ok {
		info.RateLimit = rl
		c.setRate(rl)
		c.limiter.observe(rl)
	}
	info.Status = resp.StatusCode
	if resp.StatusCode == http.StatusTooManyRequests {
		info.Throttled = true
		if ra, ok := parseRetryAfter(resp.Header); ok {
			c.limiter.pauseUntil(now.Add(ra))
		}
	}
	c.logger.LogAttrs(req.Context(), slog.LevelDebug, "genesys: request",
		slog.String("method", info.Method), slog.String("route", info.Route), slog.Int("status", info.Status),
		slog.Int("attempt", info.Attempt), slog.Duration("duration", info.Duration),
		slog.String("correlation_id", resp.Header.Get(headerCorrelationID)))
	if t.observer != nil {
		t.observer(info)
	}
	return resp, nil
}

// cancelBody releases the per-attempt context when the body is closed and
// marks body read failures as happening after the request was written.
type cancelBody struct {
	io.ReadCloser
	cancel      context.CancelFunc
	method, url string
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &TransportError{Method: b.method, URL: b.url, Written: true, Err: err}
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// limitTransport waits for the client-side limiter before each attempt.
type limitTransport struct {
	limiter *Limiter
	next    http.RoundTripper
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limiter.Wait(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &TransportError{Method: req.Method, URL: redactURL(req.URL), Err: err}
	}
	return t.next.RoundTrip(req)
}

// retryTransport retries 429s (every method) and 5xx / network errors (safe
// requests only), honouring Retry-After and backing off with jitter.
type retryTransport struct {
	next         http.RoundTripper
	maxRetries   int
	maxRetryWait time.Duration
	logger       *slog.Logger
	limiter      *Limiter
	now          func() time.Time
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	safe := isSafeRequest(req)
	for attempt := 1; ; attempt++ {
		// spare is a fresh copy for the next attempt; nil when no retry is
		// left or the body cannot be re-created.
		var spare *http.Request
		if attempt <= t.maxRetries {
			var err error
			if spare, err = rewindable(req); err != nil {
				return nil, err
			}
		}
		resp, err := t.next.RoundTrip(req.WithContext(context.WithValue(req.Context(), attemptKey{}, attempt)))
		if spare == nil {
			return resp, err
		}
		wait, retry := t.decide(req, safe, attempt, resp, err)
		if !retry {
			if spare.Body != nil {
				spare.Body.Close()
			}
			return resp, err
		}
		if wait > t.maxRetryWait {
			if spare.Body != nil {
				spare.Body.Close()
			}
			return resp, err
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
			drain(resp)
		}
		// A 429 is the budget working as designed (Info); a 5xx, a timeout
		// or a reset is the platform struggling, and a person watching a
		// long scan or run should see it (Warn: shown by default).
		level, attrs := slog.LevelInfo, []slog.Attr{
			slog.String("method", req.Method), slog.String("route", routeOf(req.URL.Path)),
			slog.Int("status", status), slog.Int("attempt", attempt), slog.Duration("wait", wait)}
		if status != http.StatusTooManyRequests {
			level = slog.LevelWarn
			if err != nil {
				attrs = append(attrs, slog.String("error", routeOf(req.URL.Path)+": "+errorKind(err)))
			}
		}
		t.logger.LogAttrs(req.Context(), level, "genesys: retrying request", attrs...)
		if err := sleep(req.Context(), wait); err != nil {
			if spare.Body != nil {
				spare.Body.Close()
			}
			return nil, &TransportError{Method: req.Method, URL: redactURL(req.URL), Err: err}
		}
		req = spare
	}
}

// decide reports whether an attempt's outcome is retried and after how long.
func (t *retryTransport) decide(req *http.Request, safe bool, attempt int, resp *http.Response, err error) (time.Duration, bool) {
	if req.Context().Err() != nil {
		return 0, false
	}
	if err != nil {
		// Token failures and rate-limit waits are not network errors.
		var ae *AuthError
		if errors.As(err, &ae) {
			return 0, false
		}
		return backoff(attempt), safe
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		if ra, ok := parseRetryAfter(resp.Header); ok {
			return ra, true
		}
		if rl, ok := parseRateLimit(resp.Header, t.now()); ok && rl.Reset > 0 {
			return rl.Reset, true
		}
		return backoff(attempt), true
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if !safe {
			return 0, false
		}
		if ra, ok := parseRetryAfter(resp.Header); ok {
			return ra, true
		}
		return backoff(attempt), true
	}
	return 0, false
}

// backoff returns a jittered exponential delay for the given attempt
// (1-based): uniformly in [d/2, d] with d = 500ms·2^(attempt-1), at most 30 s.
func backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt-1, 10)
	d = min(d, backoffMax)
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// drain reads (a capped amount of) and closes a response body so the
// connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// errorKind names a transport failure without its URL or any other detail
// that could carry a secret: a timeout, a reset or refused connection, an
// EOF, or "network error".
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the server"
	}
	return "network error"
}
