// Package testorg sets up what the engine and end-to-end tests share: a
// sandbox organization on a real HTTP server, a store seeded from it with one
// approved group per true duplicate cluster, and the exactly-once check of a
// run's outcome against the sandbox's oplog.
package testorg

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// Org is a sandbox organization served over HTTP on loopback.
type Org struct {
	SB  *sandbox.Sandbox
	URL string
	// Rate is the client-side rate (requests per minute) tests give their
	// clients; it matches the sandbox's limit, or is large when unlimited.
	Rate int
}

// New starts a sandbox with cfg on an httptest server closed at cleanup.
func New(t testing.TB, cfg sandbox.Config) *Org {
	t.Helper()
	return NewWrapped(t, cfg, nil)
}

// NewWrapped is New with the sandbox's handler wrapped by wrap (nil: none),
// for tests that script answers the sandbox does not give by itself.
func NewWrapped(t testing.TB, cfg sandbox.Config, wrap func(http.Handler) http.Handler) *Org {
	t.Helper()
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = sb
	if wrap != nil {
		h = wrap(sb)
	}
	srv := httptest.NewServer(h)
	// Cleanups run last-in first-out: the server closes first, then Close
	// waits for merges still completing in the background.
	t.Cleanup(func() { _ = sb.Close() })
	t.Cleanup(srv.Close)
	rate := cfg.RateLimit
	if rate <= 0 {
		rate = 100000
	}
	return &Org{SB: sb, URL: srv.URL, Rate: rate}
}

// Env returns the environment variables that point contactmerge at o.
func (o *Org) Env() []string {
	return []string{"GENESYSCLOUD_REGION=" + o.URL, "GENESYSCLOUD_OAUTHCLIENT_ID=sandbox-client", "GENESYSCLOUD_OAUTHCLIENT_SECRET=sandbox-secret"}
}

