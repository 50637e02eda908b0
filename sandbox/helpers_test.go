package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testclock"
)

// newFakeClock returns the shared test clock (internal/testclock), set to
// a fixed instant, for Config.Now.
func newFakeClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC))
}

// env is a sandbox behind a real HTTP server, with a token.
type env struct {
	t     *testing.T
	sb    *Sandbox
	srv   *httptest.Server
	token string
	clock *testclock.Clock
}

// newEnv starts a sandbox with cfg (Now defaults to a fake clock, RateLimit
// to unlimited) and fetches a token.
func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := &env{t: t}
	if cfg.Now == nil {
		e.clock = newFakeClock()
		cfg.Now = e.clock.Now
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	sb, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.sb = sb
	e.srv = httptest.NewServer(sb)
	t.Cleanup(func() {
		e.srv.Close()
		_ = sb.Close()
	})
	e.token = e.fetchToken()
	return e
}

func (e *env) fetchToken() string {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.SetBasicAuth(e.sb.cfg.ClientID, e.sb.cfg.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		e.t.Fatalf("token: status %d, err %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

// response is a read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errBody(t *testing.T) errorBody {
	t.Helper()
	var b errorBody
	r.decode(t, &b)
	return b
}

// do sends a request with the env's token; body is JSON-encoded unless nil.
func (e *env) do(method, path string, body any) response {
	e.t.Helper()
	return e.doTok(e.token, method, path, body)
}

func (e *env) doTok(tok, method, path string, body any) response {
	e.t.Helper()
	resp, err := e.send(tok, method, path, body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func (e *env) send(tok, method, path string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{resp.StatusCode, resp.Header, b}, nil
}

// merge merges ids through the current endpoint.
func (e *env) merge(ids []string, override *cm.Contact) response {
	e.t.Helper()
	body := map[string]any{"contactIds": ids}
	if override != nil {
		body["valueOverride"] = override
	}
	return e.do("POST", "/api/v2/externalcontacts/contacts/merge", body)
}

func (e *env) get(id string) response {
	e.t.Helper()
	return e.do("GET", "/api/v2/externalcontacts/contacts/"+id, nil)
}

// loadEnv starts a sandbox with the given contacts loaded as JSONL.
func loadEnv(t *testing.T, cfg Config, cs []cm.Contact) *env {
	t.Helper()
	var buf bytes.Buffer
	for _, c := range cs {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	cfg.Load = &buf
	cfg.Now = nil
	return newEnv(t, cfg)
}

// simpleContacts returns n Curated contacts with ids c000.. and distinct
// phones and emails.
func simpleContacts(n int) []cm.Contact {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]cm.Contact, n)
	for i := range out {
		id := "c" + pad(i, 4)
		out[i] = cm.Contact{
			ID: id, FirstName: "First" + pad(i, 4), LastName: "Last",
			Type:          cm.TypeCurated,
			PersonalEmail: "p" + pad(i, 4) + "@example.com",
			CellPhone:     &cm.PhoneNumber{Display: "+1 704-298-" + pad(i, 4), E164: "+1704298" + pad(i, 4)},
			ModifyDate:    base.Add(time.Duration(i) * time.Hour),
			CreateDate:    base,
		}
	}
	return out
}
