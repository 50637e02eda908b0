package cycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"go.uber.org/goleak"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/cycle"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// TestMain fails the package's tests when a goroutine outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctx() context.Context { return context.Background() }

// webhook records the summaries POSTed to it; the first fail answers are
// 503s.
type webhook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	fail int
	got  []cycle.Summary
	raw  []string
}

func newWebhook(t *testing.T, fail int) *webhook {
	w := &webhook{fail: fail}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.fail > 0 {
			w.fail--
			http.Error(rw, "busy", http.StatusServiceUnavailable)
			return
		}
		var s cycle.Summary
		if err := json.Unmarshal(b, &s); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(rw, "bad summary", http.StatusBadRequest)
			return
		}
		w.got, w.raw = append(w.got, s), append(w.raw, string(b))
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) summaries() []cycle.Summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// rig is a sandbox organization, a store, and what a cycle runs with.
type rig struct {
	t    *testing.T
	o    *testorg.Org
	st   store.Store
	hook *webhook
	api  *genesys.Client // someone else's client: edits and merges done outside contactmerge
}

func newRig(t *testing.T, dsn string, contacts int) *rig {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit, cfg.ActivityRate = contacts, 7, 100000, 0
	o := testorg.New(t, cfg)
	return &rig{t: t, o: o, st: testorg.OpenStore(t, dsn), hook: newWebhook(t, 1), api: o.Client(t, nil)}
}

