package cycle_test

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/cycle"
	"github.com/contactmerge/contactmerge/discover"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testlog"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// newHiddenRig is a rig whose organization hides its auto-created
// contacts from scan and whose conversation history names them.
func newHiddenRig(t *testing.T, dsn string, contacts int, mod func(*sandbox.Config)) *rig {
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit, cfg.ActivityRate, cfg.History = contacts, 21, 100000, 0, true
	if mod != nil {
		mod(&cfg)
	}
	o := testorg.New(t, cfg)
	return &rig{t: t, o: o, st: testorg.OpenStore(t, dsn), hook: newWebhook(t, 0), api: o.Client(t, nil)}
}

// hidden returns the members of the organization's true clusters that
// scan does not list (auto-created duplicates of curated contacts).
func (r *rig) hidden() map[string]bool {
	listed := map[string]bool{}
	for _, cl := range r.o.SB.Truth() {
		for _, id := range cl {
			listed[id] = true
		}
	}
	out := map[string]bool{}
	for _, cl := range r.o.SB.TruthAll() {
		for _, id := range cl {
			if !listed[id] {
				out[id] = true
			}
		}
	}
	return out
}

// requestsOn counts the sandbox's answers on the routes containing part.
func (r *rig) requestsOn(part string) int {
	n := 0
	for route, byStatus := range r.o.SB.Stats().Requests {
		if strings.Contains(route, part) {
			for _, k := range byStatus {
				n += k
			}
		}
	}
	return n
}

func withDiscover(cfg *cycle.Config) {
	cfg.Discover = &discover.Options{Days: 62, PollInterval: time.Millisecond}
}

// withGroupsPolicy turns the discover step on under an enforce policy that
// approves groups of up to four: a hidden duplicate usually joins a pair
// the scan had found already.
func (r *rig) withGroupsPolicy(cfg *cycle.Config) {
	withDiscover(cfg)
	p, err := policy.Parse("groups.json", []byte(`{"mode": "enforce", "minConfidence": 0.99, "maxGroupSize": 4, "maxMergesPerCycle": 10000}`))
	if err != nil {
		r.t.Fatal(err)
	}
	cfg.Policy = cycle.FilePolicy{P: p}
}

