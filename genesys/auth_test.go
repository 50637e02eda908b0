package genesys

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/internal/testclock"

	"golang.org/x/oauth2"
)

func TestTokenRenewedAt80Percent(t *testing.T) {
	clk := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := setup(t, func(c *Config) { c.Now = clk.Now })
	f.expires.Store(1000)
	var seen []string
	f.mux.HandleFunc("GET /api/v2/tokens/me", func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		writeJSON(w, 200, `{}`)
	})
	me := func() {
		t.Helper()
		if _, _, err := f.client.Tokens.Me(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	me()                           // t=0: first token
	clk.Advance(799 * time.Second) // 79.9%: still valid
	me()
	clk.Advance(2 * time.Second) // 80.1%: renewed
	me()
	clk.Advance(700 * time.Second) // 70% of the second token
	me()
	clk.Advance(101 * time.Second) // past 80% of the second token
	me()
	if want := "tok-1,tok-1,tok-2,tok-2,tok-3"; strings.Join(seen, ",") != want {
		t.Errorf("tokens used = %v, want %s", seen, want)
	}
	if f.tokens.Load() != 3 {
		t.Errorf("token requests = %d", f.tokens.Load())
	}
}

func TestTokenWithoutExpiryIsKept(t *testing.T) {
	clk := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := setup(t, func(c *Config) { c.Now = clk.Now })
	f.expires.Store(0)
	f.mux.HandleFunc("GET /api/v2/tokens/me", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{}`) })
	for range 3 {
		if _, _, err := f.client.Tokens.Me(t.Context()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(48 * time.Hour)
	}
	if f.tokens.Load() != 1 {
		t.Errorf("token requests = %d, want 1", f.tokens.Load())
	}
}

func TestReauthOn401(t *testing.T) {
	f := setup(t)
	var calls atomic.Int32
	f.mux.HandleFunc("POST /api/v2/externalcontacts/contacts/merge", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		testJSONBody(t, r, `{"contactIds":["a","b"]}`)
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			writeJSON(w, 401, `{"message":"token expired","code":"authentication.required","status":401}`)
			return
		}
		testAuth(t, r, "tok-2")
		writeJSON(w, 200, `{"id":"new"}`)
	})
	c, _, err := f.client.Contacts.Merge(t.Context(), &MergeRequest{ContactIDs: []string{"a", "b"}})
	if err != nil || c.ID != "new" {
		t.Fatalf("Merge = %v, %v", c, err)
	}
	if calls.Load() != 2 || f.tokens.Load() != 2 {
		t.Errorf("calls = %d, token requests = %d; want 2, 2", calls.Load(), f.tokens.Load())
	}
	infos := f.infos.all()
	if len(infos) != 2 || infos[0].Status != 401 || infos[1].Status != 200 {
		t.Errorf("observed = %+v", infos)
	}
}

func TestReauthOnlyOnce(t *testing.T) {
	f := setup(t)
	var calls atomic.Int32
	f.mux.HandleFunc("GET /api/v2/tokens/me", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 401, `{"message":"no","code":"bad.credentials","status":401}`)
	})
	_, resp, err := f.client.Tokens.Me(t.Context())
	if !errors.Is(err, ErrUnauthorized) || resp.StatusCode != 401 {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 2 || f.tokens.Load() != 2 {
		t.Errorf("calls = %d, token requests = %d; want 2, 2", calls.Load(), f.tokens.Load())
	}
}

func TestConcurrent401RenewsOnce(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/tokens/me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			writeJSON(w, 401, `{}`)
			return
		}
		writeJSON(w, 200, `{}`)
	})
	// Obtain tok-1 first so every goroutine starts with it.
	if _, err := f.client.tokens.token(t.Context()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, _, err := f.client.Tokens.Me(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.tokens.Load(); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
}

func TestAuthFailureIsClearAndSecretFree(t *testing.T) {
	f := setup(t, func(c *Config) { c.ClientSecret = "wrong-" + testClientSecret })
	f.mux.HandleFunc("GET /api/v2/tokens/me", func(w http.ResponseWriter, r *http.Request) {
		t.Error("API called without a token")
	})
	_, resp, err := f.client.Tokens.Me(t.Context())
	if resp != nil {
		t.Errorf("resp = %+v", resp)
	}
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Code != "invalid_client" || ae.Description != "bad credentials" {
		t.Fatalf("err = %#v", err)
	}
	if got, want := err.Error(), "authentication failed: invalid_client: bad credentials"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if IsAmbiguous(err) {
		t.Error("auth failure is ambiguous")
	}
	assertNoSecret(t, err, f.logs.String(), testClientSecret)
}

// assertNoSecret checks err's text, the text of every error in its chain and
// the logs for secret and for the Basic auth value derived from it.
func assertNoSecret(t *testing.T, err error, logs, secret string) {
	t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte(testClientID + ":" + secret))
	check := func(where, s string) {
		if strings.Contains(s, secret) || strings.Contains(s, basic) {
			t.Errorf("%s contains the secret: %s", where, s)
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		check(fmt.Sprintf("error %T", e), e.Error())
		check(fmt.Sprintf("error %T (%%#v)", e), fmt.Sprintf("%#v", e))
	}
	check("logs", logs)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		t.Errorf("the oauth2 RetrieveError (with its raw body) is reachable: %v", re)
	}
}

func TestAuthErrorNeverEchoesSecret(t *testing.T) {
	// A token endpoint that echoes the request (credentials included) in its
	// error body and in a non-JSON body: the oauth2 library would put it in
	// its error text.
	for name, h := range map[string]http.HandlerFunc{
		"json": func(w http.ResponseWriter, r *http.Request) {
			_, secret, _ := r.BasicAuth()
			writeJSON(w, 400, fmt.Sprintf(`{"error":"invalid_request","error_description":"secret %s rejected; header %s"}`, secret, r.Header.Get("Authorization")))
		},
		"text": func(w http.ResponseWriter, r *http.Request) {
			_, secret, _ := r.BasicAuth()
			w.WriteHeader(500)
			fmt.Fprintf(w, "<html>internal error for %s / %s</html>", secret, r.Header.Get("Authorization"))
		},
		"no token": func(w http.ResponseWriter, r *http.Request) {
			_, secret, _ := r.BasicAuth()
			writeJSON(w, 200, fmt.Sprintf(`{"token_type":"bearer","note":%q}`, secret))
		},
	} {
		t.Run(name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("POST /oauth/token", h)
			logs := &syncBuffer{}
			f := setup(t)
			f.mux = mux
			f.server.Config.Handler = mux
			c, err := NewClient(t.Context(), Config{
				Region: f.server.URL, ClientID: testClientID, ClientSecret: testClientSecret,
				Logger: slogDebug(logs),
			})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Tokens.Me(t.Context())
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %T %v, want *AuthError", err, err)
			}
			if !strings.HasPrefix(err.Error(), "authentication failed: ") && !strings.HasPrefix(err.Error(), "the login host failed: ") {
				t.Errorf("Error() = %q", err)
			}
			assertNoSecret(t, err, logs.String(), testClientSecret)
		})
	}
}

func TestAuthNetworkErrorAndClosedContext(t *testing.T) {
	reg := &registry{}
	reg.Register("token dial failure", tokenMatcher(), beforeWrite(errors.New("dial tcp: connection refused")))
	c := stubClient(t, reg)
	_, _, err := c.Tokens.Me(t.Context())
	var ae *AuthError
	if !errors.As(err, &ae) || IsAmbiguous(err) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v", err)
	}
	reg.Verify(t)

	ctx, cancel := context.WithCancel(t.Context())
	c2 := stubClient(t, &registry{}, func(cfg *Config) {})
	c2.tokens.base = ctx
	cancel()
	_, _, err = c2.Tokens.Me(t.Context())
	if !errors.As(err, &ae) || !errors.Is(err, context.Canceled) {
		t.Errorf("closed client context: err = %v", err)
	}
}

func TestSecretNeverLogged(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "401" {
			writeJSON(w, 401, `{}`)
			return
		}
		// An error message echoing the bearer token is redacted.
		writeJSON(w, 400, `{"message":"bad request with `+r.Header.Get("Authorization")+`","code":"bad.request"}`)
	})
	_, _, err := f.client.Contacts.Get(t.Context(), "x")
	if err == nil || strings.Contains(err.Error(), "tok-") {
		t.Errorf("err = %v", err)
	}
	f.client.Contacts.Get(t.Context(), "401")
	logs := f.logs.String()
	if !strings.Contains(logs, "genesys: request") {
		t.Fatalf("expected debug logs, got %q", logs)
	}
	assertNoSecret(t, err, logs, testClientSecret)
	if strings.Contains(logs, "tok-1") || strings.Contains(logs, "Bearer") {
		t.Errorf("logs contain the access token: %s", logs)
	}
}

// TestTokenRequestSendsRawBasicCredentials: the token request is encoded as
// the official SDKs encode it (GO SDK configuration.go
// AuthorizeClientCredentials): Basic base64(id:secret) with neither
// percent-escaped, a form body of grant_type=client_credentials only.
// golang.org/x/oauth2/clientcredentials would send base64 of
// "id%2Bx:s%2Fe%3D…" instead.
func TestTokenRequestSendsRawBasicCredentials(t *testing.T) {
	const id, secret = "client+id/1=", "s3cr3t+with/slash=and%25 space+="
	var got []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type = %q", ct)
		}
		if err := r.ParseForm(); err != nil || len(r.PostForm) != 1 || r.PostForm.Get("grant_type") != "client_credentials" {
			t.Errorf("form = %v (%v), want grant_type=client_credentials only", r.PostForm, err)
		}
		writeJSON(w, 200, `{"access_token":"tok-raw","token_type":"bearer","expires_in":"86400"}`)
	})
	mux.HandleFunc("GET /api/v2/tokens/me", func(w http.ResponseWriter, r *http.Request) {
		testAuth(t, r, "tok-raw")
		writeJSON(w, 200, `{}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := NewClient(t.Context(), Config{Region: srv.URL, ClientID: id, ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Tokens.Me(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	if len(got) != 1 || got[0] != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	// expires_in given as a string still sets the renewal time.
	if c.tokens.renewAt.IsZero() {
		t.Error("no renewal time from a string expires_in")
	}
}

// TestTokenEndpointAnswers: what the token endpoint may answer, as the
// caller sees it.
func TestTokenEndpointAnswers(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"genesys description", `{"error":"invalid_client","description":"client not found"}`, 401, "authentication failed: invalid_client: client not found"},
		{"oauth error_description", `{"error":"invalid_client","error_description":"bad secret"}`, 401, "authentication failed: invalid_client: bad secret"},
		{"not JSON", `<html>gateway</html>`, 502, "the login host failed: HTTP 502 Bad Gateway (try again later)"},
		{"not a login host", `<html>no such page</html>`, 404, "the token endpoint answered HTTP 404 Not Found: is GENESYSCLOUD_REGION a Genesys Cloud region (or the sandbox's URL)?"},
		{"refused without a body", ``, 401, "authentication failed: HTTP 401 Unauthorized"},
		{"no access token", `{"token_type":"bearer"}`, 200, "authentication failed: the token response has no access_token"},
		{"not JSON 200", `ok`, 200, "authentication failed: the token response is not JSON"},
		{"negative lifetime", `{"access_token":"x","expires_in":-5}`, 200, "authentication failed: the token response has a negative expires_in"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, tt.status, tt.body) })
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			c, err := NewClient(t.Context(), Config{Region: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Tokens.Me(t.Context())
			var ae *AuthError
			if !errors.As(err, &ae) || err.Error() != tt.want || ae.Status != tt.status {
				t.Errorf("err = %v (%#v), want %q", err, err, tt.want)
			}
		})
	}
}

// A login host that cannot be reached is not an authentication failure: the
// error says the host was not reached and where to look.
func TestTokenEndpointUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now: connection refused
	c, err := NewClient(t.Context(), Config{Region: url, ClientID: testClientID, ClientSecret: testClientSecret, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Tokens.Me(t.Context())
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.HasPrefix(err.Error(), "cannot reach the login host: ") ||
		!strings.Contains(err.Error(), "GENESYSCLOUD_REGION") || strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("err = %v, want \"cannot reach the login host: …\" naming GENESYSCLOUD_REGION", err)
	}
}
