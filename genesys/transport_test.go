package genesys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	pathContact = "/api/v2/externalcontacts/contacts/a"
	pathMerge   = "/api/v2/externalcontacts/contacts/merge"
	pathBulk    = "/api/v2/externalcontacts/bulk/contacts"
	pathQuery   = "/api/v2/analytics/conversations/details/query"
)

func merge(t *testing.T, c *Client) error {
	t.Helper()
	_, _, err := c.Contacts.Merge(t.Context(), &MergeRequest{ContactIDs: []string{"a", "b"}})
	return err
}

func retries(n int) func(*Config) { return func(c *Config) { c.MaxRetries = n } }

func TestRetryAfterHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		reg.Register("429", apiMatcher("GET", pathContact), jsonResponse(429, `{"message":"slow down","code":"too.many.requests.retry.after","status":429}`, "Retry-After", "7"))
		reg.Register("ok", apiMatcher("GET", pathContact), withAuth("T", jsonResponse(200, `{"id":"a"}`)))
		var infos []RequestInfo
		c := stubClient(t, reg, func(c *Config) { c.Observer = func(ri RequestInfo) { infos = append(infos, ri) } })
		start := time.Now()
		got, _, err := c.Contacts.Get(t.Context(), "a")
		if err != nil || got.ID != "a" {
			t.Fatalf("Get = %v, %v", got, err)
		}
		if el := time.Since(start); el != 7*time.Second {
			t.Errorf("waited %v, want exactly the Retry-After of 7s", el)
		}
		if len(infos) != 2 || !infos[0].Throttled || infos[0].Attempt != 1 || infos[1].Attempt != 2 || infos[1].Status != 200 {
			t.Errorf("infos = %+v", infos)
		}
		reg.Verify(t)
	})
}

func TestRetryAfterPausesOtherRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		reg.Register("429", apiMatcher("GET", pathContact), jsonResponse(429, `{}`, "Retry-After", "5"))
		reg.Register("ok", apiMatcher("GET", "/api/v2/tokens/me"), jsonResponse(200, `{}`))
		c := stubClient(t, reg, retries(-1))
		start := time.Now()
		_, _, err := c.Contacts.Get(t.Context(), "a")
		var rl *RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != 5*time.Second || rl.Status != 429 {
			t.Fatalf("err = %v", err)
		}
		if _, _, err := c.Tokens.Me(t.Context()); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 5*time.Second {
			t.Errorf("the next request went out after %v, want 5s", el)
		}
		reg.Verify(t)
	})
}

func TestRetryAfterTooLongIsReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		reg.Register("429", apiMatcher("GET", pathContact), jsonResponse(429, `{}`, "Retry-After", "600"))
		c := stubClient(t, reg)
		start := time.Now()
		_, resp, err := c.Contacts.Get(t.Context(), "a")
		var rl *RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != 10*time.Minute {
			t.Fatalf("err = %v", err)
		}
		if time.Since(start) != 0 || resp.StatusCode != 429 {
			t.Errorf("waited %v", time.Since(start))
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 429 {
			t.Error("errors.As(*APIError) does not match a RateLimitError")
		}
		if IsAmbiguous(err) {
			t.Error("429 is ambiguous")
		}
		reg.Verify(t)
	})
}

func TestRetry429ExhaustedAndMergeRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		for range 3 {
			reg.Register("429", apiMatcher("POST", pathMerge), jsonResponse(429, `{}`, "Retry-After", "1"))
		}
		c := stubClient(t, reg, retries(2))
		err := merge(t, c)
		var rl *RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("err = %v", err)
		}
		if n := reg.count(apiMatcher("POST", pathMerge)); n != 3 {
			t.Errorf("merge sent %d times, want 3", n)
		}
		for i, b := range reg.bodies[1:] {
			if !strings.Contains(b, `"contactIds":["a","b"]`) {
				t.Errorf("attempt %d body = %q", i+1, b)
			}
		}
		reg.Verify(t)

		// 429 then success: a merge is retried after a 429.
		reg2 := &registry{}
		reg2.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		reg2.Register("429", apiMatcher("POST", pathMerge), jsonResponse(429, `{}`))
		reg2.Register("ok", apiMatcher("POST", pathMerge), jsonResponse(200, `{"id":"m"}`))
		if err := merge(t, stubClient(t, reg2)); err != nil {
			t.Fatal(err)
		}
		reg2.Verify(t)
	})
}

