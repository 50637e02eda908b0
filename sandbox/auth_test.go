package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenAs asks for a token with the raw credentials id:secret (the way the
// platform's SDKs encode them) and returns the status and the token.
func (e *env) tokenAs(id, secret string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	r := readResp(e.t, resp)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(r.body, &tok)
	return r.status, tok.AccessToken
}

// x2Token asks for a token the way golang.org/x/oauth2/clientcredentials
// does with AuthStyleInHeader: id and secret percent-escaped before base64.
func (e *env) x2Token(id, secret string) (*oauth2.Token, error) {
	conf := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: e.srv.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
	return conf.Token(context.Background())
}

// TestTokenCredentialsRaw: the token endpoint decodes Basic credentials as
// the SDKs encode them (GO configuration.go, PY api_client.py:
// base64(id:secret), raw). A secret with +, / or = differs once
// percent-escaped, so golang.org/x/oauth2's AuthStyleInHeader form gets 401
// invalid_client, unless URLDecodeCredentials; a secret without such
// characters escapes to itself and works both ways.
func TestTokenCredentialsRaw(t *testing.T) {
	for _, secret := range []string{"s3cr+et", "s3/cret", "s3cret==", "a+b/c=d"} {
		cfg := DefaultConfig()
		cfg.ClientSecret = secret
		e := newEnv(t, cfg)
		if st, tok := e.tokenAs("sandbox-client", secret); st != 200 || tok == "" {
			t.Fatalf("%q raw: %d", secret, st)
		}
		_, err := e.x2Token("sandbox-client", secret)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != 401 || re.ErrorCode != "invalid_client" {
			t.Fatalf("%q percent-escaped: %v, want 401 invalid_client", secret, err)
		}
		if strings.Contains(string(re.Body), secret) || strings.Contains(string(re.Body), url.QueryEscape(secret)) {
			t.Fatalf("the secret is echoed: %s", re.Body)
		}
		// The escaped form sent raw is a wrong secret too.
		if st, _ := e.tokenAs("sandbox-client", url.QueryEscape(secret)); st != 401 {
			t.Fatalf("%q escaped, sent raw: %d", secret, st)
		}

		cfg.URLDecodeCredentials = true
		e2 := newEnv(t, cfg)
		if tok, err := e2.x2Token("sandbox-client", secret); err != nil || tok.AccessToken == "" {
			t.Fatalf("%q percent-escaped with URLDecodeCredentials: %v", secret, err)
		}
		if st, _ := e2.tokenAs("sandbox-client", secret); st != 200 {
			t.Fatalf("%q raw with URLDecodeCredentials: %d", secret, st)
		}
	}
	e := newEnv(t, DefaultConfig())
	if tok, err := e.x2Token("sandbox-client", "sandbox-secret"); err != nil || tok.AccessToken == "" {
		t.Fatalf("a secret that escapes to itself: %v", err)
	}
}

// TestSeveralClients: each OAuth client of Config.Clients has its own
// secret and rate limit; tokens/me names the client the token belongs to.
func TestSeveralClients(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit = 5
	cfg.Clients = []Client{{ID: "worker-b", Secret: "b+secret", RateLimit: 8}, {ID: "worker-c", Secret: "c-secret"}}
	e := newEnv(t, cfg)
	st, tb := e.tokenAs("worker-b", "b+secret")
	if st != 200 {
		t.Fatalf("worker-b: %d", st)
	}
	if st, _ := e.tokenAs("worker-b", "c-secret"); st != 401 {
		t.Fatalf("another client's secret: %d", st)
	}
	if st, _ := e.tokenAs("nobody", "b+secret"); st != 401 {
		t.Fatalf("unknown client: %d", st)
	}
	_, tc := e.tokenAs("worker-c", "c-secret")
	for tok, want := range map[string]struct {
		id, allowed string
	}{e.token: {"sandbox-client", "5"}, tb: {"worker-b", "8"}, tc: {"worker-c", "5"}} {
		r := e.doTok(tok, "GET", "/api/v2/tokens/me", nil)
		var ti struct {
			OAuthClient map[string]any `json:"OAuthClient"`
		}
		r.decode(t, &ti)
		if ti.OAuthClient["id"] != want.id || r.header.Get("inin-ratelimit-allowed") != want.allowed {
			t.Errorf("tokens/me of %s: %s allowed=%s", want.id, r.body, r.header.Get("inin-ratelimit-allowed"))
		}
		// TokenInfo has no permissions; neither has the sandbox's.
		if _, ok := ti.OAuthClient["permissions"]; ok || strings.Contains(string(r.body), "externalContacts:") {
			t.Errorf("tokens/me exposes permissions: %s", r.body)
		}
	}
	for i, mod := range []func(*Config){
		func(c *Config) { c.Clients = []Client{{ID: "", Secret: "x"}} },
		func(c *Config) { c.Clients = []Client{{ID: "x", Secret: ""}} },
		func(c *Config) { c.Clients = []Client{{ID: "sandbox-client", Secret: "x"}} },
		func(c *Config) { c.Clients = []Client{{ID: "x", Secret: "x"}, {ID: "x", Secret: "y"}} },
	} {
		c := DefaultConfig()
		mod(&c)
		want := []string{"Clients[0].ID is empty", "Clients[0].Secret is empty", `Clients[0].ID "sandbox-client" is already the id of ClientID`, `Clients[1].ID "x" is already the id of Clients[0]`}[i]
		if _, err := New(c); err == nil || err.Error() != "sandbox: "+want {
			t.Errorf("case %d: %v, want %s", i, err, want)
		}
	}
}

// TestPermissions: a client whose role lacks every permission a route
// accepts gets 403 missing.permissions naming them (message,
// messageWithParams, messageParams.permissions); tokens/me needs none.
func TestPermissions(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Permissions = []string{PermContactView}
	cfg.Clients = []Client{{ID: "none", Secret: "none-secret", Permissions: []string{}},
		{ID: "merger", Secret: "merger-secret", Permissions: []string{PermRelateContactView, PermIdentityMerge}}}
	e := loadEnv(t, cfg, simpleContacts(4))
	forbidden := func(tok, method, path string, body any, want ...string) {
		t.Helper()
		r := e.doTok(tok, method, path, body)
		b := r.errBody(t)
		if r.status != 403 || b.Status != 403 || b.Code != "missing.permissions" || b.ContextID == "" ||
			b.MessageParams["permissions"] != strings.Join(want, ", ") || !strings.Contains(b.Message, strings.Join(want, ", ")) ||
			!strings.Contains(b.MessageWithParams, "{permissions}") {
			t.Errorf("%s %s: %d %s, want 403 naming %v", method, path, r.status, r.body, want)
		}
	}
	merge := map[string]any{"contactIds": []string{"c0000", "c0001"}}
	bulk := map[string]any{"entities": []map[string]string{{"id": "c0000"}}}
	query := map[string]any{"interval": "2026-05-10T00:00:00Z/2026-05-15T00:00:00Z"}
	forbidden(e.token, "POST", "/api/v2/externalcontacts/contacts/merge", merge, PermIdentityMerge)
	forbidden(e.token, "POST", "/api/v2/externalcontacts/merge/contacts", map[string]string{"sourceContactId": "c0000", "targetContactId": "c0001"}, PermIdentityMerge)
	forbidden(e.token, "POST", "/api/v2/analytics/conversations/details/query", query, PermConversationDetailView, PermAgentConversationDetail)
	forbidden(e.token, "GET", "/api/v2/casemanagement/cases/externalcontacts/c0000", nil, PermCaseExternalContactView)
	forbidden(e.token, "GET", "/api/v2/externalcontacts/scan/contacts/divisionviews/all", nil, PermContactViewAll)
	forbidden(e.token, "DELETE", "/api/v2/externalcontacts/contacts/c0000", nil, PermContactDelete, PermRelateContactDelete)
	for _, p := range []string{"/api/v2/externalcontacts/scan/contacts", "/api/v2/externalcontacts/contacts", "/api/v2/externalcontacts/contacts/c0000",
		"/api/v2/externalcontacts/contacts/c0000/unresolved", "/api/v2/tokens/me"} {
		if r := e.do("GET", p, nil); r.status != 200 {
			t.Errorf("view client GET %s: %d", p, r.status)
		}
	}
	if r := e.do("POST", "/api/v2/externalcontacts/bulk/contacts", bulk); r.status != 200 {
		t.Errorf("view client bulk: %d", r.status)
	}

	_, none := e.tokenAs("none", "none-secret")
	forbidden(none, "GET", "/api/v2/externalcontacts/scan/contacts", nil, PermContactView, PermRelateContactView)
	forbidden(none, "POST", "/api/v2/externalcontacts/bulk/contacts", bulk, PermContactView)
	forbidden(none, "POST", "/api/v2/externalcontacts/identifierlookup/contacts", map[string]string{"type": "Email", "value": "p0000@example.com"}, PermContactView)
	if r := e.doTok(none, "GET", "/api/v2/tokens/me", nil); r.status != 200 {
		t.Errorf("tokens/me needs no permission: %d", r.status)
	}

	// The legacy relate:contact:view is enough for a search and a read, not
	// for the unresolved read, which takes only externalContacts:contact:view.
	_, merger := e.tokenAs("merger", "merger-secret")
	if r := e.doTok(merger, "GET", "/api/v2/externalcontacts/contacts/c0000", nil); r.status != 200 {
		t.Errorf("relate:contact:view GET: %d", r.status)
	}
	forbidden(merger, "GET", "/api/v2/externalcontacts/contacts/c0000/unresolved", nil, PermContactView)
	if r := e.doTok(merger, "POST", "/api/v2/externalcontacts/contacts/merge", merge); r.status != 200 {
		t.Errorf("merger merge: %d %s", r.status, r.body)
	}
	if len(e.sb.Oplog()) != 1 {
		t.Errorf("oplog %+v: a refused merge was applied", e.sb.Oplog())
	}
	st := e.sb.Stats()
	if st.Clients["sandbox-client"].Forbidden != 6 || st.Clients["none"].Forbidden != 3 || st.Clients["merger"].Forbidden != 1 ||
		st.Tokens["none#1"].Forbidden != 3 {
		t.Errorf("forbidden counts: %+v / %+v", st.Clients, st.Tokens)
	}
	// Default: every permission.
	e2 := loadEnv(t, DefaultConfig(), simpleContacts(2))
	if r := e2.merge([]string{"c0000", "c0001"}, nil); r.status != 200 {
		t.Errorf("default permissions: merge %d", r.status)
	}
	for _, c := range []Config{{Permissions: []string{"externalContacts:contacts:view"}}, {Clients: []Client{{ID: "x", Secret: "y", Permissions: []string{"merge"}}}}} {
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), "unknown permission") {
			t.Errorf("unknown permission accepted: %v", err)
		}
	}
}

