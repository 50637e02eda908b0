package engine_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testclock"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// Tests of what a real tenant's first run differs in from the sandbox's
// old defaults (issue 14): activity lookback, expired scan cursors, missing
// permissions, unconfirmed batch limits, 422 merges.

// syncLog is a log sink safe for concurrent writes.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loggingClient is a ClientFunc for o whose client logs to logs.
func loggingClient(o *testorg.Org, logs *syncLog) engine.ClientFunc {
	return func(observe func(genesys.RequestInfo)) (*genesys.Client, error) {
		return genesys.NewClient(context.Background(), genesys.Config{
			Region: o.URL, ClientID: "sandbox-client", ClientSecret: "sandbox-secret", RatePerMinute: o.Rate,
			Observer: observe, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		})
	}
}

// TestOpenConversationTenDaysOldQuarantines: an email or messaging
// conversation opened 10 days ago and still open is found by the default
// 30-day lookback (the analytics query only returns conversations that
// started in its interval, which the old 7-day lookback missed), so its
// group is quarantined in preflight, before any merge is sent.
func TestOpenConversationTenDaysOldQuarantines(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 300, 5, -1
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	groups := testorg.Seed(t, st, o)
	if len(groups) < 2 {
		t.Fatalf("%d groups", len(groups))
	}
	busy := groups[0]
	o.SB.AddActivity(sandbox.Activity{ExternalContactID: busy.Members[0], ConversationID: "conv-email-10d", Start: time.Now().Add(-10 * 24 * time.Hour)})
	ctx := context.Background()

	// The old lookback cannot see it; the default does.
	old, err := engine.New(st, engine.Config{ActivityLookback: 7 * 24 * time.Hour}, o.NewClient)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := old.DryRun(ctx); err != nil || rep.Quarantine[busy.ID] != "" {
		t.Fatalf("7-day lookback: %v, quarantine %v (the conversation started before the interval)", err, rep.Quarantine)
	}
	if d := engine.DefaultConfig().ActivityLookback; d != 30*24*time.Hour {
		t.Errorf("default ActivityLookback = %s, want 30 days", d)
	}
	p := newPipeline(t, st, o, "w1", engine.Config{})
	if _, err := p.eng.Run(ctx, p.jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	g, err := st.Group(ctx, busy.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.State != cm.StateQuarantined || !strings.Contains(g.Reason, "conv-email-10d") {
		t.Errorf("busy group %s (%s), want quarantined for conv-email-10d", g.State, g.Reason)
	}
	if n := o.SB.Stats().Requests["POST /api/v2/externalcontacts/contacts/merge"][http.StatusConflict]; n != 0 {
		t.Errorf("%d merges refused with 409: the activity was found only by merging", n)
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)
}

// TestActivityLookbackRange: a lookback over the 31 days one filtered
// analytics query may span is refused, naming the field.
func TestActivityLookbackRange(t *testing.T) {
	st := testorg.OpenStore(t, testdb.SQLite(t))
	o := testorg.New(t, sandbox.Config{})
	for _, d := range []time.Duration{32 * 24 * time.Hour, -time.Hour} {
		_, err := engine.New(st, engine.Config{ActivityLookback: d}, o.NewClient)
		if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), "ActivityLookback") || !strings.Contains(err.Error(), "31 days") {
			t.Errorf("lookback %s: %v", d, err)
		}
	}
	if _, err := engine.New(st, engine.Config{ActivityLookback: engine.MaxActivityLookback}, o.NewClient); err != nil {
		t.Errorf("31 days: %v", err)
	}
}