func TestMergeNeverRetriedOn5xxOrNetworkErrors(t *testing.T) {
	cases := map[string]struct {
		resp      responder
		ambiguous bool
		status    int
	}{
		"500":               {jsonResponse(500, `{"message":"boom"}`), true, 500},
		"502":               {jsonResponse(502, `<html>bad gateway</html>`), true, 502},
		"503":               {jsonResponse(503, `{}`, "Retry-After", "1"), true, 503},
		"504":               {jsonResponse(504, `{"message":"gateway timeout"}`), true, 504},
		"reset after write": {afterWrite(syscall.ECONNRESET), true, 0},
		"EOF after write":   {afterWrite(io.EOF), true, 0},
		"dial error":        {beforeWrite(errors.New("dial tcp 10.0.0.1:443: connect: connection refused")), false, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg := &registry{}
				reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
				reg.Register("merge", apiMatcher("POST", pathMerge), tc.resp)
				c := stubClient(t, reg)
				err := merge(t, c)
				if err == nil {
					t.Fatal("no error")
				}
				if IsAmbiguous(err) != tc.ambiguous {
					t.Errorf("IsAmbiguous(%v) = %v, want %v", err, IsAmbiguous(err), tc.ambiguous)
				}
				var ae *APIError
				if tc.status != 0 && (!errors.As(err, &ae) || ae.Status != tc.status) {
					t.Errorf("err = %v, want status %d", err, tc.status)
				}
				var te *TransportError
				if tc.status == 0 && !errors.As(err, &te) {
					t.Errorf("err = %T %v, want *TransportError", err, err)
				}
				if n := reg.count(apiMatcher("POST", pathMerge)); n != 1 {
					t.Errorf("merge sent %d times", n)
				}
				reg.Verify(t)
			})
		})
	}
}

func TestSafeRequestsRetriedOn5xx(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		path   string
		call   func(*Client, context.Context) error
	}{
		{"get", "GET", pathContact, func(c *Client, ctx context.Context) error { _, _, err := c.Contacts.Get(ctx, "a"); return err }},
		{"bulk", "POST", pathBulk, func(c *Client, ctx context.Context) error {
			_, _, err := c.Contacts.BulkGet(ctx, []string{"a"})
			return err
		}},
		{"analytics", "POST", pathQuery, func(c *Client, ctx context.Context) error {
			_, _, err := c.Analytics.QueryConversationDetails(ctx, &ConversationQuery{Interval: "x/y"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg := &registry{}
				reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
				reg.Register("503", apiMatcher(tc.method, tc.path), jsonResponse(503, `{}`))
				reg.Register("reset", apiMatcher(tc.method, tc.path), afterWrite(syscall.ECONNRESET))
				reg.Register("504", apiMatcher(tc.method, tc.path), jsonResponse(504, `{}`, "Retry-After", "3"))
				reg.Register("ok", apiMatcher(tc.method, tc.path), jsonResponse(200, `{"id":"a","results":[]}`))
				c := stubClient(t, reg)
				start := time.Now()
				if err := tc.call(c, t.Context()); err != nil {
					t.Fatal(err)
				}
				// Backoff: [250ms,500ms] + [500ms,1s] + Retry-After 3s.
				if el := time.Since(start); el < 3750*time.Millisecond || el > 4500*time.Millisecond {
					t.Errorf("elapsed %v outside the backoff window", el)
				}
				if tc.method == "POST" {
					for _, b := range reg.bodies[1:] {
						if b == "" {
							t.Error("retried POST without body")
						}
					}
				}
				reg.Verify(t)
			})
		})
	}
}

func TestSafeRequestGivesUpAfterMaxRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		for range 4 {
			reg.Register("500", apiMatcher("GET", pathContact), jsonResponse(500, `{"message":"still broken"}`))
		}
		c := stubClient(t, reg)
		_, _, err := c.Contacts.Get(t.Context(), "a")
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 500 || !IsAmbiguous(err) {
			t.Fatalf("err = %v", err)
		}
		reg.Verify(t)
	})
}

func TestBackoffBounds(t *testing.T) {
	for attempt := 1; attempt <= 12; attempt++ {
		d := min(backoffBase<<(attempt-1), backoffMax)
		for range 50 {
			b := backoff(attempt)
			if b < d/2 || b > d {
				t.Fatalf("backoff(%d) = %v outside [%v, %v]", attempt, b, d/2, d)
			}
		}
	}
}

func TestContextCancelledDuringRetryWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		reg.Register("429", apiMatcher("POST", pathMerge), jsonResponse(429, `{}`, "Retry-After", "60"))
		c := stubClient(t, reg)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		_, _, err := c.Contacts.Merge(ctx, &MergeRequest{ContactIDs: []string{"a", "b"}})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if IsAmbiguous(err) {
			t.Error("a merge that was only throttled is ambiguous")
		}
		if el := time.Since(start); el != 10*time.Second {
			t.Errorf("returned after %v", el)
		}
		reg.Verify(t)
	})
}

func TestPerAttemptTimeoutIsAmbiguous(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		reg.Register("hang", apiMatcher("POST", pathMerge), func(r *http.Request) (*http.Response, error) {
			afterWrite(nil)(r)
			<-r.Context().Done()
			return nil, r.Context().Err()
		})
		c := stubClient(t, reg, func(c *Config) { c.HTTPClient.Timeout = 30 * time.Second })
		start := time.Now()
		err := merge(t, c)
		var te *TransportError
		if !errors.As(err, &te) || !te.Timeout() || !IsAmbiguous(err) {
			t.Fatalf("err = %v", err)
		}
		if el := time.Since(start); el != 30*time.Second {
			t.Errorf("timed out after %v", el)
		}
		reg.Verify(t)
	})
}

func TestRateFloorPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		reg.Register("low budget", apiMatcher("GET", pathContact), jsonResponse(200, `{"id":"a"}`,
			"inin-ratelimit-count", "295", "inin-ratelimit-allowed", "300", "inin-ratelimit-reset", "30"))
		reg.Register("next", apiMatcher("GET", pathContact), jsonResponse(200, `{"id":"a"}`,
			"inin-ratelimit-count", "1", "inin-ratelimit-allowed", "300", "inin-ratelimit-reset", "60"))
		c := stubClient(t, reg)
		start := time.Now()
		_, resp, err := c.Contacts.Get(t.Context(), "a")
		if err != nil {
			t.Fatal(err)
		}
		want := RateLimit{Count: 295, Allowed: 300, Reset: 30 * time.Second, Observed: start}
		if d := cmp.Diff(want, resp.RateLimit); d != "" {
			t.Errorf("RateLimit (-want +got):\n%s", d)
		}
		if st := c.Limiter().State(); !st.PausedUntil.Equal(start.Add(32 * time.Second)) {
			t.Errorf("PausedUntil = %v, want start+32s", st.PausedUntil)
		}
		if _, _, err := c.Contacts.Get(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 32*time.Second {
			t.Errorf("second request after %v, want reset 30s + 2s", el)
		}
		if rl := c.RateLimit(); rl.Count != 1 || rl.Remaining() != 299 {
			t.Errorf("latest RateLimit = %+v", rl)
		}
		if st := c.Limiter().State(); st.Waits != 1 || !st.PausedUntil.IsZero() {
			t.Errorf("state = %+v", st)
		}
		reg.Verify(t)
	})
}

func TestRateCorrectedFromHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		reg.Register("first", apiMatcher("GET", pathContact), jsonResponse(200, `{}`,
			"inin-ratelimit-count", "1", "inin-ratelimit-allowed", "60", "inin-ratelimit-reset", "60"))
		for range 20 {
			reg.Register("more", apiMatcher("GET", pathContact), jsonResponse(200, `{}`))
		}
		c := stubClient(t, reg)
		if st := c.Limiter().State(); st.PerMinute != 300 || st.Ceiling != 0 {
			t.Errorf("initial state = %+v", st)
		}
		// A ceiling above the platform's budget (a shared budget, --max-rate):
		// the bucket paces evenly at the platform's rate. (Without a ceiling
		// the window is spent at once: TestLimiterSpendsTheWindow.)
		c.Limiter().SetCeiling(600)
		c.Contacts.Get(t.Context(), "a")
		if st := c.Limiter().State(); st.PerMinute != 60 || st.Window {
			t.Fatalf("state = %+v, want 60/min from inin-ratelimit-allowed, paced", st)
		}
		// 60/min: burst 6, then one per second.
		start := time.Now()
		for range 20 {
			c.Contacts.Get(t.Context(), "a")
		}
		if el := time.Since(start); el < 13*time.Second || el > 16*time.Second {
			t.Errorf("20 requests at 60/min took %v, want about 14s", el)
		}
		c.Limiter().SetCeiling(30)
		if st := c.Limiter().State(); st.PerMinute != 30 {
			t.Errorf("after SetCeiling(30): %d", st.PerMinute)
		}
		c.Limiter().SetCeiling(600)
		if st := c.Limiter().State(); st.PerMinute != 60 {
			t.Errorf("ceiling above the platform budget: %d", st.PerMinute)
		}
		reg.Verify(t)
	})
}

