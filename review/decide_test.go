package review_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

// paths lead a new proposed group to each state through the state machine.
var paths = map[cm.GroupState][]cm.GroupState{
	cm.StateProposed:    nil,
	cm.StateApproved:    {cm.StateApproved},
	cm.StateRejected:    {cm.StateRejected},
	cm.StateReady:       {cm.StateApproved, cm.StateReady},
	cm.StateInFlight:    {cm.StateApproved, cm.StateReady, cm.StateInFlight},
	cm.StateUnknown:     {cm.StateApproved, cm.StateReady, cm.StateInFlight, cm.StateUnknown},
	cm.StateMerged:      {cm.StateApproved, cm.StateReady, cm.StateInFlight, cm.StateMerged},
	cm.StateQuarantined: {cm.StateApproved, cm.StateQuarantined},
	cm.StateSplit:       {cm.StateApproved, cm.StateSplit},
	cm.StateDropped:     {cm.StateApproved, cm.StateDropped},
	cm.StateFailed:      {cm.StateApproved, cm.StateFailed},
}

// TestDecideFromEveryState: a decision takes exactly the edges of the state
// machine, records the decision and the ledger row, and changes nothing
// when refused.
func TestDecideFromEveryState(t *testing.T) {
	for _, from := range cm.AllStates {
		for _, approve := range []bool{true, false} {
			to := cm.StateRejected
			if approve {
				to = cm.StateApproved
			}
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				st := openStore(t)
				g := move(t, st, seed(t, st, group(0.9, "a1", "a2"))[0], paths[from]...)
				got, err := review.Decide(ctx(), st, g, cm.Decision{Approve: approve, Actor: "ann", Reason: "checked", At: t0})
				ds, derr := st.Decisions(ctx(), g.ID)
				if derr != nil {
					t.Fatal(derr)
				}
				if !cm.CanTransition(from, to) {
					if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), "cannot be "+string(to)) {
						t.Fatalf("err = %v, want EINVALID", err)
					}
					if cur := get(t, st, g.ID); cur.State != from || cur.Version != g.Version || len(ds) != 0 {
						t.Fatalf("a refused decision changed the group: %+v, decisions %+v", cur, ds)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.State != to || got.Version != g.Version+1 {
					t.Fatalf("group after Decide = %s v%d, want %s v%d", got.State, got.Version, to, g.Version+1)
				}
				if len(ds) != 1 || ds[0].GroupID != g.ID || ds[0].Approve != approve || ds[0].Actor != "ann" || ds[0].Reason != "checked" {
					t.Fatalf("decisions = %+v", ds)
				}
				var last cm.LedgerEvent
				if err := st.Ledger(ctx(), cm.LedgerFilter{GroupID: g.ID, Kinds: []cm.LedgerKind{cm.LedgerTransition}}, func(ev cm.LedgerEvent) error {
					last = ev
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if want := string(to) + " by ann: checked"; last.Detail != want || last.Actor != "ann" || last.From != from || last.To != to {
					t.Errorf("ledger row = %+v, want detail %q", last, want)
				}
			})
		}
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name     string
		d        cm.Decision
		stale    bool // decide on the group as read before another change
		code     string
		survivor string
	}{
		{name: "another survivor", d: cm.Decision{Approve: true, Survivor: "a3"}, survivor: "a3"},
		{name: "the survivor kept", d: cm.Decision{Approve: true}, survivor: "a1"},
		{name: "a survivor that is not a member", d: cm.Decision{Approve: true, Survivor: "zz"}, code: cm.EINVALID},
		{name: "a decision for another group", d: cm.Decision{GroupID: "g_other", Approve: true}, code: cm.EINVALID},
		{name: "a group changed since it was read", d: cm.Decision{Approve: true}, stale: true, code: cm.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			g := seed(t, st, group(0.9, "a1", "a2", "a3"))[0]
			if tt.stale {
				move(t, st, g, cm.StateRejected)
			}
			tt.d.Actor = "ann"
			got, err := review.Decide(ctx(), st, g, tt.d)
			if tt.code != "" {
				if !cm.IsCode(err, tt.code) {
					t.Fatalf("err = %v, want %s", err, tt.code)
				}
				if ds, _ := st.Decisions(ctx(), g.ID); len(ds) != 0 {
					t.Errorf("a refused decision was recorded: %+v", ds)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SurvivorID != tt.survivor || get(t, st, g.ID).SurvivorID != tt.survivor {
				t.Errorf("survivor = %s, want %s", got.SurvivorID, tt.survivor)
			}
			if ds, _ := st.Decisions(ctx(), g.ID); len(ds) != 1 || ds[0].Survivor != tt.d.Survivor || !ds[0].At.Equal(t0) {
				t.Errorf("decisions = %+v (a zero At is the store's clock)", ds)
			}
		})
	}
}

// staleStore returns the groups as they were when it was made, as a process
// that read them just before another one changed them would see them.
type staleStore struct {
	cm.Store
	groups []cm.Group
}

func (s staleStore) Groups(context.Context, cm.GroupFilter) ([]cm.Group, error) { return s.groups, nil }

func TestDecideWhere(t *testing.T) {
	st := openStore(t)
	gs := seed(t, st, group(0.99, "a1", "a2"), group(0.9, "b1", "b2"), group(0.7, "c1", "c2"), group(0.95, "d1", "d2"))
	gs[3] = move(t, st, gs[3], cm.StateRejected)
	proposed := cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}}

	// Read, then another process approves B: B is skipped, not an error.
	before, err := st.Groups(ctx(), cm.GroupFilter{States: proposed.States, MinConfidence: 0.85})
	if err != nil {
		t.Fatal(err)
	}
	move(t, st, gs[1], cm.StateApproved)
	out, err := review.DecideWhere(ctx(), staleStore{st, before}, proposed, false, "bob", "not the same", now)
	if n := out.Decided; err != nil || n != 1 || len(out.Held) != 0 {
		t.Fatalf("DecideWhere over a stale read = %+v, %v; want 1 (B skipped)", out, err)
	}
	want := []cm.GroupState{cm.StateRejected, cm.StateApproved, cm.StateProposed, cm.StateRejected}
	if got := states(t, st, gs...); !slices.Equal(got, want) {
		t.Fatalf("states = %v, want %v", got, want)
	}

	// A filter selecting a group the decision cannot apply to stops with
	// EINVALID.
	_, err = review.DecideWhere(ctx(), st, cm.GroupFilter{IDs: []string{gs[1].ID}}, true, "bob", "", now)
	if !cm.IsCode(err, cm.EINVALID) {
		t.Errorf("approving an approved group: err = %v, want EINVALID", err)
	}
}

