package match

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testclock"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// stateStore is what the incremental tests need of a store.
type stateStore interface {
	store.Store
	StateStore
	SaveMatch(ctx context.Context, groups []cm.Group, unchanged []string, state map[string][]byte, consumed []int64, actor string) (cm.ProposalResult, error)
}

func openStateStore(t *testing.T, cfg Config, name string, clock *testclock.Clock) stateStore {
	t.Helper()
	return openStateStoreAt(t, cfg, filepath.Join(t.TempDir(), name+".db"), clock)
}

// openStateStoreAt opens the store dsn names (a SQLite file, a PostgreSQL
// URL).
func openStateStoreAt(t testing.TB, cfg Config, dsn string, clock *testclock.Clock) stateStore {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, store.Options{Normalizer: NormalizerFunc(cfg), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ss, ok := s.(stateStore)
	if !ok {
		t.Fatal("the store keeps no match state")
	}
	return ss
}

// matchRounds counts matchAndSave's matches.
var matchRounds atomic.Int32

// matchAndSave runs Match on s with the stored state and saves the result
// with the new state, as the match command does.
func matchAndSave(t testing.TB, s stateStore, cfg Config, o MatchOptions) *Result {
	t.Helper()
	ctx := context.Background()
	// Every other match reads the Writes while it loads the state (as the
	// match command does), the others after.
	prefetch := matchRounds.Add(1)%2 == 0
	prev, writes, unusable, err := LoadState(ctx, s, prefetch && !o.Full && !o.Reestimate)
	if err != nil || unusable != nil {
		t.Fatal(err, unusable)
	}
	o.Prev, o.Writes = prev, writes
	res, st, err := Match(ctx, s, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := st.Parts()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveMatch(ctx, res.Groups, res.Unchanged, enc, st.Consumed(), "match"); err != nil {
		t.Fatal(err)
	}
	return res
}

// storedGroups renders every stored group: id, state, members, survivor,
// confidence, merged record, unkept values and explanation.
func storedGroups(t *testing.T, s store.Store) []string {
	t.Helper()
	gs, err := s.Groups(context.Background(), cm.GroupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(gs))
	for i, g := range gs {
		ex := ""
		if g.Explanation != nil {
			for _, l := range g.Explanation.Links {
				ex += fmt.Sprintf(" %s-%s:%v", l.A, l.B, l.Weight)
			}
			ex += fmt.Sprint(g.Explanation.Notes)
		}
		merged, err := json.Marshal(g.Merged)
		if err != nil {
			t.Fatal(err)
		}
		unkept, err := json.Marshal(g.Unkept)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = fmt.Sprintf("%s %s %v survivor=%s conf=%v merged=%s unkept=%s links=%s", g.ID, g.State, g.Members, g.SurvivorID, g.Confidence, merged, unkept, ex)
	}
	slices.Sort(out)
	return out
}

// firstDiff describes the first difference of two renderings.
func firstDiff(a, b []string) string {
	for k := range max(len(a), len(b)) {
		var x, y string
		if k < len(a) {
			x = a[k]
		}
		if k < len(b) {
			y = b[k]
		}
		if x != y {
			return fmt.Sprintf("first difference:\n  %s\n  %s", x, y)
		}
	}
	return "no difference"
}

// changeContacts applies one round of random changes to both stores: new
// contacts (some copies of stored ones, new duplicates), edited ones,
// deleted ones, and platform merges of proposed groups (the members but
// the survivor deleted, the survivor edited).
func changeContacts(t *testing.T, rng *rand.Rand, round int, pool []cm.Contact, stores ...stateStore) {
	t.Helper()
	ctx := context.Background()
	s := stores[0]
	var all []cm.Contact
	if err := s.EachContact(ctx, func(c *cm.Contact) error { all = append(all, *c); return nil }); err != nil {
		t.Fatal(err)
	}
	var upserts []cm.Contact
	var deletes []string
	touched := map[string]bool{}
	pick := func() *cm.Contact {
		for {
			c := &all[rng.IntN(len(all))]
			if !touched[c.ID] {
				touched[c.ID] = true
				return c
			}
		}
	}
	n := len(all)
	for k := range n / 100 { // new: unseen generated contacts
		c := pool[(round*n/100+k)%len(pool)]
		c.ID = fmt.Sprintf("new-%d-%d", round, k)
		upserts = append(upserts, c)
	}
	for k := range n / 200 { // new duplicates of stored contacts
		c := *pick()
		c.ID = fmt.Sprintf("dup-%d-%d", round, k)
		if k%2 == 0 {
			c.FirstName += "e"
		}
		upserts = append(upserts, c)
	}
	for k := range n / 100 { // edits
		c := *pick()
		c.ModifyDate = c.ModifyDate.Add(time.Hour)
		switch k % 4 {
		case 0:
			c.LastName = "Zz" + c.LastName
		case 1:
			c.WorkEmail = fmt.Sprintf("changed%d.%d@example.org", round, k)
		case 2:
			c.FirstName = pool[rng.IntN(len(pool))].FirstName
		case 3:
			c.Address = nil
		}
		upserts = append(upserts, c)
	}
	for range n / 200 { // deletes
		deletes = append(deletes, pick().ID)
	}
	gs, err := s.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 3 && k < len(gs); k++ { // platform merges
		g := gs[rng.IntN(len(gs))]
		if slices.ContainsFunc(g.Members, func(id string) bool { return touched[id] }) {
			continue
		}
		for _, id := range g.Members {
			touched[id] = true
			if id != g.SurvivorID {
				deletes = append(deletes, id)
			}
		}
		cs, err := s.Contacts(ctx, []string{g.SurvivorID})
		if err != nil {
			t.Fatal(err)
		}
		c := cs[g.SurvivorID]
		c.ModifyDate = c.ModifyDate.Add(time.Hour)
		c.OtherEmail = fmt.Sprintf("merged%d.%d@example.org", round, k)
		upserts = append(upserts, c)
	}
	for _, st := range stores {
		if err := st.UpsertContacts(ctx, upserts); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteContacts(ctx, deletes); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIncrementalEqualsFull: after rounds of random changes (new, edited
// and deleted contacts, platform merges, stewards' decisions), an
// incremental match leaves the store with the groups a full match with the
// kept model leaves (ids, states, members, survivors, confidences, merged
// records, explanations), and the decisions on unchanged groups stay.
func TestIncrementalEqualsFull(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Workers = 2
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 3000, Seed: 21})
	pool := sandbox.Generate(sandbox.GenConfig{Contacts: 1000, Seed: 22}).Contacts
	// The stores' clock moves an hour between rounds: an incremental match
	// reads only the contacts written since the last one.
	clock := testclock.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	inc, full := openStateStore(t, cfg, "inc", clock), openStateStore(t, cfg, "full", clock)
	ctx := context.Background()
	for _, s := range []stateStore{inc, full} {
		if err := s.UpsertContacts(ctx, org.Contacts); err != nil {
			t.Fatal(err)
		}
	}
	o := MatchOptions{MaxDrift: 0.5}
	r1 := matchAndSave(t, inc, cfg, o)
	r2 := matchAndSave(t, full, cfg, o)
	if !r1.Mode.Estimated || r1.Mode.Incremental {
		t.Fatalf("first match mode %+v, want a full match that estimates", r1.Mode)
	}
	if a, b := storedGroups(t, inc), storedGroups(t, full); !slices.Equal(a, b) || len(a) < 100 {
		t.Fatalf("first matches differ or found few groups (%d, %d): %s", len(a), len(b), firstDiff(a, b))
	}
	_ = r2
	// A steward approves some groups and links or separates some pairs.
	gs, err := inc.Groups(ctx, cm.GroupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var approved []string
	for k := 0; k < len(gs); k += 7 {
		approved = append(approved, gs[k].ID)
		for _, s := range []stateStore{inc, full} {
			if _, err := s.Transition(ctx, cm.Transition{GroupID: gs[k].ID, From: []cm.GroupState{cm.StateProposed}, To: cm.StateApproved, Actor: "steward"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 3 {
		clock.Advance(time.Hour)
		changeContacts(t, rng, round, pool, inc, full)
		if round == 1 {
			// Decisions: a cannot-link inside a group, a must-link between
			// two groups' survivors.
			gs, _ := inc.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}})
			a, b := gs[0].Members[0], gs[0].Members[1]
			c, d := gs[1].SurvivorID, gs[2].SurvivorID
			if c > d {
				c, d = d, c
			}
			for _, s := range []stateStore{inc, full} {
				err := s.ChangeConstraints(ctx, cm.ConstraintChange{Actor: "steward", Add: []cm.PairConstraint{
					{Kind: cm.CannotLink, A: a, B: b, At: time.Unix(1700000000, 0)},
					{Kind: cm.MustLink, A: c, B: d, At: time.Unix(1700000000, 0)},
				}})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		ri := matchAndSave(t, inc, cfg, o)
		rf := matchAndSave(t, full, cfg, MatchOptions{MaxDrift: 0.5, Full: true})
		if !ri.Mode.Incremental {
			t.Fatalf("round %d: mode %+v, want incremental", round, ri.Mode)
		}
		if rf.Mode.Incremental || rf.Mode.Estimated {
			t.Fatalf("round %d: --full mode %+v", round, rf.Mode)
		}
		if ri.Changes.New == 0 || ri.Changes.Edited == 0 || ri.Changes.Deleted == 0 {
			t.Fatalf("round %d: changes %+v", round, ri.Changes)
		}
		if a, b := storedGroups(t, inc), storedGroups(t, full); !slices.Equal(a, b) {
			t.Fatalf("round %d: %d groups incremental, %d full; %s", round, len(a), len(b), firstDiff(a, b))
		}
		if ri.Stats.Links != rf.Stats.Links || ri.Stats.Groups != rf.Stats.Groups {
			t.Fatalf("round %d: incremental %d links %d groups, full %d links %d groups", round, ri.Stats.Links, ri.Stats.Groups, rf.Stats.Links, rf.Stats.Groups)
		}
		if ri.Stats.Normalized != 0 {
			t.Fatalf("round %d: %d contacts normalized again", round, ri.Stats.Normalized)
		}
		t.Logf("round %d: %+v; %d groups kept, %d recomputed", round, ri.Changes, len(ri.Unchanged), len(ri.Groups))
	}
	// Decisions on groups the changes did not touch are still there.
	still := 0
	for _, id := range approved {
		g, err := inc.Group(ctx, id)
		if err == nil {
			if g.State != cm.StateApproved {
				t.Fatalf("approved group %s is %s", id, g.State)
			}
			still++
		}
	}
	if still < len(approved)/2 {
		t.Fatalf("only %d of %d approved groups survived", still, len(approved))
	}
	// Nothing changed: the incremental match does nothing and keeps all.
	before := storedGroups(t, inc)
	r := matchAndSave(t, inc, cfg, o)
	if !r.Mode.Incremental || len(r.Groups) != 0 || r.Changes.total() != 0 {
		t.Fatalf("unchanged snapshot: mode %+v, %d groups, changes %+v", r.Mode, len(r.Groups), r.Changes)
	}
	if after := storedGroups(t, inc); !slices.Equal(before, after) {
		t.Fatal("a match of an unchanged snapshot changed the groups")
	}
}

// TestKeptModelEqualsEstimate: a full match with the model a full match
// just estimated (and kept) finds the same groups on the same snapshot.
func TestKeptModelEqualsEstimate(t *testing.T) {
	cfg := DefaultConfig()
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 2000, Seed: 23})
	s := openStateStore(t, cfg, "kept", testclock.New(time.Now()))
	if err := s.UpsertContacts(context.Background(), org.Contacts); err != nil {
		t.Fatal(err)
	}
	r1 := matchAndSave(t, s, cfg, MatchOptions{})
	a := storedGroups(t, s)
	r2 := matchAndSave(t, s, cfg, MatchOptions{Full: true})
	if !r1.Mode.Estimated || r2.Mode.Estimated || r2.Mode.Incremental {
		t.Fatalf("modes %+v, %+v", r1.Mode, r2.Mode)
	}
	if b := storedGroups(t, s); !slices.Equal(a, b) {
		t.Fatalf("kept model: %d groups, estimated: %d; %s", len(b), len(a), firstDiff(a, b))
	}
	r3 := matchAndSave(t, s, cfg, MatchOptions{Reestimate: true})
	if !r3.Mode.Estimated || r3.Mode.Reason != "--reestimate" {
		t.Fatalf("--reestimate mode %+v", r3.Mode)
	}
}

// TestIncrementalKeepsBase: an incremental match saves the delta, links
// and groups but not the base parts a full match wrote (they stay as
// stored); a state of an older encoding is refused, so the next match is a
// full one. On SQLite and, with TEST_DATABASE_URL, PostgreSQL.
func TestIncrementalKeepsBase(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testIncrementalKeepsBase(t, testdb.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { testIncrementalKeepsBase(t, testdb.Postgres(t)) })
}

func testIncrementalKeepsBase(t *testing.T, dsn string) {
	cfg := DefaultConfig()
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 1500, Seed: 24})
	pool := sandbox.Generate(sandbox.GenConfig{Contacts: 500, Seed: 25}).Contacts
	clock := testclock.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	s := openStateStoreAt(t, cfg, dsn, clock)
	ctx := context.Background()
	if err := s.UpsertContacts(ctx, org.Contacts); err != nil {
		t.Fatal(err)
	}
	matchAndSave(t, s, cfg, MatchOptions{MaxDrift: 0.5})
	first, err := s.LoadMatchState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var base []string
	for name := range first {
		if name != partMeta && name != partDelta && name != partLinks {
			base = append(base, name)
		}
	}
	if len(base) != 2+len(cfg.Blocking) {
		t.Fatalf("parts %v, want the base parts contacts, model and blocks per rule (%d)", slices.Sorted(maps.Keys(first)), len(cfg.Blocking))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 2 {
		clock.Advance(time.Hour)
		changeContacts(t, rng, round, pool, s)
		if r := matchAndSave(t, s, cfg, MatchOptions{MaxDrift: 0.5}); !r.Mode.Incremental || r.Changes.total() == 0 {
			t.Fatalf("round %d: mode %+v, changes %+v", round, r.Mode, r.Changes)
		}
		now, err := s.LoadMatchState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range base {
			if !bytes.Equal(now[name], first[name]) {
				t.Fatalf("round %d: base part %s rewritten", round, name)
			}
		}
		st, err := DecodeState(now)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.ids) == st.nBase || !slices.Contains(st.upd, true) || !slices.Contains(st.dead, true) {
			t.Fatalf("round %d: the delta holds %d new slots, updated and dead base slots %v, %v", round, len(st.ids)-st.nBase, slices.Contains(st.upd, true), slices.Contains(st.dead, true))
		}
		enc, err := st.Parts()
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range base {
			if b, ok := enc[name]; !ok || b != nil {
				t.Fatalf("round %d: a decoded state's part %s is not kept (present %v, %d bytes)", round, name, ok, len(b))
			}
		}
	}
	// A state of version 3 (whole blobs, no base) is not used.
	var meta bytes.Buffer
	if err := gob.NewEncoder(&meta).Encode(&stateMeta{Version: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeState(map[string][]byte{partMeta: meta.Bytes(), "contacts": {0}, "blocks": {0}, "links": {0}}); err == nil || !strings.Contains(err.Error(), "state version 3") {
		t.Fatalf("version 3 state: %v", err)
	}
}

// TestIncrementalSeesLateWrites: contacts written within the margin before
// the last match's newest write but committed after it (a slow
// transaction, a clock behind) change the counted window: the incremental
// match reads the margin and finds them, as a full match does.
func TestIncrementalSeesLateWrites(t *testing.T) {
	cfg := DefaultConfig()
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 800, Seed: 26})
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	clock := testclock.New(start)
	inc, full := openStateStore(t, cfg, "inc", clock), openStateStore(t, cfg, "full", clock)
	ctx := context.Background()
	for _, s := range []stateStore{inc, full} {
		if err := s.UpsertContacts(ctx, org.Contacts); err != nil {
			t.Fatal(err)
		}
	}
	o := MatchOptions{MaxDrift: 0.5}
	matchAndSave(t, inc, cfg, o)
	matchAndSave(t, full, cfg, o)
	// On time, after the match: only these are read.
	clock.Set(start.Add(time.Hour))
	onTime := org.Contacts[7]
	onTime.ModifyDate = onTime.ModifyDate.Add(time.Hour)
	onTime.LastName = "Zz" + onTime.LastName
	// Late: stamped a minute before the match's newest write.
	edited := org.Contacts[3]
	edited.ModifyDate = edited.ModifyDate.Add(time.Hour)
	edited.WorkEmail = "late.edit@example.org"
	dup := org.Contacts[5]
	dup.ID = "late-dup"
	for _, s := range []stateStore{inc, full} {
		if err := s.UpsertContacts(ctx, []cm.Contact{onTime}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Set(start.Add(-time.Minute))
	for _, s := range []stateStore{inc, full} {
		if err := s.UpsertContacts(ctx, []cm.Contact{edited, dup}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Set(start.Add(2 * time.Hour))
	ri := matchAndSave(t, inc, cfg, o)
	matchAndSave(t, full, cfg, MatchOptions{MaxDrift: 0.5, Full: true})
	if !ri.Mode.Incremental || ri.Changes.New != 1 || ri.Changes.Edited != 2 || ri.Changes.Written < len(org.Contacts) {
		t.Fatalf("mode %+v, changes %+v; want incremental, 1 new, 2 edited, the margin read", ri.Mode, ri.Changes)
	}
	if a, b := storedGroups(t, inc), storedGroups(t, full); !slices.Equal(a, b) {
		t.Fatalf("%d groups incremental, %d full; %s", len(a), len(b), firstDiff(a, b))
	}
	// Nothing late since: the window holds and only the on-time write of
	// the next round is read.
	clock.Set(start.Add(3 * time.Hour))
	again := org.Contacts[9]
	again.ModifyDate = again.ModifyDate.Add(time.Hour)
	again.FirstName += "e"
	if err := inc.UpsertContacts(ctx, []cm.Contact{again}); err != nil {
		t.Fatal(err)
	}
	if r := matchAndSave(t, inc, cfg, o); r.Changes.Edited != 1 || r.Changes.New != 0 || r.Changes.Written != 1 {
		t.Fatalf("next round: changes %+v, want 1 edited of 1 read", r.Changes)
	}
}

// TestSubsetDatasetParts: a subset dataset large enough to be built by two
// goroutines (a part of the encodings each) is the one addEncoded builds
// record by record.
func TestSubsetDatasetParts(t *testing.T) {
	cfg := DefaultConfig()
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 6000, Seed: 31})
	in := NewMemoryInput(org.Contacts, cfg)
	norms := map[int32][]byte{}
	var rs []int32
	for i := range in.ids {
		if i%7 != 3 { // and some records without a norm
			norms[int32(i)] = in.norms[i]
		}
		rs = append(rs, int32(i))
	}
	got := subsetDataset(in.ids, rs, norms)
	want := newDataset()
	for i, id := range in.ids {
		if b, ok := norms[int32(i)]; ok {
			want.addEncoded(id, b, in.fp)
		}
	}
	want.finish()
	if got.n < 4096 || got.n != want.n || !slices.Equal(got.ids, want.ids) || !slices.Equal(got.hash, want.hash) || !slices.Equal(got.div, want.div) {
		t.Fatalf("records: %d and %d", got.n, want.n)
	}
	if !slices.Equal(got.order, want.order) {
		t.Fatalf("columns %v, want %v", got.order, want.order)
	}
	for name, w := range want.cols {
		g := got.cols[name]
		if !slices.Equal(g.off, w.off) || !slices.Equal(g.vals, w.vals) || !slices.Equal(g.syms, w.syms) || !slices.Equal(g.counts, w.counts) || g.total != w.total {
			t.Fatalf("column %s differs", name)
		}
	}
}