// Without a ceiling the client spends its token's whole budget, even one
// larger than the default 300/min.
func TestRateFollowsLargerBudgetWithoutCeiling(t *testing.T) {
	reg := &registry{}
	reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
	reg.Register("first", apiMatcher("GET", pathContact), jsonResponse(200, `{}`,
		"inin-ratelimit-count", "1", "inin-ratelimit-allowed", "3000", "inin-ratelimit-reset", "60"))
	c := stubClient(t, reg)
	c.Contacts.Get(t.Context(), "a")
	if st := c.Limiter().State(); st.PerMinute != 3000 {
		t.Fatalf("PerMinute = %d, want the platform's 3000", st.PerMinute)
	}
	reg.Verify(t)
}

func TestParseRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    http.Header
		want RateLimit
		ok   bool
	}{
		{http.Header{"Inin-Ratelimit-Count": {"1"}, "Inin-Ratelimit-Allowed": {"180"}, "Inin-Ratelimit-Reset": {"61"}},
			RateLimit{1, 180, 61 * time.Second, now}, true},
		{http.Header{"Inin-Ratelimit-Allowed": {" 300 "}}, RateLimit{0, 300, 0, now}, true},
		{http.Header{}, RateLimit{Observed: now}, false},
		{http.Header{"Inin-Ratelimit-Count": {"x"}, "Inin-Ratelimit-Allowed": {"-3"}}, RateLimit{Observed: now}, false},
	} {
		got, ok := parseRateLimit(tc.h, now)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseRateLimit(%v) = %+v, %v; want %+v, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
	// Lower-case names as the platform sends them.
	h := http.Header{}
	h.Set("inin-ratelimit-count", "5")
	h.Set("inin-ratelimit-allowed", "300")
	if rl, _ := parseRateLimit(h, now); rl.Count != 5 || rl.Remaining() != 295 || rl.ResetAt() != now {
		t.Errorf("rl = %+v", rl)
	}
}

func TestParseRetryAfter(t *testing.T) {
	for in, want := range map[string]time.Duration{"7": 7 * time.Second, "0": 0, " 120 ": 2 * time.Minute} {
		got, ok := parseRetryAfter(http.Header{"Retry-After": {in}})
		if !ok || got != want {
			t.Errorf("parseRetryAfter(%q) = %v, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "-1", "soon"} {
		if _, ok := parseRetryAfter(http.Header{"Retry-After": {in}}); ok {
			t.Errorf("parseRetryAfter(%q) ok", in)
		}
	}
}

func TestErrorPaths(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		status    int
		body      string
		sentinel  error
		code      string
		ambiguous bool
	}{
		{400, `{"message":"bad","code":"bad.request","status":400}`, nil, "bad.request", false},
		{401, `{"message":"no","code":"authentication.required"}`, ErrUnauthorized, "authentication.required", false},
		{403, `{"message":"missing permission","code":"missing.any.permissions"}`, ErrForbidden, "missing.any.permissions", false},
		{404, `{"message":"gone","code":"not.found"}`, ErrNotFound, "not.found", false},
		{408, `{}`, nil, "", true},
		{409, `{"message":"conflict","code":"conflict"}`, ErrConflict, "conflict", false},
		{429, `{"code":"too.many.requests"}`, ErrRateLimited, "too.many.requests", false},
		{500, big, nil, "", true},
		{503, `{"message":"unavailable"}`, nil, "", true},
		{504, `{"message":"timeout"}`, nil, "", true},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc("GET /api/v2/externalcontacts/contacts/a", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ININ-Correlation-Id", "corr")
				writeJSON(w, tc.status, tc.body)
			})
			_, resp, err := f.client.Contacts.Get(t.Context(), "a")
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Code != tc.code || ae.CorrelationID != "corr" {
				t.Fatalf("err = %#v", err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			if errors.Is(err, ErrNotFound) != (tc.status == 404) {
				t.Errorf("ErrNotFound match wrong for %d", tc.status)
			}
			var rl *RateLimitError
			if errors.Is(err, ErrRateLimited) != (tc.status == 429) || errors.As(err, &rl) != (tc.status == 429) {
				t.Errorf("ErrRateLimited/RateLimitError match wrong for %d", tc.status)
			}
			if IsAmbiguous(err) != tc.ambiguous {
				t.Errorf("IsAmbiguous = %v", IsAmbiguous(err))
			}
			if len(ae.Message) > 210*4 {
				t.Errorf("message not capped: %d bytes", len(ae.Message))
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Errorf("resp = %v", resp)
			}
		})
	}
}