func TestApproveAbove(t *testing.T) {
	tests := []struct {
		threshold float64
		want      []cm.GroupState
	}{
		{0.9, []cm.GroupState{cm.StateApproved, cm.StateApproved, cm.StateProposed, cm.StateRejected}},
		{0.95, []cm.GroupState{cm.StateApproved, cm.StateProposed, cm.StateProposed, cm.StateRejected}},
		{0, []cm.GroupState{cm.StateApproved, cm.StateApproved, cm.StateApproved, cm.StateRejected}},
		{1.01, []cm.GroupState{cm.StateProposed, cm.StateProposed, cm.StateProposed, cm.StateRejected}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.threshold), func(t *testing.T) {
			st := openStore(t)
			gs := seed(t, st, group(0.99, "a1", "a2"), group(0.9, "b1", "b2"), group(0.7, "c1", "c2"), group(0.95, "d1", "d2"))
			gs[3] = move(t, st, gs[3], cm.StateRejected) // a rejection is never overturned by the policy
			n, err := review.ApproveAbove(ctx(), st, tt.threshold, "demo", now)
			if err != nil {
				t.Fatal(err)
			}
			got := states(t, st, gs...)
			if !slices.Equal(got, tt.want) || n != countState(tt.want, cm.StateApproved) {
				t.Fatalf("ApproveAbove(%g) = %d, states %v; want %v", tt.threshold, n, got, tt.want)
			}
			ds, err := st.Decisions(ctx(), gs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want[0] == cm.StateApproved && (len(ds) != 1 || ds[0].Actor != "demo (policy)" || ds[0].Reason != review.PolicyReason) {
				t.Errorf("policy decision = %+v", ds)
			}
		})
	}
}

func countState(s []cm.GroupState, want cm.GroupState) int {
	n := 0
	for _, x := range s {
		if x == want {
			n++
		}
	}
	return n
}