// TestStatsPerClientAndToken: Stats count requests per token and per OAuth
// client, and each one's most requests within one rate-limit window, so a
// test can assert that no client exceeded its budget, even when it spread
// its requests over several tokens (each within its own limit).
func TestStatsPerClientAndToken(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit = 5
	cfg.Clients = []Client{{ID: "b", Secret: "b-secret", RateLimit: 10}, {ID: "idle", Secret: "idle-secret"}}
	cfg.Now = nil
	e := newEnv(t, cfg)
	a2 := e.fetchToken()
	_, b1 := e.tokenAs("b", "b-secret")
	for range 4 {
		e.do("GET", "/api/v2/tokens/me", nil)
		e.doTok(a2, "GET", "/api/v2/tokens/me", nil)
		e.clock.Advance(time.Second)
	}
	for range 12 {
		e.doTok(b1, "GET", "/api/v2/tokens/me", nil)
	}
	e.clock.Advance(time.Minute)
	for range 3 {
		e.do("GET", "/api/v2/tokens/me", nil)
	}
	if r := e.doTok("", "GET", "/api/v2/tokens/me", nil); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	var st Stats
	e.doTok("", "GET", "/sandbox/stats", nil).decode(t, &st)
	a, b := st.Clients["sandbox-client"], st.Clients["b"]
	if a.RateLimit != 5 || a.TokensIssued != 2 || a.Requests != 11 || a.MaxPerWindow != 8 || a.MaxPerTokenWindow != 4 || a.Throttled != 0 {
		t.Errorf("client a: %+v (8 requests in one window over two tokens of 4)", a)
	}
	if b.RateLimit != 10 || b.TokensIssued != 1 || b.Requests != 12 || b.MaxPerWindow != 12 || b.MaxPerTokenWindow != 12 || b.Throttled != 2 {
		t.Errorf("client b: %+v", b)
	}
	if idle, ok := st.Clients["idle"]; !ok || idle != (ClientStats{RateLimit: 5}) {
		t.Errorf("idle client: %+v %v", idle, ok)
	}
	want := map[string]TokenStats{
		"sandbox-client#1": {Client: "sandbox-client", Requests: 7, MaxPerWindow: 4},
		"sandbox-client#2": {Client: "sandbox-client", Requests: 4, MaxPerWindow: 4},
		"b#1":              {Client: "b", Requests: 12, Throttled: 2, MaxPerWindow: 12},
	}
	if len(st.Tokens) != len(want) {
		t.Errorf("tokens %+v", st.Tokens)
	}
	for k, w := range want {
		if st.Tokens[k] != w {
			t.Errorf("token %s: %+v, want %+v", k, st.Tokens[k], w)
		}
	}
	// Which clients went over their budget in some window.
	var over []string
	for id, c := range st.Clients {
		if c.RateLimit > 0 && c.MaxPerWindow > c.RateLimit {
			over = append(over, id)
		}
	}
	slices.Sort(over)
	if !slices.Equal(over, []string{"b", "sandbox-client"}) {
		t.Errorf("over budget: %v", over)
	}
	// Access tokens never appear in the stats.
	raw := e.doTok("", "GET", "/sandbox/stats", nil).body
	for _, tok := range []string{e.token, a2, b1} {
		if strings.Contains(string(raw), tok) {
			t.Fatal("an access token is in /sandbox/stats")
		}
	}
	// A revoked token stays in the stats.
	e.do("DELETE", "/api/v2/tokens/me", nil)
	if s := e.sb.Stats(); s.Tokens["sandbox-client#1"].Requests != 8 {
		t.Errorf("revoked token: %+v", s.Tokens)
	}
}
