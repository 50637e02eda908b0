package genesys_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testclock"
	"github.com/contactmerge/contactmerge/sandbox"
)

// poolSandbox serves a sandbox with the default client and "second", and
// returns pool members for both (secondSecret as the second's secret).
func poolSandbox(t *testing.T, mod func(*sandbox.Config), secondSecret string) (*sandbox.Sandbox, []genesys.PoolMember) {
	t.Helper()
	cfg := sandbox.DefaultConfig()
	cfg.Load = strings.NewReader(contactsJSONL)
	cfg.RateLimit = 6000
	cfg.Clients = []sandbox.Client{{ID: "second", Secret: "second-secret"}}
	if mod != nil {
		mod(&cfg)
	}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	hc := &http.Client{Transport: handlerTransport{sb}}
	return sb, []genesys.PoolMember{
		{Name: "default", Config: genesys.Config{Region: "http://sandbox.test", ClientID: "sandbox-client", ClientSecret: "sandbox-secret", HTTPClient: hc, MaxRetries: -1}},
		{Name: "second", Config: genesys.Config{Region: "http://sandbox.test", ClientID: "second", ClientSecret: secondSecret, HTTPClient: hc, MaxRetries: -1}},
	}
}

// TestPoolSpreadsRequests: two healthy clients share the work evenly.
func TestPoolSpreadsRequests(t *testing.T) {
	sb, members := poolSandbox(t, nil, "second-secret")
	p, err := genesys.NewPool(t.Context(), genesys.PoolConfig{}, members...)
	if err != nil {
		t.Fatal(err)
	}
	for range 40 {
		if _, _, err := p.Pick().Tokens.Me(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	st := sb.Stats().Clients
	if st["sandbox-client"].Requests != 20 || st["second"].Requests != 20 {
		t.Errorf("requests by client: %d and %d, want 20 each", st["sandbox-client"].Requests, st["second"].Requests)
	}
	if ps := p.State(); ps[0].Picks != 20 || ps[1].Picks != 20 || ps[1].Name != "second" || ps[1].ClientID != "second" {
		t.Errorf("pool state %+v", ps)
	}
}

// TestPoolBenchesAStormingClient: a client whose credentials are refused
// (every request a refused token request) is benched after five in a row;
// the other one carries on alone until the bench ends, and a client that
// storms again right after is benched twice as long.
func TestPoolBenchesAStormingClient(t *testing.T) {
	sb, members := poolSandbox(t, nil, "wrong-secret")
	clock := testclock.New(time.Time{})
	p, err := genesys.NewPool(t.Context(), genesys.PoolConfig{Now: clock.Now}, members...)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for range 40 {
		if _, _, err := p.Pick().Tokens.Me(t.Context()); err != nil {
			var ae *genesys.AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v", err)
			}
			failed++
		}
	}
	if failed != genesys.DefaultStormAfter {
		t.Errorf("%d requests failed, want %d (then the client is benched)", failed, genesys.DefaultStormAfter)
	}
	if n := sb.Stats().Clients["sandbox-client"].Requests; n != 40-failed {
		t.Errorf("the healthy client sent %d, want %d", n, 40-failed)
	}
	ps := p.State()
	if want := clock.Now().Add(genesys.DefaultBenchFor); !ps[1].BenchedUntil.Equal(want) {
		t.Errorf("benched until %v, want %v", ps[1].BenchedUntil, want)
	}
	// After the bench it is tried again; a second storm doubles the bench.
	clock.Advance(genesys.DefaultBenchFor)
	for range 20 {
		_, _, _ = p.Pick().Tokens.Me(t.Context())
	}
	if ps := p.State(); !ps[1].BenchedUntil.Equal(clock.Now().Add(2 * genesys.DefaultBenchFor)) {
		t.Errorf("second bench until %v, want %v", ps[1].BenchedUntil, clock.Now().Add(2*genesys.DefaultBenchFor))
	}
}

// TestPoolForbid: a client forbidden for good is never picked again while
// another remains; Forbid says when none does.
func TestPoolForbid(t *testing.T) {
	_, members := poolSandbox(t, nil, "second-secret")
	p, err := genesys.NewPool(context.Background(), genesys.PoolConfig{}, members...)
	if err != nil {
		t.Fatal(err)
	}
	first := p.Clients()[0]
	if !p.Forbid(first) {
		t.Fatal("Forbid of one of two says none remains")
	}
	for range 5 {
		if c := p.Pick(); c == first || p.Name(c) != "second" {
			t.Fatalf("picked %q", p.Name(c))
		}
	}
	if p.Forbid(p.Clients()[1]) {
		t.Error("Forbid of the last says another remains")
	}
	// Names and ids must be unique.
	if _, err := genesys.NewPool(context.Background(), genesys.PoolConfig{}, members[0], members[0]); err == nil || !strings.Contains(err.Error(), `"default" is used twice`) {
		t.Errorf("duplicate name: %v", err)
	}
	dup := members[1]
	dup.Config.ClientID = "sandbox-client"
	if _, err := genesys.NewPool(context.Background(), genesys.PoolConfig{}, members[0], dup); err == nil || !strings.Contains(err.Error(), "same OAuth client id") {
		t.Errorf("duplicate id: %v", err)
	}
}
