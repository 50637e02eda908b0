package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// token is the state of one issued access token.
type token struct {
	client        *oauthClient
	label         string
	expires       time.Time
	win           window
	throttleUntil time.Time
	stats         TokenStats
}

// reqInfo travels with a request through the context.
type reqInfo struct {
	corrID string
	token  string
	tok    *token // the valid token presented (nil: none)
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
	ri      *reqInfo
	status  int
	counted bool
}

// count records status once.
func (w *recorder) count(status int) {
	if w.counted {
		return
	}
	w.counted = true
	w.s.countRequest(w.ri.route, status, w.ri.tok)
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
// (authenticated, rate limited, permission checked, subject to faults) and
// the test-only /sandbox/ endpoints.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ri := &reqInfo{corrID: cryptoUUID()}
	w.Header().Set("ININ-Correlation-Id", ri.corrID)
	_, pattern := s.mux.Handler(r)
	ri.route = pattern
	if pattern == "" {
		ri.route = "unmatched"
	}
	rec := &recorder{ResponseWriter: w, s: s, ri: ri}
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
			if !faultsAfter(ri.route) {
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
// window (and in its client's stats), sets the rate-limit headers, checks
// the client's permissions and draws its fault. It answers the request
// itself (401, 429, 403) and returns false when it must not proceed.
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
	ri.tok = tok
	count := countAuthenticated(tok, now)
	if limit := tok.client.rateLimit; limit > 0 {
		reset := ceilSeconds(tok.win.reset(now))
		h := w.Header()
		h.Set("inin-ratelimit-count", strconv.Itoa(count))
		h.Set("inin-ratelimit-allowed", strconv.Itoa(limit))
		h.Set("inin-ratelimit-reset", strconv.Itoa(reset))
		if count > limit {
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
	if need := s.perms[ri.route]; !tok.client.allows(need) {
		s.amu.Unlock()
		s.writeAPIError(w, r, errMissingPermissions(need))
		return false
	}
	ri.fault = s.drawFaultLocked(faultsAfter(ri.route))
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
	if ri.fault == FaultReset && !faultsAfter(ri.route) {
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