// Client returns an API client for o; observe may be nil.
func (o *Org) Client(t testing.TB, observe func(genesys.RequestInfo)) *genesys.Client {
	t.Helper()
	api, err := o.NewClient(observe)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// NewClient returns an API client for o with observe as its observer (nil:
// none). It fits engine.New.
func (o *Org) NewClient(observe func(genesys.RequestInfo)) (*genesys.Client, error) {
	return genesys.NewClient(context.Background(), genesys.Config{
		Region: o.URL, ClientID: "sandbox-client", ClientSecret: "sandbox-secret", RatePerMinute: o.Rate, Observer: observe,
	})
}

// OpenStore opens dsn and closes it at cleanup.
func OpenStore(t testing.TB, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn, store.Options{Normalizer: match.NormalizerFunc(match.DefaultConfig())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Seed scans o into st and saves one approved group per true cluster, with
// survivorship computed by the matcher's policy. The engine is tested apart
// from the matcher this way.
func Seed(t testing.TB, st store.Store, o *Org) []cm.Group {
	t.Helper()
	ctx := context.Background()
	if _, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	var groups []cm.Group
	for _, cluster := range o.SB.Truth() {
		cs, err := st.Contacts(ctx, cluster)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != len(cluster) {
			continue // a member hidden from the scan
		}
		groups = append(groups, PlanGroup(cluster, cs))
	}
	Approve(t, st, groups)
	return groups
}

// PlanGroup builds a proposed group over ids with the default survivorship.
func PlanGroup(ids []string, contacts map[string]cm.Contact) cm.Group {
	ids = cm.SortedIDs(ids)
	members := make([]cm.Contact, len(ids))
	for i, id := range ids {
		members[i] = contacts[id]
	}
	surv, merged, unkept := match.Survive(members, match.DefaultConfig().Survivor)
	return cm.Group{ID: cm.GroupID(ids), Members: ids, SurvivorID: surv, Merged: merged, Unkept: unkept, Confidence: 1, State: cm.StateProposed}
}

// Approve saves groups as the proposals of a match run (groups not among
// them are superseded) and approves those that are proposed.
func Approve(t testing.TB, st store.Store, groups []cm.Group) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.SaveProposals(ctx, groups, "test"); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		cur, err := st.Group(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.State != cm.StateProposed {
			continue // approved before (SaveProposals keeps decisions)
		}
		_, err = st.Transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateProposed}, To: cm.StateApproved, Actor: "test",
			Decision: &cm.Decision{GroupID: g.ID, Approve: true, Actor: "test", At: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Final follows mergedTo from id to the contact it resolves to now.
func (o *Org) Final(id string) string {
	c, ok := o.SB.Contact(id)
	for ok && c.IsMerged() {
		c, ok = o.SB.Contact(c.MergedTo.ID)
	}
	return c.ID
}

// CheckExactlyOnce asserts the outcome the issue demands of a run: every
// group without activity merged by the expected number of effective merges
// (one for groups of at most maxPer), whose inputs are its members; no
// contact in two merges; every group with activity quarantined; and the
// ledger agreeing with the platform's oplog (CheckLedgerMerges: each
// platform merge recorded exactly once with its inputs, as a 2xx API row or
// a verification note, and nothing recorded that the platform did not do).
func CheckExactlyOnce(t testing.TB, st store.Store, o *Org, groups []cm.Group, maxPer int) {
	t.Helper()
	ctx := context.Background()
	active := map[string]bool{}
	for _, id := range o.SB.ActiveContacts() {
		active[id] = true
	}
	inputs := map[string]int{}
	byResult := map[string]sandbox.Op{}
	for _, op := range o.SB.Oplog() {
		if op.Op != "merge" {
			continue
		}
		byResult[op.Result] = op
		for _, id := range op.Resolved {
			inputs[id]++
		}
	}
	for id, n := range inputs {
		if n > 1 {
			t.Errorf("contact %s took part in %d merges", id, n)
		}
	}
	wantMerges := 0
	for _, g0 := range groups {
		g, err := st.Group(ctx, g0.ID)
		if err != nil {
			t.Fatal(err)
		}
		busy := slices.ContainsFunc(g.Members, func(id string) bool { return active[id] })
		switch {
		case busy && g.State != cm.StateQuarantined:
			t.Errorf("group %s has a busy member but ended %s (%s)", g.ID, g.State, g.Reason)
		case !busy && g.State != cm.StateMerged:
			t.Errorf("group %s ended %s (%s), want merged", g.ID, g.State, g.Reason)
		case !busy:
			wantMerges += engine.Rounds(len(g.Members), maxPer)
			op, ok := byResult[g.CanonicalID]
			if !ok {
				t.Errorf("group %s: canonical %s is no merge result on the platform", g.ID, g.CanonicalID)
				continue
			}
			if len(g.Members) <= maxPer && !slices.Equal(cm.SortedIDs(op.Resolved), g.Members) {
				t.Errorf("group %s: platform merged %v, want %v", g.ID, op.Resolved, g.Members)
			}
		}
	}
	if len(byResult) != wantMerges {
		t.Errorf("platform applied %d merges, want %d", len(byResult), wantMerges)
	}
	CheckLedgerMerges(t, st, o)
}

// CheckLedgerMerges asserts that the ledger records every merge the
// platform applied exactly once (engine.AppliedMerges: a 2xx API row or a
// verification note), with the inputs the platform merged, and records no
// merge the platform did not apply.
func CheckLedgerMerges(t testing.TB, st store.Store, o *Org) {
	t.Helper()
	byResult := map[string]sandbox.Op{}
	for _, op := range o.SB.Oplog() {
		if op.Op == "merge" {
			byResult[op.Result] = op
		}
	}
	applied, err := engine.AppliedMerges(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]int{}
	for _, m := range applied {
		recorded[m.Result]++
		op, ok := byResult[m.Result]
		if !ok {
			t.Errorf("the ledger records a merge → %s that the platform never applied", m.Result)
			continue
		}
		if !slices.Equal(cm.SortedIDs(m.Inputs), cm.SortedIDs(op.Inputs)) {
			t.Errorf("ledger row %d: merge → %s of %v, the platform merged %v", m.Seq, m.Result, m.Inputs, op.Inputs)
		}
	}
	for res := range byResult {
		if recorded[res] != 1 {
			t.Errorf("platform merge → %s recorded %d times in the ledger, want 1", res, recorded[res])
		}
	}
}

// Requests sums the sandbox's /api/v2 requests (login and test-only
// endpoints excluded).
func Requests(s sandbox.Stats) int {
	n := 0
	for route, byStatus := range s.Requests {
		if route == "POST /oauth/token" || len(route) >= 8 && route[:8] == "/sandbox" {
			continue
		}
		for _, c := range byStatus {
			n += c
		}
	}
	return n
}

// DumpLedger logs the ledger rows of the given groups (all when none), for
// diagnosing a failed test.
func DumpLedger(t testing.TB, st store.Store, groupIDs ...string) {
	t.Helper()
	_ = st.Ledger(context.Background(), cm.LedgerFilter{}, func(ev cm.LedgerEvent) error {
		if len(groupIDs) == 0 || slices.Contains(groupIDs, ev.GroupID) {
			t.Logf("%s %-10s %s %s→%s %d %s %s", ev.At.Format("15:04:05.000"), ev.Kind, ev.GroupID, ev.From, ev.To, ev.Status, ev.Request, ev.Detail)
		}
		return nil
	})
}

// EnvSize reads a positive size (of an organization, a number of seeds)
// from the environment variable name, def when it is unset; anything else
// fails the test. Figure tests take their full size from it.
func EnvSize(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q is not a positive number", name, v)
	}
	return n
}