func TestMalformedJSON(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("POST /api/v2/externalcontacts/contacts/merge", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"new","mergeSet":[`)
	})
	f.mux.HandleFunc("GET /api/v2/externalcontacts/contacts/a", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, `{"message": truncated`)
	})
	_, resp, err := f.client.Contacts.Merge(t.Context(), &MergeRequest{ContactIDs: []string{"a", "b"}})
	if !errors.Is(err, ErrMalformedResponse) || !IsAmbiguous(err) || resp.StatusCode != 200 {
		t.Errorf("malformed 2xx: err = %v", err)
	}
	_, _, err = f.client.Contacts.Get(t.Context(), "a")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "truncated") {
		t.Errorf("malformed error body: err = %#v", err)
	}
}

func TestNetworkResetOnRealConnection(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("POST /api/v2/externalcontacts/contacts/merge", func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	})
	err := merge(t, f.client)
	var te *TransportError
	if !errors.As(err, &te) || !te.Written || !IsAmbiguous(err) {
		t.Errorf("err = %#v (ambiguous %v)", err, IsAmbiguous(err))
	}
	infos := f.infos.all()
	if last := infos[len(infos)-1]; last.Err == nil || last.Status != 0 || last.Route != "/api/v2/externalcontacts/contacts/merge" {
		t.Errorf("observed = %+v", last)
	}

	// Nothing listening: an error before anything was sent.
	f.server.Close()
	_, _, err = f.client.Tokens.Me(t.Context())
	if err == nil || IsAmbiguous(err) {
		t.Errorf("closed server: err = %v, ambiguous %v", err, IsAmbiguous(err))
	}
}

func TestResponseHeadersParsedOnEveryResponse(t *testing.T) {
	f := setup(t)
	n := 0
	f.mux.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("inin-ratelimit-count", fmt.Sprint(n))
		w.Header().Set("inin-ratelimit-allowed", "180")
		w.Header().Set("inin-ratelimit-reset", "61")
		w.Header().Set("ININ-Correlation-Id", fmt.Sprint("c", n))
		if n == 2 {
			writeJSON(w, 404, `{}`)
			return
		}
		writeJSON(w, 200, `{"id":"x"}`)
	})
	for i := 1; i <= 3; i++ {
		_, resp, _ := f.client.Contacts.Get(t.Context(), "x")
		if resp.RateLimit.Count != i || resp.RateLimit.Allowed != 180 || resp.RateLimit.Reset != 61*time.Second || resp.CorrelationID != fmt.Sprint("c", i) {
			t.Errorf("response %d: %+v %q", i, resp.RateLimit, resp.CorrelationID)
		}
		if f.client.RateLimit().Count != i {
			t.Errorf("Client.RateLimit = %+v", f.client.RateLimit())
		}
	}
	if st := f.client.Limiter().State(); st.PerMinute != 180 || st.Last.Count != 3 {
		t.Errorf("limiter = %+v", st)
	}
}

// A retry after a 5xx is logged at Warn, so the CLI (which shows Warn by
// default) is not silent while the platform struggles; a retry after a 429,
// the budget working as designed, stays at Info.
func TestRetryLoggedByCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &registry{}
		reg.Register("token", tokenMatcher(), tokenResponse("T", 3600))
		reg.Register("503", apiMatcher("GET", pathContact), jsonResponse(503, `{"message":"busy","code":"service.unavailable","status":503}`))
		reg.Register("429", apiMatcher("GET", pathContact), jsonResponse(429, `{"message":"slow down","code":"too.many.requests.retry.after","status":429}`, "Retry-After", "1"))
		reg.Register("ok", apiMatcher("GET", pathContact), withAuth("T", jsonResponse(200, `{"id":"a"}`)))
		var logs syncBuffer
		c := stubClient(t, reg, func(c *Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		})
		if _, _, err := c.Contacts.Get(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
		out := logs.String()
		if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "retrying request") || !strings.Contains(out, "status=503") {
			t.Errorf("the 503 retry is not a warning:\n%s", out)
		}
		if strings.Contains(out, "status=429") {
			t.Errorf("the 429 retry is a warning:\n%s", out)
		}
		reg.Verify(t)
	})
}