// runner returns a cycle runner with a merge step of its own engine and
// River client for each run (as serve and the command build them).
func (r *rig) runner(owner string, mod func(*cycle.Config)) *cycle.Runner {
	t := r.t
	n, err := cycle.NewNotifier("--notify-webhook", r.hook.srv.URL+"/hook?key=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	n.Backoff = 10 * time.Millisecond
	merge := func(ctx context.Context) (engine.Summary, error) {
		eng, err := engine.New(r.st, engine.Config{Owner: owner, VerifySettle: time.Second}, r.o.NewClient)
		if err != nil {
			return engine.Summary{}, err
		}
		jc, err := r.st.NewJobClient(eng.RiverConfig(river.Config{FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond}))
		if err != nil {
			return engine.Summary{}, err
		}
		return eng.Run(ctx, jc, engine.RunOptions{Poll: 50 * time.Millisecond})
	}
	cfg := cycle.Config{
		Store: r.st.(cycle.Store), Scan: r.o.Client(t, nil), ScanBudget: 0.3, Policy: r.policy(),
		Merge: merge, RequireEnforce: true, Notify: n, Owner: owner, StaleAfter: time.Minute,
	}
	if mod != nil {
		mod(&cfg)
	}
	run, err := cycle.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// policy is an enforce-mode policy file that approves pairs and leaves
// larger groups to a person.
func (r *rig) policy() cycle.Policy {
	p, err := policy.Parse("pairs.json", []byte(`{"mode": "enforce", "minConfidence": 0.99, "maxGroupSize": 2, "maxMergesPerCycle": 100}`))
	if err != nil {
		r.t.Fatal(err)
	}
	return cycle.FilePolicy{P: p}
}

// mergeInputs returns, for every contact id the platform merged, how many
// merges it was an input of, and the number of merges.
func (r *rig) mergeInputs() (map[string]int, int) {
	in, n := map[string]int{}, 0
	for _, op := range r.o.SB.Oplog() {
		if op.Op == "merge" || op.Op == "merge2" {
			n++
			for _, id := range op.Resolved {
				in[id]++
			}
		}
	}
	return in, n
}

func (r *rig) groups(states ...cm.GroupState) []cm.Group {
	gs, err := r.st.Groups(ctx(), cm.GroupFilter{States: states})
	if err != nil {
		r.t.Fatal(err)
	}
	return gs
}

func ids(gs []cm.Group) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

// importCopy creates, through the platform's API, a copy of contact id
// (what a CSV import of the same customer does) and returns the new id.
func (r *rig) importCopy(id string) string {
	c, ok := r.o.SB.Contact(id)
	if !ok {
		r.t.Fatalf("no contact %s", id)
	}
	dup := cm.Contact{FirstName: c.FirstName, LastName: c.LastName, WorkEmail: c.WorkEmail, PersonalEmail: c.PersonalEmail,
		CellPhone: c.CellPhone, WorkPhone: c.WorkPhone, HomePhone: c.HomePhone, Address: c.Address, Title: c.Title, Division: c.Division}
	out, _, err := r.api.Contacts.CreateContact(ctx(), &dup)
	if err != nil {
		r.t.Fatalf("create a copy of %s: %v", id, err)
	}
	return out.ID
}

// TestThreeCycles is the acceptance test: three cycles against a
// sandbox whose data changes between them (new CSV-import duplicates,
// edited contacts, a merge done by someone else on the platform, a
// steward's decisions); each cycle merges only what is new and approved,
// no decision is lost, no contact is merged twice. The third cycle crashes
// before its run step and is resumed there.
func TestThreeCycles(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, dsn(t), 400)
			run := r.runner("p1", nil)

			// Cycle 1: everything the policy approves merges.
			s1, err := run.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"})
			if err != nil {
				t.Fatalf("cycle 1: %v", err)
			}
			if s1.State != store.CycleDone || s1.Scan == nil || s1.Scan.Contacts == 0 || s1.Policy.Approved == 0 || s1.Run.MergedThisRun != s1.Policy.Approved {
				t.Fatalf("cycle 1 = %+v", s1)
			}
			if s1.Scan.WindowAllowed != 100000 || s1.Scan.CeilingPerMinute != 30000 {
				t.Errorf("scan budget: allowed %d, ceiling %d; want 30%% of 100000", s1.Scan.WindowAllowed, s1.Scan.CeilingPerMinute)
			}
			merged1 := ids(r.groups(cm.StateMerged))
			proposed := r.groups(cm.StateProposed)
			if len(proposed) < 3 {
				t.Fatalf("cycle 1 left %d groups for a person; the test needs 3", len(proposed))
			}
			_, ops1 := r.mergeInputs()

			// Between cycles 1 and 2: a steward rejects one held group and
			// approves another; a contact of the rejected group is edited;
			// someone merges a third held group on the platform; a CSV
			// import creates copies of three contacts never merged.
			rejected, approved, outside := proposed[0], proposed[1], proposed[2]
			if _, err := review.Decide(ctx(), r.st, rejected, cm.Decision{Approve: false, Actor: "ann", Reason: "different people"}); err != nil {
				t.Fatal(err)
			}
			if _, err := review.Decide(ctx(), r.st, approved, cm.Decision{Approve: true, Actor: "ann", Reason: "same person"}); err != nil {
				t.Fatal(err)
			}
			edited, _ := r.o.SB.Contact(rejected.Members[0])
			edited.Title = "Head of Procurement"
			if _, _, err := r.api.Contacts.UpdateContact(ctx(), edited.ID, &edited); err != nil {
				t.Fatalf("edit %s: %v", edited.ID, err)
			}
			theirs, _, err := r.api.Contacts.Merge(ctx(), &genesys.MergeRequest{ContactIDs: outside.Members})
			if err != nil {
				t.Fatalf("someone else's merge of %v: %v", outside.Members, err)
			}
			singles := r.singletons(3, proposed)
			var copies []string
			for _, id := range singles {
				copies = append(copies, r.importCopy(id))
			}

			// Cycle 2 merges the steward's approval and the new duplicates,
			// nothing of the rejected group, nothing twice.
			s2, err := run.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"})
			if err != nil {
				t.Fatalf("cycle 2: %v", err)
			}
			if s2.State != store.CycleDone || s2.Run.MergedThisRun != 1+len(copies) {
				t.Fatalf("cycle 2 merged %d groups, want the steward's and the %d copies': %+v", s2.Run.MergedThisRun, len(copies), s2)
			}
			t.Logf("cycle 2 match: %s", s2.Match.Mode)
			if cs, err := r.st.Contacts(ctx(), []string{edited.ID}); err != nil || cs[edited.ID].Title != edited.Title {
				t.Errorf("cycle 2's scan did not pick up the edit of %s: %+v, %v", edited.ID, cs[edited.ID], err)
			}
			if g := r.group(approved.ID); g.State != cm.StateMerged {
				t.Errorf("the steward's approved group is %s after cycle 2 (%s)", g.State, g.Reason)
			}
			r.rejectionKept(rejected)
			for i, id := range copies {
				if r.o.Final(id) == id && r.o.Final(singles[i]) == singles[i] {
					t.Errorf("the imported copy %s of %s was not merged in cycle 2", id, singles[i])
				}
			}
			merged2 := ids(r.groups(cm.StateMerged))
			for _, id := range merged1 {
				if !slices.Contains(merged2, id) {
					t.Errorf("group %s merged in cycle 1 is no longer merged", id)
				}
			}
			in2, ops2 := r.mergeInputs()
			// New merges: the approved group, the three copies, and the
			// outside merge; nothing of cycle 1 again.
			if got := ops2 - ops1; got != 1+len(copies)+1 {
				t.Errorf("cycle 2 (with the outside merge) added %d platform merges, want %d", got, 1+len(copies)+1)
			}
			r.noneTwice(in2)
			for _, id := range rejected.Members {
				if in2[id] > 0 {
					t.Errorf("contact %s of the rejected group was merged", id)
				}
			}

			// Cycle 3: one more copy; the cycle dies before its run step
			// and is resumed there, without scanning or matching again.
			more := r.importCopy(r.singletons(1, proposed)[0])
			dying := r.runner("p2", func(c *cycle.Config) {
				c.BeforeStep = func(_ int64, s cycle.Step) error {
					if s == cycle.StepRun {
						return errors.New("killed")
					}
					return nil
				}
			})
			if _, err := dying.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "bob"}); err == nil || err.Error() != "killed" {
				t.Fatalf("the dying cycle returned %v", err)
			}
			// Its process is gone: another one resumes it once the heartbeat
			// is stale (here at once: StaleAfter is tiny).
			resumer := r.runner("p3", func(c *cycle.Config) { c.StaleAfter = time.Nanosecond })
			s3, err := resumer.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "carl"})
			if err != nil {
				t.Fatalf("cycle 3: %v", err)
			}
			if s3.Resumes != 1 || s3.Actor != "bob" || s3.State != store.CycleDone || s3.Run.MergedThisRun != 1 {
				t.Fatalf("cycle 3 = %+v", s3)
			}
			c3, err := r.st.(store.CycleStore).Cycle(ctx(), s3.Cycle)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range c3.Steps {
				if st.Attempts != 1 {
					t.Errorf("step %s of the resumed cycle ran %d times", st.Name, st.Attempts)
				}
			}
			if r.o.Final(more) == more && len(r.groups(cm.StateApproved, cm.StateReady)) > 0 {
				t.Errorf("cycle 3 did not merge the new copy %s", more)
			}
			in3, ops3 := r.mergeInputs()
			if ops3-ops2 != 1 {
				t.Errorf("cycle 3 added %d platform merges, want 1", ops3-ops2)
			}
			r.noneTwice(in3)
			r.rejectionKept(rejected)
			r.ledgerMerges(theirs.ID)

			// Every summary is kept and was delivered (the first after a
			// 503), with no secret in it.
			got := r.hook.summaries()
			if len(got) != 3 || got[0].Cycle != s1.Cycle || got[2].Cycle != s3.Cycle || got[2].Sources == nil || got[2].Sources.Groups == 0 {
				t.Fatalf("the webhook got %d summaries: %+v", len(got), got)
			}
			for _, raw := range r.hook.raw {
				for _, secret := range []string{"sandbox-secret", "s3cret", r.hook.srv.URL} {
					if strings.Contains(raw, secret) {
						t.Errorf("a summary holds %q", secret)
					}
				}
			}
			list, err := r.st.(store.CycleStore).Cycles(ctx(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 3 || list[0].NotifiedAt.IsZero() || len(list[0].Summary) == 0 {
				t.Errorf("stored cycles: %+v", list)
			}
		})
	}
}

