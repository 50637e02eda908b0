package genesys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// renewFraction is the part of a token's lifetime after which it is renewed.
const renewFraction = 0.8

// tokenSource caches a client-credentials token and renews it once 80% of
// its lifetime (expires_in) has passed, or after invalidate (a 401). It is
// what oauth2.ReuseTokenSourceWithExpiry does, with the early expiry taken as
// 20% of each token's own lifetime instead of a fixed duration, measured on
// the injectable clock, and with fetches that also stop when the requesting
// context is done.
type tokenSource struct {
	conf       *clientcredentials.Config
	base       context.Context // long-lived: a fetch stops when it is done
	httpClient *http.Client
	now        func() time.Time
	logger     *slog.Logger
	redact     func(string) string

	access atomic.Pointer[string] // the cached access token, for redaction

	mu      sync.Mutex
	tok     *oauth2.Token
	renewAt time.Time // zero: never renew (no expires_in)
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
	fctx, cancel := context.WithCancel(context.WithValue(ctx, oauth2.HTTPClient, s.httpClient))
	defer cancel()
	stop := context.AfterFunc(s.base, cancel)
	defer stop()

	issued := s.now()
	tok, err := s.conf.Token(fctx)
	if err != nil {
		aerr := s.authError(err)
		s.logger.LogAttrs(ctx, slog.LevelWarn, "genesys: token request failed", slog.String("error", aerr.Error()))
		return nil, aerr
	}
	life := tokenLifetime(tok)
	s.renewAt = time.Time{}
	if life > 0 {
		s.renewAt = issued.Add(time.Duration(float64(life) * renewFraction))
	}
	s.tok = tok
	s.access.Store(&tok.AccessToken)
	s.logger.LogAttrs(ctx, slog.LevelInfo, "genesys: access token obtained",
		slog.Duration("expires_in", life), slog.Time("renew_at", s.renewAt))
	return tok, nil
}

// invalidate drops the cached token if it is still access, so that the next
// call fetches a new one (and concurrent 401s renew only once).
func (s *tokenSource) invalidate(access string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && (access == "" || s.tok.AccessToken == access) {
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

// tokenLifetime returns the token's expires_in, or 0 when it has none.
func tokenLifetime(tok *oauth2.Token) time.Duration {
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		return time.Duration(v * float64(time.Second))
	case json.Number:
		if f, err := v.Float64(); err == nil {
			return time.Duration(f * float64(time.Second))
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Duration(n) * time.Second
		}
	}
	if tok.ExpiresIn > 0 {
		return time.Duration(tok.ExpiresIn) * time.Second
	}
	if !tok.Expiry.IsZero() {
		return max(time.Until(tok.Expiry), 0)
	}
	return 0
}

// authError turns a token-endpoint failure into an *AuthError whose text
// holds neither the secret nor the endpoint's raw body.
func (s *tokenSource) authError(err error) *AuthError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		ae := &AuthError{Code: re.ErrorCode, Description: re.ErrorDescription}
		if re.Response != nil {
			ae.Status = re.Response.StatusCode
		}
		var body struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
			Description      string `json:"description"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			if ae.Code == "" {
				ae.Code = body.Error
			}
			if ae.Description == "" {
				ae.Description = body.ErrorDescription
			}
			if ae.Description == "" {
				ae.Description = body.Description
			}
		}
		ae.Code = excerpt(s.redact(ae.Code), 100)
		ae.Description = excerpt(s.redact(ae.Description), 300)
		return ae
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae
	}
	msg := s.redact(err.Error())
	if strings.Contains(msg, "oauth2:") {
		// Library errors other than RetrieveError (e.g. "server response
		// missing access_token"): keep the text, not the chain.
		return &AuthError{err: errors.New(msg)}
	}
	return &AuthError{err: redactErr(err, s.redact)}
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
