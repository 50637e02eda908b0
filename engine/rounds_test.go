package engine_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// mergeFaults answers chosen merge requests (numbered from 1 in arrival
// order) with a 503 without passing them to the sandbox: not applied, but
// ambiguous to the client, as a real gateway's 503 is.
// Requests in blank are applied by the sandbox, but their 200 comes back
// with an empty object instead of the merged contact.
type mergeFaults struct {
	mu    sync.Mutex
	n     int
	fail  map[int]bool
	blank map[int]bool
}

func (f *mergeFaults) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v2/externalcontacts/contacts/merge" {
			f.mu.Lock()
			f.n++
			fail, blank := f.fail[f.n], f.blank[f.n]
			f.mu.Unlock()
			switch {
			case fail:
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"message":"service unavailable","code":"service.unavailable","status":503}`))
				return
			case blank:
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(rec.Code)
				_, _ = w.Write([]byte(`{}`))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func (f *mergeFaults) set(requests ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = map[int]bool{}
	for _, n := range requests {
		f.fail[n] = true
	}
}

// bigGroup scans o into st and approves one group of the first n contacts
// (the sandbox merges whatever it is asked to; they need not be duplicates).
func bigGroup(t *testing.T, st store.Store, o *testorg.Org, n int) cm.Group {
	t.Helper()
	ctx := context.Background()
	if _, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	err := st.EachContact(ctx, func(c *cm.Contact) error {
		if len(ids) < n {
			ids = append(ids, c.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := st.Contacts(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	g := testorg.PlanGroup(ids, cs)
	testorg.Approve(t, st, []cm.Group{g})
	return g
}

// checkRounds asserts, against the sandbox's oplog, that g's members were
// merged by rounds platform merges in all, none twice, into one contact
// (final; "" when the group is part-way), and that the ledger's applied
// merges map every merged member to the contact it resolves to now.
func checkRounds(t *testing.T, st store.Store, o *testorg.Org, g cm.Group, rounds int, final string) {
	t.Helper()
	ops := o.SB.Oplog()
	if len(ops) != rounds {
		t.Errorf("platform applied %d merges, want %d", len(ops), rounds)
	}
	seen := map[string]int{}
	for _, op := range ops {
		for _, id := range op.Resolved {
			if seen[id]++; seen[id] > 1 {
				t.Errorf("contact %s merged twice", id)
			}
		}
	}
	if final != "" {
		for _, id := range g.Members {
			if f := o.Final(id); f != final {
				t.Errorf("member %s resolves to %s, want the group's canonical %s", id, f, final)
			}
		}
	}
	testorg.CheckLedgerMerges(t, st, o)
	// An id map from the ledger alone.
	applied, err := engine.AppliedMerges(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]string{}
	ofGroup := 0
	for _, m := range applied {
		if m.GroupID == g.ID {
			ofGroup++
		}
		for _, in := range m.Inputs {
			next[in] = m.Result
		}
	}
	if ofGroup != rounds {
		t.Errorf("the ledger records %d applied merges of the group, want %d", ofGroup, rounds)
	}
	for _, id := range g.Members {
		to := id
		for range len(next) + 1 {
			if n, ok := next[to]; ok {
				to = n
			}
		}
		if want := o.Final(id); to != want {
			t.Errorf("ledger id map: %s → %s, the platform resolves it to %s", id, to, want)
		}
	}
}

// TestMultiRoundAttemptsArePerRound: a 20-member group with MaxPerRequest 2
// merges in 19 rounds. 503s in rounds 8 and 11 (the group's 8th, 12th and
// 13th merge requests) are verified as not applied and retried: the attempt
// cap is per round, so the group merges. It used to count the group's
// running attempts and fail at round 8 with "gave up after 8 attempts …
// not applied" although seven rounds had merged eight members.
func TestMultiRoundAttemptsArePerRound(t *testing.T) {
	ctx := context.Background()
	faults := &mergeFaults{}
	faults.set(8, 12, 13)
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 60, 3, -1
	o := testorg.NewWrapped(t, cfg, faults.wrap)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	g := bigGroup(t, st, o, 20)
	p := newPipeline(t, st, o, "w1", engine.Config{MaxPerRequest: 2, VerifySettle: 20 * time.Millisecond})
	if _, err := p.eng.Run(ctx, p.jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Group(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != cm.StateMerged {
		testorg.DumpLedger(t, st, g.ID)
		t.Fatalf("group ended %s (%s), want merged", got.State, got.Reason)
	}
	checkRounds(t, st, o, g, engine.Rounds(20, 2), got.CanonicalID)
}

// TestMultiRoundGivingUpKeepsProgress: when one late round exhausts its
// attempts (six 503s in round 8), the group fails saying how many members
// are already one contact, keeps that contact as its canonical, and the
// ledger has the seven applied rounds; approved again, the next run goes
// on from the canonical contact and merges the rest, each contact once.
func TestMultiRoundGivingUpKeepsProgress(t *testing.T) {
	ctx := context.Background()
	faults := &mergeFaults{}
	faults.set(8, 9, 10, 11, 12, 13)
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 60, 4, -1
	o := testorg.NewWrapped(t, cfg, faults.wrap)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	g := bigGroup(t, st, o, 20)
	ecfg := engine.Config{MaxPerRequest: 2, VerifySettle: 20 * time.Millisecond}
	p := newPipeline(t, st, o, "w1", ecfg)
	if _, err := p.eng.Run(ctx, p.jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Group(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	ops := o.SB.Oplog()
	if got.State != cm.StateFailed || len(ops) != 7 || got.CanonicalID != ops[6].Result ||
		!strings.Contains(got.Reason, "8 of 20 members are already one contact "+got.CanonicalID) ||
		!strings.Contains(got.Reason, "after 6 attempts") {
		testorg.DumpLedger(t, st, g.ID)
		t.Fatalf("group ended %s with canonical %s after %d platform merges (%s); want failed, part-way, saying so", got.State, got.CanonicalID, len(ops), got.Reason)
	}
	checkRounds(t, st, o, g, 7, "")

	// Approved again, the next run continues from the canonical contact.
	faults.set()
	if _, err := st.Transition(ctx, cm.Transition{GroupID: g.ID, From: []cm.GroupState{cm.StateFailed}, To: cm.StateApproved, Actor: "test",
		Decision: &cm.Decision{GroupID: g.ID, Approve: true, Actor: "test", At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	p2 := newPipeline(t, st, o, "w2", ecfg)
	if _, err := p2.eng.Run(ctx, p2.jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	done, err := st.Group(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != cm.StateMerged {
		testorg.DumpLedger(t, st, g.ID)
		t.Fatalf("re-approved group ended %s (%s), want merged", done.State, done.Reason)
	}
	ops = o.SB.Oplog()
	if len(ops) < 8 || !slices.Contains(ops[7].Inputs, got.CanonicalID) {
		t.Errorf("the first merge after re-approval did not continue from %s: %+v", got.CanonicalID, ops[min(7, len(ops)-1)])
	}
	checkRounds(t, st, o, g, engine.Rounds(20, 2), done.CanonicalID)
}

// TestMergeAnsweredWithoutContactIsVerified: a 2xx whose body names no
// contact is applied but says nothing of the result; the outcome is unknown
// and verified (never recorded with an empty canonical id), the group
// merges, and each round is recorded once.
func TestMergeAnsweredWithoutContactIsVerified(t *testing.T) {
	ctx := context.Background()
	faults := &mergeFaults{blank: map[int]bool{2: true}}
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 30, 5, -1
	o := testorg.NewWrapped(t, cfg, faults.wrap)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	g := bigGroup(t, st, o, 4)
	p := newPipeline(t, st, o, "w1", engine.Config{MaxPerRequest: 2, VerifySettle: 20 * time.Millisecond})
	if _, err := p.eng.Run(ctx, p.jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Group(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != cm.StateMerged || got.CanonicalID == "" {
		testorg.DumpLedger(t, st, g.ID)
		t.Fatalf("group ended %s, canonical %q (%s)", got.State, got.CanonicalID, got.Reason)
	}
	applied, _ := engine.AppliedMerges(ctx, st)
	if len(applied) != 3 || !applied[1].Verified || applied[0].Verified || applied[2].Verified {
		t.Errorf("applied merges = %+v, want the second one verified", applied)
	}
	// Every request has its api row, the blank answer's too (it used to be
	// lost with the transaction the empty id made fail), and the blank
	// answer made the outcome unknown.
	apiRows, unknown := 0, 0
	_ = st.Ledger(ctx, cm.LedgerFilter{GroupID: g.ID}, func(ev cm.LedgerEvent) error {
		switch {
		case ev.Kind == cm.LedgerAPI:
			apiRows++
		case ev.Kind == cm.LedgerTransition && ev.To == cm.StateUnknown:
			unknown++
		}
		return nil
	})
	if apiRows != 3 || unknown != 1 {
		testorg.DumpLedger(t, st, g.ID)
		t.Errorf("%d api rows and %d moves to unknown, want 3 and 1", apiRows, unknown)
	}
	checkRounds(t, st, o, g, engine.Rounds(4, 2), got.CanonicalID)
}