// TestCycleDiscoversHiddenDuplicates: a cycle's discover step, between scan
// and match, stores the auto-created contacts scan cannot see through the
// conversations that name them; the enforce policy approves and the run
// step merges the hidden duplicates, each exactly once (one merge on the
// platform, one applied merge in the ledger). The step reads under the scan
// budget and its counts are in the summary and the store. A second cycle
// re-discovers nothing: the ids the store holds, or its ledger records as
// merged away, are not read again, and nothing is merged twice.
// CYCLE_DISCOVER_CONTACTS sets the organization's size (default 600):
//
//	CYCLE_DISCOVER_CONTACTS=20000 go test ./cycle/ -run TestCycleDiscoversHiddenDuplicates/sqlite -v
func TestCycleDiscoversHiddenDuplicates(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			r := newHiddenRig(t, dsn(t), testorg.EnvSize(t, "CYCLE_DISCOVER_CONTACTS", 600), nil)
			hidden := r.hidden()
			if len(hidden) < 10 {
				t.Fatalf("the organization hides %d duplicates", len(hidden))
			}
			run := r.runner("p1", r.withGroupsPolicy)

			s1, err := run.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"})
			if err != nil {
				t.Fatalf("cycle 1: %v", err)
			}
			d := s1.Discover
			if s1.State != store.CycleDone || d == nil || d.Skipped != "" {
				t.Fatalf("cycle 1 = %+v, discover %+v", s1, d)
			}
			if d.Conversations == 0 || d.Found == 0 || d.Found != d.Read || d.Known == 0 || d.Requests != d.AnalyticsRequests+d.BulkRequests || d.BulkRequests == 0 {
				t.Errorf("cycle 1 discover = %+v", d)
			}
			if d.FoundByType[cm.TypeEphemeral]+d.FoundByType[cm.TypeIdentified] == 0 {
				t.Errorf("found by type %v: no auto-created contact", d.FoundByType)
			}
			if want := int(float64(100000) * 0.3); d.CeilingPerMinute != want || s1.Scan.CeilingPerMinute != want {
				t.Errorf("discover ran under %d requests/min, scan under %d, want the scan budget's %d", d.CeilingPerMinute, s1.Scan.CeilingPerMinute, want)
			}
			if s1.Run == nil || s1.Run.MergedThisRun == 0 {
				t.Fatalf("cycle 1 merged nothing: %+v", s1.Run)
			}

			in, merges := r.mergeInputs()
			mergedHidden := 0
			for id, n := range in {
				if n != 1 {
					t.Errorf("contact %s was an input of %d merges", id, n)
				}
				if hidden[id] {
					mergedHidden++
				}
			}
			if mergedHidden == 0 {
				t.Errorf("of %d merges, none merged a hidden duplicate (%d hidden, %d found)", merges, len(hidden), d.Found)
			}
			applied := r.appliedMerges()
			if applied != merges {
				t.Errorf("the ledger records %d applied merges, the platform made %d", applied, merges)
			}
			c1, err := r.st.(store.CycleStore).Cycle(ctx(), s1.Cycle)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, st := range c1.Steps {
				names = append(names, st.Name)
			}
			if want := []string{"scan", "discover", "match", "policy", "run", "report"}; !slices.Equal(names, want) {
				t.Errorf("steps %v, want %v", names, want)
			}
			if hook := r.hook.summaries(); len(hook) != 1 || hook[0].Discover == nil || hook[0].Discover.Found != d.Found {
				t.Errorf("posted summaries %+v", hook)
			}

			bulk := r.requestsOn("/bulk/contacts")
			s2, err := run.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"})
			if err != nil {
				t.Fatalf("cycle 2: %v", err)
			}
			d2 := s2.Discover
			if d2 == nil || d2.Skipped != "" || d2.Conversations != d.Conversations || d2.Found != 0 || d2.Read != 0 || d2.BulkRequests != 0 || d2.Known != d2.ContactIDs {
				t.Errorf("cycle 2 discover = %+v", d2)
			}
			if got := r.requestsOn("/bulk/contacts") - bulk; got != 0 && s2.Run.MergedThisRun == 0 {
				t.Errorf("cycle 2 sent %d bulk reads with nothing to merge", got)
			}
			in2, merges2 := r.mergeInputs()
			for id, n := range in2 {
				if n != 1 {
					t.Errorf("after cycle 2, contact %s was an input of %d merges", id, n)
				}
			}
			if merges2-merges != s2.Run.MergedThisRun {
				t.Errorf("cycle 2 merged %d groups, the platform made %d merges", s2.Run.MergedThisRun, merges2-merges)
			}
			t.Logf("%d hidden duplicates; cycle 1: %d conversations, found %v in %d requests (%d analytics, %d bulk), %d merges (%d of hidden duplicates); cycle 2: discover %d requests (%d analytics, %d bulk), %d known of %d ids, %d merges",
				len(hidden), d.Conversations, d.FoundByType, d.Requests, d.AnalyticsRequests, d.BulkRequests, merges, mergedHidden,
				d2.Requests, d2.AnalyticsRequests, d2.BulkRequests, d2.Known, d2.ContactIDs, merges2-merges)
		})
	}
}

// appliedMerges counts the merges the store's ledger records as applied.
func (r *rig) appliedMerges() int {
	ms, err := engine.AppliedMerges(ctx(), r.st)
	if err != nil {
		r.t.Fatal(err)
	}
	return len(ms)
}

