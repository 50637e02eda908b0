package genesys

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// renewFraction is the part of a token's lifetime after which it is renewed.
const renewFraction = 0.8

// tokenSource caches a client-credentials token and renews it once 80% of
// its lifetime (expires_in) has passed, or after invalidate (a 401). It is
// what oauth2.ReuseTokenSourceWithExpiry does, with the early expiry taken as
// 20% of each token's own lifetime instead of a fixed duration, measured on
// the injectable clock, and with fetches that also stop when the requesting
// context is done. The token itself comes from endpoint (fetchToken), not
// from golang.org/x/oauth2/clientcredentials, whose Basic credentials are
// percent-escaped.
type tokenSource struct {
	endpoint   tokenEndpoint
	base       context.Context // long-lived: a fetch stops when it is done
	httpClient *http.Client
	now        func() time.Time
	logger     *slog.Logger
	redact     func(string) string

	access atomic.Pointer[string] // the cached access token, for redaction

	// cache, when set, shares the token with other processes (Config.
	// TokenCache); refused is the last token the API answered 401 to, never
	// adopted again from the cache.
	cache TokenCache
	// fetched, when set, is told the outcome of every token request (the
	// Pool's storm detection).
	fetched func(error)

	mu      sync.Mutex
	tok     *oauth2.Token
	renewAt time.Time // zero: never renew (no expires_in)
	refused string
}

// tokenEndpoint is where and as whom tokens are requested.
type tokenEndpoint struct {
	url        string // <login>/oauth/token
	id, secret string
	userAgent  string
}

// token returns a valid token, fetching one when none is cached or the
// cached one reached 80% of its lifetime.
func (s *tokenSource) token(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && (s.renewAt.IsZero() || s.now().Before(s.renewAt)) {
		return s.tok, nil
	}
	if err := s.base.Err(); err != nil {
		return nil, &AuthError{err: fmt.Errorf("client context done: %w", err)}
	}
	if err := ctx.Err(); err != nil {
		return nil, &AuthError{err: err}
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.base, cancel)
	defer stop()

	var shared SharedToken
	if s.cache != nil {
		cur, err := s.cache.LoadToken(fctx, s.endpoint.id)
		switch {
		case err != nil:
			s.logger.LogAttrs(ctx, slog.LevelWarn, "genesys: reading the shared access token failed; requesting one", slog.String("error", s.redact(err.Error())))
		case s.usable(cur):
			s.adopt(cur)
			s.logger.LogAttrs(ctx, slog.LevelInfo, "genesys: using the shared access token", slog.Time("renew_at", s.renewAt))
			return s.tok, nil
		default:
			shared = cur
		}
	}

	issued := s.now()
	tok, life, err := s.fetchToken(fctx)
	if s.fetched != nil {
		s.fetched(err)
	}
	if err != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "genesys: token request failed", slog.String("error", err.Error()))
		return nil, err
	}
	s.renewAt = time.Time{}
	if life > 0 {
		s.renewAt = issued.Add(time.Duration(float64(life) * renewFraction))
	}
	s.tok = tok
	s.access.Store(&tok.AccessToken)
	s.logger.LogAttrs(ctx, slog.LevelInfo, "genesys: access token obtained",
		slog.Duration("expires_in", life), slog.Time("renew_at", s.renewAt))
	if s.cache != nil {
		// Share it, unless another process shared a new one meanwhile: then
		// that one is used (this one is never sent, so it spends nothing).
		won, err := s.cache.SwapToken(fctx, s.endpoint.id, shared.Access, SharedToken{Access: tok.AccessToken, RenewAt: s.renewAt})
		switch {
		case err != nil:
			s.logger.LogAttrs(ctx, slog.LevelWarn, "genesys: sharing the access token failed", slog.String("error", s.redact(err.Error())))
		case won.Access != tok.AccessToken && s.usable(won):
			s.adopt(won)
			s.logger.LogAttrs(ctx, slog.LevelInfo, "genesys: another process shared a token first; using it", slog.Time("renew_at", s.renewAt))
		}
	}
	return s.tok, nil
}

// usable reports whether a shared token may be adopted: present, not the
// one refused last, and not due for renewal (s.mu held).
func (s *tokenSource) usable(t SharedToken) bool {
	return t.Access != "" && t.Access != s.refused && (t.RenewAt.IsZero() || s.now().Before(t.RenewAt))
}

// adopt makes t the cached token (s.mu held).
func (s *tokenSource) adopt(t SharedToken) {
	s.tok = &oauth2.Token{AccessToken: t.Access, TokenType: "bearer"}
	s.renewAt = t.RenewAt
	access := t.Access
	s.access.Store(&access)
}

// maxTokenBody caps how much of a token endpoint response is read.
const maxTokenBody = 64 << 10

// tokenBody is the token endpoint's answer: AuthResponse on success,
// AuthErrorResponse ({error, description, error_description}) on failure
// (GO SDK configuration.go).
type tokenBody struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        seconds `json:"expires_in"`
	Error            string  `json:"error"`
	ErrorDescription string  `json:"error_description"`
	Description      string  `json:"description"`
}

