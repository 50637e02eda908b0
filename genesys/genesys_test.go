package genesys

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/internal/testclock"
)

func TestNewClientValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no id":       {Region: "us-east-1", ClientSecret: "distinct-secret"},
		"no secret":   {Region: "us-east-1", ClientID: "i"},
		"bad region":  {Region: "mars", ClientID: "i", ClientSecret: "distinct-secret"},
		"no region":   {ClientID: "i", ClientSecret: "distinct-secret"},
		"neg rate":    {Region: "us-east-1", ClientID: "i", ClientSecret: "distinct-secret", RatePerMinute: -1},
		"neg maxwait": {Region: "us-east-1", ClientID: "i", ClientSecret: "distinct-secret", MaxRetryWait: -1},
	} {
		if _, err := NewClient(t.Context(), cfg); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), cfg.ClientSecret) && cfg.ClientSecret != "" {
			t.Errorf("%s: error has the secret", name)
		}
	}
	c, err := NewClient(t.Context(), Config{Region: "eu-west-1", ClientID: "i", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL().String() != "https://api.mypurecloud.ie" || c.LoginURL().String() != "https://login.mypurecloud.ie" {
		t.Errorf("hosts = %s %s", c.BaseURL(), c.LoginURL())
	}
	if c.tokens.endpoint.url != "https://login.mypurecloud.ie/oauth/token" {
		t.Errorf("token URL = %s", c.tokens.endpoint.url)
	}
	d := Config{}.WithDefaults()
	if d.RatePerMinute != 0 || d.RateFloor != 10 || d.MaxRetries != 3 || d.HTTPClient.Timeout != DefaultRequestTimeout || d.Now == nil || d.Logger == nil {
		t.Errorf("defaults = %+v", d)
	}
}

func TestNewRequest(t *testing.T) {
	c, err := NewClient(t.Context(), Config{Region: "http://127.0.0.1:9/base/", ClientID: "i", ClientSecret: "s", UserAgent: "ua/1"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.NewRequest(t.Context(), "POST", "/api/v2/externalcontacts/contacts/a%2Fb/unresolved?x=1&y=%3C", map[string]string{"html": "<&>"})
	if err != nil {
		t.Fatal(err)
	}
	if got := req.URL.String(); got != "http://127.0.0.1:9/base/api/v2/externalcontacts/contacts/a%2Fb/unresolved?x=1&y=%3C" {
		t.Errorf("URL = %s", got)
	}
	body, _ := io.ReadAll(req.Body)
	if string(body) != `{"html":"<&>"}`+"\n" {
		t.Errorf("body = %q", body)
	}
	if req.Header.Get("User-Agent") != "ua/1" || req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Accept") != "application/json" {
		t.Errorf("headers = %v", req.Header)
	}
	if req.GetBody == nil {
		t.Error("body cannot be re-sent")
	}
	// Relative path without a leading slash, and an absolute nextUri on the API host.
	for _, p := range []string{"api/v2/tokens/me", "http://127.0.0.1:9/base/api/v2/tokens/me"} {
		req, err := c.NewRequest(t.Context(), "GET", p, nil)
		if err != nil || req.URL.String() != "http://127.0.0.1:9/base/api/v2/tokens/me" || req.Body != nil {
			t.Errorf("NewRequest(%q) = %v, %v", p, req.URL, err)
		}
	}
	// The token must never be sent to another host.
	for _, p := range []string{"https://evil.example/api/v2/tokens/me", "https://127.0.0.1:9/base/api/v2/tokens/me", "http://127.0.0.1:9/other/api/v2"} {
		if _, err := c.NewRequest(t.Context(), "GET", p, nil); err == nil {
			t.Errorf("NewRequest(%q) accepted", p)
		}
	}
	if _, err := c.NewRequest(t.Context(), "GET", "/x", func() {}); err == nil {
		t.Error("unencodable body accepted")
	}
	//nolint:staticcheck // a nil context must be refused
	if _, err := c.NewRequest(nil, "GET", "/x", nil); err == nil {
		t.Error("nil context accepted")
	}
}

func TestDoWriterAndEmptyBody(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/raw", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"raw":true}`) })
	f.mux.HandleFunc("DELETE /api/v2/tokens/me", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	req, _ := f.client.NewRequest(t.Context(), "GET", "/api/v2/raw", nil)
	var buf bytes.Buffer
	if _, err := f.client.Do(req, &buf); err != nil || buf.String() != `{"raw":true}` {
		t.Errorf("Do(writer) = %q, %v", buf.String(), err)
	}
	req, _ = f.client.NewRequest(t.Context(), "DELETE", "/api/v2/tokens/me", nil)
	var v map[string]any
	resp, err := f.client.Do(req, &v)
	if err != nil || resp.StatusCode != 204 || v != nil {
		t.Errorf("Do(204) = %v, %v, %v", resp, err, v)
	}
}

func TestObserverInfo(t *testing.T) {
	clk := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := setup(t, func(c *Config) { c.Now = clk.Now })
	f.mux.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		clk.Advance(250 * time.Millisecond)
		w.Header().Set("inin-ratelimit-count", "3")
		w.Header().Set("inin-ratelimit-allowed", "300")
		w.Header().Set("inin-ratelimit-reset", "10")
		writeJSON(w, 200, `{}`)
	})
	f.client.Contacts.Get(t.Context(), "x")
	infos := f.infos.all()
	if len(infos) != 1 {
		t.Fatalf("infos = %+v", infos)
	}
	ri := infos[0]
	if ri.Method != "GET" || ri.Route != "/api/v2/externalcontacts/contacts/{id}" || ri.Status != 200 || ri.Err != nil ||
		ri.Duration != 250*time.Millisecond || ri.Throttled || ri.Attempt != 1 || ri.RateLimit.Count != 3 || ri.RateLimit.Reset != 10*time.Second {
		t.Errorf("info = %+v", ri)
	}
}

func TestCancelledContextBeforeSend(t *testing.T) {
	f := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := f.client.Tokens.Me(ctx)
	if err == nil || IsAmbiguous(err) {
		t.Errorf("err = %v, ambiguous %v", err, IsAmbiguous(err))
	}
}

func BenchmarkDecodeScanPage(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"entities":[`)
	for i := range 200 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"id":"3f1c2d4e-0000-4000-8000-00000000000` + string(rune('0'+i%10)) + `","firstName":"Ann","lastName":"Lee",` +
			`"workEmail":"ann@example.com","cellPhone":{"display":"+1 704-298-4733","e164":"+17042984733","countryCode":"US"},` +
			`"address":{"address1":"1 Main St","city":"Raleigh","state":"NC","postalCode":"27601"},"type":"Curated",` +
			`"modifyDate":"2026-05-01T10:00:00.000Z","createDate":"2026-01-01T00:00:00.000Z","division":{"id":"d","name":"Home"}}`)
	}
	sb.WriteString(`],"cursors":{"after":"abc"}}`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var p ScanPage
		if err := decodeJSON(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientGet measures a full Get through every transport layer
// (retry, limiter, auth, meter) against a local server.
func BenchmarkClientGet(b *testing.B) {
	f := setup(b, func(c *Config) { c.RatePerMinute = 1 << 30; c.Logger = nil })
	f.mux.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("inin-ratelimit-count", "1")
		w.Header().Set("inin-ratelimit-allowed", "1000000")
		w.Header().Set("inin-ratelimit-reset", "60")
		writeJSON(w, 200, `{"id":"a","firstName":"Ann","workEmail":"ann@example.com"}`)
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.client.Contacts.Get(b.Context(), "a"); err != nil {
			b.Fatal(err)
		}
	}
}