// TestCycleDiscoverWithoutPermission: a client whose role lacks the
// analytics permission skips the discover step with the reason in the
// summary (one log line), sends no analytics request but the probe, and
// the cycle goes on and ends done. Turned off, the step sends nothing.
func TestCycleDiscoverWithoutPermission(t *testing.T) {
	r := newHiddenRig(t, testdb.SQLite(t), 200, func(cfg *sandbox.Config) {
		cfg.Permissions = []string{sandbox.PermContactView, sandbox.PermIdentityMerge}
	})
	var logged testlog.Buffer
	run := r.runner("p1", func(cfg *cycle.Config) {
		withDiscover(cfg)
		// The run step needs the analytics permission too (the engine's
		// active-conversation check): this cycle merges nothing.
		cfg.Merge = nil
		cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	})
	s, err := run.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"})
	if err != nil {
		t.Fatalf("cycle: %v", err)
	}
	if s.State != store.CycleDone || s.Discover == nil || !strings.Contains(s.Discover.Skipped, "analytics:conversationDetail:view") || s.Discover.Requests != 0 {
		t.Fatalf("cycle = %+v, discover %+v", s, s.Discover)
	}
	if s.Match == nil || s.Run == nil {
		t.Errorf("the steps after discover did not run: %+v", s)
	}
	if n := r.requestsOn("/analytics/"); n != 1 {
		t.Errorf("%d analytics requests, want the one probe", n)
	}
	if n := strings.Count(logged.String(), "discover step skipped"); n != 1 {
		t.Errorf("logged %d skip lines:\n%s", n, logged.String())
	}

	off := r.runner("p1", func(cfg *cycle.Config) { cfg.Merge = nil })
	s, err = off.Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Discover == nil || !strings.Contains(s.Discover.Skipped, "--discover=false") {
		t.Errorf("turned off: %+v", s.Discover)
	}
	if n := r.requestsOn("/analytics/"); n != 1 {
		t.Errorf("turned off, the step sent %d analytics requests", n-1)
	}
}

// TestCycleResumedAtDiscover: a cycle whose process died after its scan is
// resumed at the discover step by another process, whose client (the scan
// step did not run in it) still reads under the scan budget; one that died
// after the discovery is resumed at match without reading the conversations
// again. Every step ran once and every hidden duplicate merged once.
func TestCycleResumedAtDiscover(t *testing.T) {
	r := newHiddenRig(t, testdb.SQLite(t), 400, nil)
	dieAt := func(at cycle.Step) func(*cycle.Config) {
		return func(cfg *cycle.Config) {
			r.withGroupsPolicy(cfg)
			cfg.BeforeStep = func(_ int64, s cycle.Step) error {
				if s == at {
					return errors.New("killed")
				}
				return nil
			}
		}
	}
	if _, err := r.runner("p1", dieAt(cycle.StepDiscover)).Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "ann"}); err == nil || err.Error() != "killed" {
		t.Fatalf("the first process: %v", err)
	}
	if n := r.requestsOn("/analytics/"); n != 0 {
		t.Fatalf("%d analytics requests before the discover step", n)
	}
	if _, err := r.runner("p2", dieAt(cycle.StepMatch)).Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "bob"}); err == nil || err.Error() != "killed" {
		t.Fatalf("the second process: %v", err)
	}
	analytics := r.requestsOn("/analytics/")
	if analytics == 0 {
		t.Fatal("the second process did not run the discover step")
	}
	s, err := r.runner("p3", r.withGroupsPolicy).Run(ctx(), cycle.Trigger{Kind: cycle.TriggerCLI, Actor: "carl"})
	if err != nil {
		t.Fatalf("the third process: %v", err)
	}
	if s.State != store.CycleDone || s.Resumes != 2 || s.Actor != "ann" || s.Discover == nil || s.Discover.Found == 0 || s.Run.MergedThisRun == 0 {
		t.Fatalf("summary %+v, discover %+v", s, s.Discover)
	}
	if want := int(float64(100000) * 0.3); s.Discover.CeilingPerMinute != want {
		t.Errorf("the resumed discover step read under %d requests/min, want the scan budget's %d", s.Discover.CeilingPerMinute, want)
	}
	// Analytics traffic after the discover step: only the run step's
	// active-conversation checks, no details job.
	if jobs := r.requestsOn("/details/jobs"); jobs != s.Discover.AnalyticsRequests+1 {
		t.Errorf("%d requests on the details jobs routes, want the step's %d and its probe", jobs, s.Discover.AnalyticsRequests)
	}
	c, err := r.st.(store.CycleStore).Cycle(ctx(), s.Cycle)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range c.Steps {
		if st.Attempts != 1 {
			t.Errorf("step %s ran %d times", st.Name, st.Attempts)
		}
	}
	in, _ := r.mergeInputs()
	hidden, merged := r.hidden(), 0
	for id, n := range in {
		if n != 1 {
			t.Errorf("contact %s was an input of %d merges", id, n)
		}
		if hidden[id] {
			merged++
		}
	}
	if merged == 0 {
		t.Errorf("no hidden duplicate merged")
	}
}