// seconds is a JSON number of seconds, also accepted as a string.
type seconds float64

func (s *seconds) UnmarshalJSON(b []byte) error {
	v := strings.Trim(string(b), `"`)
	if v == "" || v == "null" {
		*s = 0
		return nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("expires_in %s is not a number of seconds", b)
	}
	*s = seconds(f)
	return nil
}

// fetchToken requests a token as the official SDKs do (GO SDK
// platformclientv2/configuration.go AuthorizeClientCredentials, PY SDK
// api_client.py get_client_credentials_token): POST <login>/oauth/token,
// Authorization: Basic base64(clientId:clientSecret) with the id and secret
// unescaped, and the form grant_type=client_credentials. It returns the token
// and its lifetime (expires_in; 0 when absent), or an *AuthError holding
// neither the secret nor the endpoint's raw body.
func (s *tokenSource) fetchToken(ctx context.Context) (*oauth2.Token, time.Duration, error) {
	e := s.endpoint
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		return nil, 0, &AuthError{err: redactErr(err, s.redact)}
	}
	req.Header.Set("Authorization", "Basic "+basicCredentials(e.id, e.secret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if e.userAgent != "" {
		req.Header.Set("User-Agent", e.userAgent)
	}
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return nil, 0, &AuthError{err: redactErr(err, s.redact)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, 0, &AuthError{Status: resp.StatusCode, err: redactErr(fmt.Errorf("reading the token response: %w", err), s.redact)}
	}
	var body tokenBody
	jsonErr := json.Unmarshal(data, &body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &AuthError{Status: resp.StatusCode}
		if jsonErr == nil {
			ae.Code = body.Error
			ae.Description = cmp.Or(body.ErrorDescription, body.Description)
		}
		ae.Code = excerpt(s.redact(ae.Code), 100)
		ae.Description = excerpt(s.redact(ae.Description), 300)
		return nil, 0, ae
	}
	switch {
	case jsonErr != nil:
		return nil, 0, &AuthError{Status: resp.StatusCode, err: errors.New("the token response is not JSON")}
	case body.AccessToken == "":
		return nil, 0, &AuthError{Status: resp.StatusCode, err: errors.New("the token response has no access_token")}
	case body.ExpiresIn < 0:
		return nil, 0, &AuthError{Status: resp.StatusCode, err: errors.New("the token response has a negative expires_in")}
	}
	life := time.Duration(float64(body.ExpiresIn) * float64(time.Second))
	tok := &oauth2.Token{AccessToken: body.AccessToken, TokenType: body.TokenType, ExpiresIn: int64(body.ExpiresIn)}
	if life > 0 {
		// Informative only: renewal follows renewAt on the client's clock.
		tok.Expiry = time.Now().Add(life)
	}
	return tok, life, nil
}

// basicCredentials is the Basic authorization value of the token request:
// base64(id:secret), neither escaped, as every official SDK sends it.
func basicCredentials(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
}

// invalidate drops the cached token if it is still access, so that the next
// call fetches a new one (and concurrent 401s renew only once).
func (s *tokenSource) invalidate(access string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && (access == "" || s.tok.AccessToken == access) {
		s.refused = s.tok.AccessToken
		s.tok = nil
	}
}

// current returns the last access token obtained, without fetching.
func (s *tokenSource) current() string {
	if p := s.access.Load(); p != nil {
		return *p
	}
	return ""
}

// ctxSource adapts tokenSource to oauth2.TokenSource for one request.
type ctxSource struct {
	s   *tokenSource
	ctx context.Context
}

func (c ctxSource) Token() (*oauth2.Token, error) { return c.s.token(c.ctx) }

// authTransport adds the bearer token (through an oauth2.Transport) and,
// when the API answers 401, renews the token once and re-sends the request
// once.
type authTransport struct {
	source *tokenSource
	next   http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ot := &oauth2.Transport{Source: ctxSource{t.source, req.Context()}, Base: t.next}
	retry, err := rewindable(req)
	if err != nil {
		return nil, err
	}
	resp, err := ot.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || retry == nil {
		return resp, err
	}
	var used string
	if resp.Request != nil {
		used = strings.TrimPrefix(resp.Request.Header.Get("Authorization"), "Bearer ")
	}
	drain(resp)
	t.source.invalidate(used)
	t.source.logger.LogAttrs(req.Context(), slog.LevelInfo, "genesys: 401, renewing the access token and re-sending once",
		slog.String("method", req.Method), slog.String("route", routeOf(req.URL.Path)))
	return (&oauth2.Transport{Source: ctxSource{t.source, req.Context()}, Base: t.next}).RoundTrip(retry)
}

// rewindable returns a fresh copy of req for a second send, or nil when its
// body cannot be re-created.
func rewindable(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req.Clone(req.Context()), nil
	}
	if req.GetBody == nil {
		return nil, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("genesys: rewinding request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}
