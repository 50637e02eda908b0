package genesys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/internal/testlog"
)

const (
	testClientID     = "test-client"
	testClientSecret = "s3cr3t-VALUE-never-logged"
	basePrefix       = "/prefix"
)

// syncBuffer is the shared concurrency-safe log sink of the tests.
type syncBuffer = testlog.Buffer

// fixture is a go-github style test setup: an httptest server whose mux
// serves the token endpoint and the API under basePrefix (a request without
// the prefix fails the test, catching absolute paths).
type fixture struct {
	client  *Client
	mux     *http.ServeMux
	server  *httptest.Server
	logs    *syncBuffer
	tokens  atomic.Int32 // token requests served
	expires atomic.Int64 // expires_in of issued tokens
	infos   *infoLog
}

type infoLog struct {
	mu    sync.Mutex
	infos []RequestInfo
}

func (l *infoLog) observe(ri RequestInfo) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.infos = append(l.infos, ri)
}

func (l *infoLog) all() []RequestInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]RequestInfo(nil), l.infos...)
}

func setup(t testing.TB, mods ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{mux: http.NewServeMux(), logs: &syncBuffer{}, infos: &infoLog{}}
	f.expires.Store(86400)
	f.mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != testClientID || secret != testClientSecret {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","description":"bad credentials"}`)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			t.Errorf("token request form = %v, want grant_type=client_credentials", r.PostForm)
		}
		if r.PostForm.Has("client_secret") || r.PostForm.Has("scope") {
			t.Errorf("token request form carries %v; want Basic auth and no scope", r.PostForm)
		}
		n := f.tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":%d}`, n, f.expires.Load())
	})
	outer := http.NewServeMux()
	outer.Handle(basePrefix+"/", http.StripPrefix(basePrefix, f.mux))
	outer.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request without the base prefix: %s %s", r.Method, r.URL)
		http.Error(w, "missing prefix", http.StatusBadRequest)
	})
	f.server = httptest.NewServer(outer)
	t.Cleanup(f.server.Close)
	cfg := Config{
		Region:       f.server.URL + basePrefix,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		HTTPClient:   &http.Client{Timeout: 10 * time.Second},
		Logger:       slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Observer:     f.infos.observe,
		MaxRetries:   -1,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := NewClient(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	f.client = c
	return f
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
}

func testAuth(t *testing.T, r *http.Request, token string) {
	t.Helper()
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization = %q, want Bearer %s", got, token)
	}
}

// testJSONBody compares the request body with want as JSON values.
func testJSONBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	data, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var got, exp any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", data, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	gb, _ := json.Marshal(got)
	eb, _ := json.Marshal(exp)
	if !bytes.Equal(gb, eb) {
		t.Errorf("body = %s\nwant  %s", gb, eb)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// --- strict stub registry (cli/cli pkg/httpmock style) ---

type matcher func(*http.Request) bool

type responder func(*http.Request) (*http.Response, error)

type stub struct {
	desc    string
	match   matcher
	respond responder
	used    bool
}

// registry is an http.RoundTripper answering from registered stubs, each
// used at most once, in registration order. Verify fails for unused stubs;
// a request no stub matches fails the round trip.
type registry struct {
	mu       sync.Mutex
	stubs    []*stub
	requests []*http.Request
	bodies   []string
}

func (r *registry) Register(desc string, m matcher, resp responder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stubs = append(r.stubs, &stub{desc: desc, match: m, respond: resp})
}

func (r *registry) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	var s *stub
	for _, c := range r.stubs {
		if !c.used && c.match(req) {
			s = c
			break
		}
	}
	r.requests = append(r.requests, req)
	r.bodies = append(r.bodies, string(body))
	if s != nil {
		s.used = true
	}
	r.mu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("no registered stub for %s %s", req.Method, req.URL)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := s.respond(req)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

func (r *registry) Verify(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.stubs {
		if !s.used {
			t.Errorf("stub not used: %s", s.desc)
		}
	}
}

// count returns how many requests matched m.
func (r *registry) count(m matcher) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.requests {
		if m(q) {
			n++
		}
	}
	return n
}

func REST(method, path string) matcher {
	return func(r *http.Request) bool { return r.Method == method && r.URL.Path == path }
}

func tokenMatcher() matcher {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == "/oauth/token" && r.URL.Host == "login.stub.test"
	}
}

func apiMatcher(method, path string) matcher {
	return func(r *http.Request) bool {
		return r.Method == method && r.URL.Path == path && r.URL.Host == "api.stub.test"
	}
}

func jsonResponse(status int, body string, headers ...string) responder {
	return func(r *http.Request) (*http.Response, error) {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i+1 < len(headers); i += 2 {
			h.Set(headers[i], headers[i+1])
		}
		return &http.Response{
			StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
			Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: r,
			ProtoMajor: 1, ProtoMinor: 1,
		}, nil
	}
}

func tokenResponse(token string, expiresIn int) responder {
	return jsonResponse(200, fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","expires_in":%d}`, token, expiresIn))
}

// afterWrite fails the round trip after reporting the request as written.
func afterWrite(err error) responder {
	return func(r *http.Request) (*http.Response, error) {
		if tr := httptrace.ContextClientTrace(r.Context()); tr != nil && tr.WroteRequest != nil {
			tr.WroteRequest(httptrace.WroteRequestInfo{})
		}
		return nil, err
	}
}

// beforeWrite fails the round trip before anything is written.
func beforeWrite(err error) responder {
	return func(r *http.Request) (*http.Response, error) { return nil, err }
}

func withAuth(token string, next responder) responder {
	return func(r *http.Request) (*http.Response, error) {
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			return jsonResponse(401, fmt.Sprintf(`{"message":"stub wanted token %s, got %q","code":"bad.credentials","status":401}`, token, got))(r)
		}
		return next(r)
	}
}

// stubClient returns a client whose base transport is reg, on the region
// https://api.stub.test (login host login.stub.test).
func stubClient(t *testing.T, reg *registry, mods ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Region:       "https://api.stub.test",
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		HTTPClient:   &http.Client{Transport: reg, Timeout: 30 * time.Second},
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := NewClient(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func decodeJSONReader(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func slogDebug(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
