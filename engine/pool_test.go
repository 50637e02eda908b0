package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestPoolCarriesOnWithoutAForbiddenClient: of a pool of two OAuth clients,
// one lacks the merge permission. The permission check leaves it out
// instead of failing, the run merges every group exactly once with the
// other, and the forbidden client sends no merge.
func TestPoolCarriesOnWithoutAForbiddenClient(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 600, 11, -1
	noMerge := []string{sandbox.PermContactView, sandbox.PermConversationDetailView}
	cfg.Clients = []sandbox.Client{{ID: "reader", Secret: "reader-secret", Permissions: noMerge}}
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	groups := testorg.Seed(t, st, o)
	eng, err := engine.NewWithPool(st, engine.Config{Owner: "w1", VerifySettle: time.Second}, func(obs func(genesys.RequestInfo)) (*genesys.Pool, error) {
		member := func(name, id, secret string) genesys.PoolMember {
			return genesys.PoolMember{Name: name, Config: genesys.Config{Region: o.URL, ClientID: id, ClientSecret: secret, Observer: obs}}
		}
		return genesys.NewPool(context.Background(), genesys.PoolConfig{},
			member("reader", "reader", "reader-secret"), member("default", "sandbox-client", "sandbox-secret"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.CheckPermissions(t.Context()); err != nil {
		t.Fatalf("CheckPermissions with one capable client of two: %v", err)
	}
	if ps := eng.Pool().State(); !ps[0].Forbidden || ps[1].Forbidden {
		t.Fatalf("pool state after the check: %+v", ps)
	}
	jc, err := st.NewJobClient(eng.RiverConfig(river.Config{FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Run(t.Context(), jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)
	stats := o.SB.Stats()
	if n := stats.Requests["POST /api/v2/externalcontacts/contacts/merge"][403]; n != 1 {
		t.Errorf("%d merges answered 403, want 1 (the check's probe): the forbidden client was used", n)
	}
	if r := stats.Clients["reader"]; r.Forbidden != 1 {
		t.Errorf("reader client: %+v, want only the permission probe's 403", r)
	}
}

// TestPoolForbiddenMidRun: a client that loses the merge permission during
// the run (its 403s come from real merges, not the check) is left out and
// the other client merges what it could not; the run does not stop.
func TestPoolForbiddenMidRun(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 600, 12, -1
	noMerge := []string{sandbox.PermContactView, sandbox.PermConversationDetailView}
	cfg.Clients = []sandbox.Client{{ID: "reader", Secret: "reader-secret", Permissions: noMerge}}
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	groups := testorg.Seed(t, st, o)
	eng, err := engine.NewWithPool(st, engine.Config{Owner: "w1", VerifySettle: time.Second}, func(obs func(genesys.RequestInfo)) (*genesys.Pool, error) {
		member := func(name, id, secret string) genesys.PoolMember {
			return genesys.PoolMember{Name: name, Config: genesys.Config{Region: o.URL, ClientID: id, ClientSecret: secret, Observer: obs}}
		}
		return genesys.NewPool(context.Background(), genesys.PoolConfig{},
			member("default", "sandbox-client", "sandbox-secret"), member("reader", "reader", "reader-secret"))
	})
	if err != nil {
		t.Fatal(err)
	}
	jc, err := st.NewJobClient(eng.RiverConfig(river.Config{FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Run(t.Context(), jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)
	if ps := eng.Pool().State(); !ps[1].Forbidden || ps[0].Forbidden {
		t.Errorf("pool state: %+v", ps)
	}
	if r := o.SB.Stats().Clients["reader"]; r.Forbidden == 0 || r.Forbidden > 10 {
		t.Errorf("reader client answered 403 %d times, want a few (then left out)", r.Forbidden)
	}
}