// TestScanRestartsAfterCursorExpiry: a scan interrupted and resumed more
// than 24 hours later (the platform's cursor lifetime) gets its cursor
// refused, says so, and walks again from the first page: it completes with
// every contact stored once.
func TestScanRestartsAfterCursorExpiry(t *testing.T) {
	clk := testclock.New(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit, cfg.Now = 95, 2, -1, clk.Now
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	api := o.Client(t, nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Batch 1: each page is saved alone, so the scan stops right after page 3.
	_, err := engine.Scan(ctx, api, st, engine.ScanOptions{PageSize: 10, Batch: 1, Progress: func(s cm.ScanState) {
		if s.Pages == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted scan: %v", err)
	}
	saved, _ := st.ScanState(context.Background(), engine.DefaultScanName)
	if saved.Pages != 3 || saved.Cursor == "" {
		t.Fatalf("saved %+v, want 3 pages and a cursor", saved)
	}

	clk.Advance(25 * time.Hour)
	logs := &syncLog{}
	var restarts []engine.ScanRestart
	state, err := engine.Scan(context.Background(), api, st, engine.ScanOptions{
		PageSize: 10, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		OnRestart: func(r engine.ScanRestart) { restarts = append(restarts, r) },
	})
	if err != nil {
		t.Fatalf("resumed scan: %v", err)
	}
	n, _ := st.CountContacts(context.Background())
	if !state.Done || int(state.Contacts) != o.SB.Len() || int(n) != o.SB.Len() {
		t.Errorf("state %+v, %d stored; want done with all %d contacts once", state, n, o.SB.Len())
	}
	if len(restarts) != 1 || restarts[0].N != 1 || restarts[0].PagesReread != 3 || restarts[0].ContactsReread != 30 ||
		!errors.Is(restarts[0].Err, genesys.ErrCursorExpired) {
		t.Errorf("restarts = %+v, want one after 3 pages (30 contacts)", restarts)
	}
	if !strings.Contains(logs.String(), "the saved cursor has expired") || !strings.Contains(logs.String(), "pages_reread=3") {
		t.Errorf("no clear log line:\n%s", logs)
	}
	if got := o.SB.Stats().Requests["GET /api/v2/externalcontacts/scan/contacts"][http.StatusBadRequest]; got != 1 {
		t.Errorf("%d refused scan requests, want 1", got)
	}
}

// TestRunStopsWithoutMergePermission: a client whose role lacks
// externalContacts:identity:merge gets 403 on its first merges; the run
// stops at once with an error naming the permission, and no group is
// marked failed: they stay approved or ready for the next run.
// CheckPermissions finds the same before any merge is sent.
func TestRunStopsWithoutMergePermission(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 400, 9, -1
	cfg.Permissions = slices.DeleteFunc(sandbox.AllPermissions(), func(p string) bool { return p == sandbox.PermIdentityMerge })
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	groups := testorg.Seed(t, st, o)
	ctx := context.Background()

	p := newPipeline(t, st, o, "w1", engine.Config{})
	err := p.eng.CheckPermissions(ctx)
	if !errors.Is(err, engine.ErrForbidden) || !errors.Is(err, genesys.ErrForbidden) || !strings.Contains(err.Error(), "externalContacts:identity:merge") {
		t.Fatalf("CheckPermissions = %v", err)
	}
	if strings.Contains(err.Error(), "read contacts") || strings.Contains(err.Error(), "conversation") {
		t.Errorf("CheckPermissions names held permissions: %v", err)
	}
	if ops := o.SB.Oplog(); len(ops) != 0 {
		t.Fatalf("CheckPermissions changed the platform: %v", ops)
	}

	done := make(chan struct{})
	var sum engine.Summary
	go func() {
		defer close(done)
		sum, err = p.eng.Run(ctx, p.jc, engine.RunOptions{})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop after the 403")
	}
	if !errors.Is(err, engine.ErrForbidden) || !errors.Is(err, genesys.ErrForbidden) {
		t.Fatalf("Run = %v, want ErrForbidden", err)
	}
	for _, want := range []string{"merge contacts", "externalContacts:identity:merge", "403 missing.permissions"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	counts, _ := st.CountByState(ctx)
	if counts[cm.StateFailed] != 0 || counts[cm.StateInFlight] != 0 || counts[cm.StateUnknown] != 0 || counts[cm.StateMerged] != 0 {
		t.Errorf("states after the 403: %v (summary %v); want every group approved or ready", counts, sum.Counts)
	}
	if counts[cm.StateApproved]+counts[cm.StateReady] != len(groups) {
		t.Errorf("states %v, want all %d groups approved or ready", counts, len(groups))
	}
	sent := o.SB.Stats().Requests["POST /api/v2/externalcontacts/contacts/merge"][http.StatusForbidden]
	t.Logf("Run: %v; states %v; %d merges refused", err, counts, sent)
	if sent < 2 || sent > engine.DefaultConfig().Concurrency.Max+1 { // the probe's, then one per merge already under way
		t.Errorf("%d merges refused, want the first few only", sent)
	}
	if ops := o.SB.Oplog(); len(ops) != 0 {
		t.Errorf("the platform changed: %v", ops)
	}
}

// TestPreflightHalvesBulkReads: a platform taking 40 ids per bulk read
// (fewer than the 100 assumed) refuses preflight's first batch; the client
// halves until a batch is accepted, every group still merges, and the size
// that worked is logged once.
func TestPreflightHalvesBulkReads(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit, cfg.MaxBulkIDs, cfg.MaxAnalyticsPredicates = 600, 4, -1, 40, 40
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	groups := testorg.Seed(t, st, o)
	logs := &syncLog{}
	eng, err := engine.New(st, engine.Config{Owner: "w1"}, loggingClient(o, logs))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.ID)
	}
	ctx := context.Background()
	res, err := eng.Preflight(ctx, ids[:min(len(ids), 100)])
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	if len(res.Ready) == 0 {
		t.Fatal("nothing ready")
	}
	if got := eng.Client().Contacts.BulkSize(); got != 25 {
		t.Errorf("bulk size %d, want 25", got)
	}
	for _, line := range []string{"using 25 ids per bulk read from now on", "using 25 contact ids per analytics query from now on"} {
		if n := strings.Count(logs.String(), line); n != 1 {
			t.Errorf("%q logged %d times, want once", line, n)
		}
	}
	jc, err := st.NewJobClient(eng.RiverConfig(river.Config{FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Run(ctx, jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)
	for _, line := range []string{"using 25 ids per bulk read from now on", "using 25 contact ids per analytics query from now on"} {
		if n := strings.Count(logs.String(), line); n != 1 {
			t.Errorf("after the run, %q logged %d times, want once", line, n)
		}
	}
}

// TestMerge422: a merge the platform answers 422 payload.or.params.invalid
// fails its group with the platform's message (here: two members already
// in one merge set), except when the nested error is a not.found (a member
// deleted since preflight): that group goes back to preflight, like a 404.
func TestMerge422(t *testing.T) {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 300, 6, -1
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	groups := testorg.Seed(t, st, o)
	var two, three []cm.Group // groups of two members, of three or more
	for _, g := range groups {
		if len(g.Members) == 2 {
			two = append(two, g)
		} else {
			three = append(three, g)
		}
	}
	if len(two) == 0 || len(three) == 0 {
		t.Fatalf("%d groups of two, %d larger", len(two), len(three))
	}
	ctx := context.Background()
	eng, err := engine.New(st, engine.Config{Owner: "w1"}, o.NewClient)
	if err != nil {
		t.Fatal(err)
	}
	gone, joined := two[0], three[0]
	if _, err := eng.Preflight(ctx, []string{gone.ID, joined.ID}); err != nil {
		t.Fatal(err)
	}
	api := o.Client(t, nil)
	// After preflight, on the platform: a member of one group is deleted,
	// two members of the other are merged together.
	req, _ := api.NewRequest(ctx, http.MethodDelete, "/api/v2/externalcontacts/contacts/"+gone.Members[1], nil)
	if _, err := api.Do(req, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.Contacts.Merge(ctx, &genesys.MergeRequest{ContactIDs: joined.Members[:2]}); err != nil {
		t.Fatal(err)
	}

	out, err := eng.Execute(ctx, gone.ID)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := st.Group(ctx, gone.ID)
	if out.State != cm.StateApproved || g.State != cm.StateApproved || !slices.Contains(out.Enqueue, gone.ID) {
		t.Errorf("422 not.found: outcome %+v, group %s (%s); want approved again, for preflight", out, g.State, g.Reason)
	}

	out, err = eng.Execute(ctx, joined.ID)
	if err != nil {
		t.Fatal(err)
	}
	g, _ = st.Group(ctx, joined.ID)
	if out.State != cm.StateFailed || g.State != cm.StateFailed ||
		!strings.Contains(g.Reason, "422 payload.or.params.invalid") || !strings.Contains(g.Reason, "already in the same merge set") {
		t.Errorf("422: outcome %+v, group %s (%s); want failed with the platform's message", out, g.State, g.Reason)
	}
	st422 := o.SB.Stats().Requests["POST /api/v2/externalcontacts/contacts/merge"][http.StatusUnprocessableEntity]
	if st422 != 2 {
		t.Errorf("%d merges answered 422, want 2", st422)
	}
}

// TestRunStopsWithoutReadPermission: a client that may scan (the legacy
// relate:contact:view) but not bulk-read contacts (externalContacts:
// contact:view) is refused in preflight and when verifying a group found in
// flight; either stops the run with the permission named, and no group
// changes state for it.
func TestRunStopsWithoutReadPermission(t *testing.T) {
	for _, inFlight := range []bool{false, true} {
		name := "preflight"
		if inFlight {
			name = "verify"
		}
		t.Run(name, func(t *testing.T) {
			cfg := sandbox.DefaultConfig()
			cfg.Contacts, cfg.Seed, cfg.RateLimit = 200, 3, -1
			cfg.Permissions = slices.DeleteFunc(sandbox.AllPermissions(), func(p string) bool { return p == sandbox.PermContactView })
			o := testorg.New(t, cfg)
			st := testorg.OpenStore(t, testdb.SQLite(t))
			groups := testorg.Seed(t, st, o)
			ctx := context.Background()
			want := map[string]cm.GroupState{}
			for i, g := range groups {
				want[g.ID] = cm.StateApproved
				if !inFlight {
					continue
				}
				// One group found in flight (as after a crash), the others
				// rejected: only verification reads.
				steps := []cm.GroupState{cm.StateRejected}
				if i == 0 {
					steps = []cm.GroupState{cm.StateReady, cm.StateInFlight}
				}
				from := cm.StateApproved
				for _, to := range steps {
					if _, err := st.Transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{from}, To: to, Actor: "test"}); err != nil {
						t.Fatal(err)
					}
					from = to
				}
				want[g.ID] = from
			}
			p := newPipeline(t, st, o, "w1", engine.Config{})
			_, err := p.eng.Run(ctx, p.jc, engine.RunOptions{})
			if !errors.Is(err, engine.ErrForbidden) || !strings.Contains(err.Error(), "may not read contacts: it needs the permission externalContacts:contact:view") {
				t.Fatalf("Run = %v", err)
			}
			for id, state := range want {
				if g, _ := st.Group(ctx, id); g.State != state {
					t.Errorf("group %s %s (%s), want %s", id, g.State, g.Reason, state)
				}
			}
			if ops := o.SB.Oplog(); len(ops) != 0 {
				t.Errorf("the platform changed: %v", ops)
			}
			route := "POST /api/v2/externalcontacts/bulk/contacts"
			if inFlight {
				route += "/unresolved"
			}
			if n := o.SB.Stats().Requests[route][http.StatusForbidden]; n == 0 {
				t.Errorf("no 403 on %s", route)
			}
		})
	}
}