// singletons returns n contacts of the sandbox that no group of the store
// holds and no merge touched (and not in avoid's groups).
func (r *rig) singletons(n int, avoid []cm.Group) []string {
	r.t.Helper()
	held := map[string]bool{}
	for _, g := range r.groups() {
		for _, m := range g.Members {
			held[m] = true
		}
	}
	for _, g := range avoid {
		for _, m := range g.Members {
			held[m] = true
		}
	}
	var out []string
	err := r.st.EachContact(ctx(), func(c *cm.Contact) error {
		if len(out) < n && !held[c.ID] && r.o.Final(c.ID) == c.ID && c.FirstName != "" && c.LastName != "" {
			out = append(out, c.ID)
			held[c.ID] = true
		}
		return nil
	})
	if err != nil || len(out) < n {
		r.t.Fatalf("singletons: %d of %d, %v", len(out), n, err)
	}
	return out
}

func (r *rig) group(id string) cm.Group {
	g, err := r.st.Group(ctx(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return g
}

// rejectionKept asserts that the steward's rejection of g survives the
// cycles: its decision row and its cannot-link pairs are kept (the match
// step no longer proposes the group, which supersedes it), and no match
// proposes two of its members together.
func (r *rig) rejectionKept(g cm.Group) {
	r.t.Helper()
	ds, err := r.st.Decisions(ctx(), g.ID)
	if err != nil || len(ds) != 1 || ds[0].Approve || ds[0].Actor != "ann" {
		r.t.Errorf("decisions of the rejected group: %+v, %v", ds, err)
	}
	cs, err := r.st.Constraints(ctx(), cm.ConstraintFilter{})
	if err != nil {
		r.t.Fatal(err)
	}
	cannot := 0
	for _, c := range cs {
		if c.Kind == cm.CannotLink && slices.Contains(g.Members, c.A) && slices.Contains(g.Members, c.B) {
			cannot++
		}
	}
	if n := len(g.Members); cannot != n*(n-1)/2 {
		r.t.Errorf("the rejected group's %d members keep %d cannot-link pairs, want %d", n, cannot, n*(n-1)/2)
	}
	for _, h := range r.groups() {
		in := 0
		for _, m := range g.Members {
			if slices.Contains(h.Members, m) {
				in++
			}
		}
		if in > 1 {
			r.t.Errorf("group %s (%s) holds %d members of the rejected group", h.ID, h.State, in)
		}
	}
}

// ledgerMerges asserts that the ledger records every merge the platform
// applied exactly once with its inputs, but the one someone else made
// (→ theirs), and nothing else.
func (r *rig) ledgerMerges(theirs string) {
	r.t.Helper()
	byResult := map[string]sandbox.Op{}
	for _, op := range r.o.SB.Oplog() {
		if op.Op == "merge" && op.Result != theirs {
			byResult[op.Result] = op
		}
	}
	applied, err := engine.AppliedMerges(ctx(), r.st)
	if err != nil {
		r.t.Fatal(err)
	}
	recorded := map[string]int{}
	for _, m := range applied {
		recorded[m.Result]++
		op, ok := byResult[m.Result]
		if !ok {
			r.t.Errorf("the ledger records a merge → %s that contactmerge did not apply", m.Result)
		} else if !slices.Equal(cm.SortedIDs(m.Inputs), cm.SortedIDs(op.Inputs)) {
			r.t.Errorf("ledger: merge → %s of %v, the platform merged %v", m.Result, m.Inputs, op.Inputs)
		}
	}
	for res := range byResult {
		if recorded[res] != 1 {
			r.t.Errorf("platform merge → %s recorded %d times in the ledger, want 1", res, recorded[res])
		}
	}
}

func (r *rig) noneTwice(in map[string]int) {
	for id, n := range in {
		if n > 1 {
			r.t.Errorf("contact %s took part in %d merges", id, n)
		}
	}
}
