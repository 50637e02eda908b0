package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// testQueueRows checks store.QueueRows, the console's read of every
// group's queue columns: state, confidence, members and version as the
// group holds them, the distinct divisions and types of the members in the
// snapshot (a member missing from it adds none), and the ledger's last
// sequence number.
func testQueueRows(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	md := t0().Add(-time.Hour)
	c := func(id, div, typ string) cm.Contact {
		x := contact(id, "L"+id, md)
		x.Division, x.Type = &cm.Ref{ID: div}, typ
		return x
	}
	must(t, s.UpsertContacts(ctx(), []cm.Contact{
		c("a1", "d1", cm.TypeCurated), c("a2", "d1", cm.TypeEphemeral),
		c("b1", "d2", cm.TypeIdentified), c("b2", "d2", cm.TypeIdentified), c("b3", "d3", cm.TypeIdentified),
		c("c1", "d1", cm.TypeCurated), // c2 is not in the snapshot
	}))
	seedGroups(t, s, group(0.5, "a1", "a2"), group(0.75, "b1", "b2", "b3"), group(0.9, "c1", "c2"))
	ga, gb, gc := cm.GroupID([]string{"a1", "a2"}), cm.GroupID([]string{"b1", "b2", "b3"}), cm.GroupID([]string{"c1", "c2"})
	g, err := s.Group(ctx(), gb)
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: gb, From: []cm.GroupState{cm.StateProposed}, Version: g.Version, To: cm.StateRejected})
	must(t, err)

	rows, seq, err := store.QueueRows(ctx(), s, nil)
	must(t, err)
	if last := ledgerRows(t, s, cm.LedgerFilter{}); len(last) == 0 || seq != last[len(last)-1].Seq {
		t.Fatalf("QueueRows: ledger seq %d, want the last row's", seq)
	}
	want := []store.QueueRow{
		{ID: ga, State: cm.StateProposed, Confidence: 0.5, Members: []string{"a1", "a2"}, Version: 1, Divisions: []string{"d1"}, Types: []string{cm.TypeCurated, cm.TypeEphemeral}},
		{ID: gb, State: cm.StateRejected, Confidence: 0.75, Members: []string{"b1", "b2", "b3"}, Version: g.Version + 1, Divisions: []string{"d2", "d3"}, Types: []string{cm.TypeIdentified}},
		{ID: gc, State: cm.StateProposed, Confidence: 0.9, Members: []string{"c1", "c2"}, Version: 1, Divisions: []string{"d1"}, Types: []string{cm.TypeCurated}},
	}
	byID := func(rs []store.QueueRow) map[string]store.QueueRow {
		m := map[string]store.QueueRow{}
		for _, r := range rs {
			m[r.ID] = r
		}
		return m
	}
	if d := cmp.Diff(byID(want), byID(rows)); d != "" {
		t.Fatalf("QueueRows(all) (-want +got):\n%s", d)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i-1].ID >= rows[i].ID {
			t.Fatalf("QueueRows(all) not ordered by id: %s before %s", rows[i-1].ID, rows[i].ID)
		}
	}
	some, _, err := store.QueueRows(ctx(), s, []string{gc, "g_missing", gb})
	must(t, err)
	if len(some) != 2 || some[0].ID > some[1].ID {
		t.Fatalf("QueueRows(gc, missing, gb) = %+v, want the rows of gb and gc in id order", some)
	}
	if d := cmp.Diff(byID([]store.QueueRow{want[1], want[2]}), byID(some)); d != "" {
		t.Fatalf("QueueRows(ids) (-want +got):\n%s", d)
	}
	none, _, err := store.QueueRows(ctx(), s, []string{})
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("QueueRows(no ids) = %+v, want none", none)
	}
}
