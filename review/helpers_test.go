package review_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the stores' clock in these tests.
var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func now() time.Time { return t0 }

func ctx() context.Context { return context.Background() }

// openStore opens a fresh SQLite store in t's temp dir, closed at cleanup.
// Review needs no matcher: groups are made by hand and saved as the
// proposals of a match run.
func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(ctx(), testdb.SQLite(t), store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// group returns a proposal over members (the first is the survivor).
func group(conf float64, members ...string) cm.Group {
	return cm.Group{
		Members: members, SurvivorID: members[0], Confidence: conf,
		Merged:      &cm.Contact{ID: members[0], FirstName: "Ann", LastName: "Lee"},
		Explanation: &cm.Explanation{Links: []cm.PairEvidence{{A: members[0], B: members[1], Weight: 9.5, Probability: conf}}},
	}
}

// seed saves gs as one match run and returns them as stored, in order.
func seed(t *testing.T, st cm.Store, gs ...cm.Group) []cm.Group {
	t.Helper()
	if _, err := st.SaveProposals(ctx(), gs, "match"); err != nil {
		t.Fatal(err)
	}
	out := make([]cm.Group, len(gs))
	for i, g := range gs {
		out[i] = get(t, st, cm.GroupID(g.Members))
	}
	return out
}

func get(t *testing.T, st cm.Store, id string) cm.Group {
	t.Helper()
	g, err := st.Group(ctx(), id)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// move takes g through the states in path (the edges of the state machine)
// as the engine would, and returns it as stored.
func move(t *testing.T, st cm.Store, g cm.Group, path ...cm.GroupState) cm.Group {
	t.Helper()
	for _, to := range path {
		var err error
		if g, err = st.Transition(ctx(), cm.Transition{GroupID: g.ID, To: to, Actor: "engine", Update: func(g *cm.Group) {
			if to == cm.StateMerged {
				g.CanonicalID = "canon-" + g.Members[0]
			}
		}}); err != nil {
			t.Fatalf("move %s to %s: %v", g.ID, to, err)
		}
	}
	return g
}

// states returns the current state of each group.
func states(t *testing.T, st cm.Store, gs ...cm.Group) []cm.GroupState {
	t.Helper()
	out := make([]cm.GroupState, len(gs))
	for i, g := range gs {
		out[i] = get(t, st, g.ID).State
	}
	return out
}

// failingStore fails every Transition of the group failOn, as a full disk or
// a lost connection would.
type failingStore struct {
	cm.Store
	failOn string
}

func (s failingStore) Transition(ctx context.Context, t cm.Transition) (cm.Group, error) {
	if t.GroupID == s.failOn {
		return cm.Group{}, errDisk
	}
	return s.Store.Transition(ctx, t)
}

// TransitionMany fails as a whole when one of ts is for failOn, after the
// store applied the ones before it inside the transaction that then rolls
// back: nothing is written.
func (s failingStore) TransitionMany(ctx context.Context, ts []cm.Transition) ([]cm.Group, error) {
	for _, t := range ts {
		if t.GroupID == s.failOn {
			return nil, errDisk
		}
	}
	return s.Store.TransitionMany(ctx, ts)
}

var errDisk = errors.New("disk I/O error")
