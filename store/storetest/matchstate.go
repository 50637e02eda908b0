package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// matchStateStore is the match state API of the backends
// (store/matchstate.go).
type matchStateStore interface {
	MatchStamps(ctx context.Context, fn func(id string, modifyDate, updatedAt int64) error) error
	Norms(ctx context.Context, ids []string) (map[string][]byte, error)
	LoadMatchState(ctx context.Context) (map[string][]byte, error)
	ClearMatchState(ctx context.Context) error
	SaveMatch(ctx context.Context, groups []cm.Group, unchanged []string, state map[string][]byte, actor string) (cm.ProposalResult, error)
}

// testMatchState: stamps in byte order of ids with the write time, norms
// by id, and SaveMatch: a full save supersedes what it does not propose,
// an incremental one keeps the unchanged groups (and their decisions) and
// supersedes the rest it does not propose; the state is replaced in the
// same transaction.
func testMatchState(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ms, ok := e.s.(matchStateStore)
	if !ok {
		t.Fatal("the store has no match state methods")
	}
	md := t0().Add(-time.Hour)
	// Upper and lower case: byte order puts "B" before "a".
	must(t, e.s.UpsertContacts(ctx(), []cm.Contact{contact("b", "Lee", md), contact("B", "Kim", md), contact("a", "Ng", md)}))
	e.clock.Advance(time.Second)
	must(t, e.s.UpsertContacts(ctx(), []cm.Contact{contact("c", "Ito", md.Add(time.Minute))}))
	var ids []string
	var mds, ups []int64
	must(t, ms.MatchStamps(ctx(), func(id string, m, u int64) error {
		ids, mds, ups = append(ids, id), append(mds, m), append(ups, u)
		return nil
	}))
	if !slices.Equal(ids, []string{"B", "a", "b", "c"}) {
		t.Fatalf("stamp order %v, want byte order", ids)
	}
	if mds[0] != md.UnixMicro() || mds[3] != md.Add(time.Minute).UnixMicro() {
		t.Fatalf("modify dates %v", mds)
	}
	if ups[0] != t0().UnixMicro() || ups[3] != t0().Add(time.Second).UnixMicro() {
		t.Fatalf("write times %v", ups)
	}
	norms, err := ms.Norms(ctx(), []string{"a", "c", "zz"})
	must(t, err)
	if len(norms) != 2 || string(norms["a"]) != "Ng|Ng@example.com" || string(norms["c"]) != "Ito|Ito@example.com" {
		t.Fatalf("norms %q", norms)
	}

	if parts, err := ms.LoadMatchState(ctx()); err != nil || parts != nil {
		t.Fatalf("state before any match: %v %v", parts, err)
	}
	g1, g2 := group(0.9, "a", "b"), group(0.9, "B", "c")
	state := map[string][]byte{"meta": []byte("one"), "big": bytes.Repeat([]byte{7}, 1<<16), "empty": {}}
	res, err := ms.SaveMatch(ctx(), []cm.Group{g1, g2}, nil, state, "match")
	must(t, err)
	if res.Created != 2 {
		t.Fatalf("full save: %+v", res)
	}
	parts, err := ms.LoadMatchState(ctx())
	must(t, err)
	if len(parts) != 3 || string(parts["meta"]) != "one" || !bytes.Equal(parts["big"], state["big"]) || len(parts["empty"]) != 0 {
		t.Fatalf("state read back: %d parts", len(parts))
	}
	id1, id2 := cm.GroupID(g1.Members), cm.GroupID(g2.Members)
	_, err = e.s.Transition(ctx(), cm.Transition{GroupID: id1, From: []cm.GroupState{cm.StateProposed}, To: cm.StateApproved, Actor: "steward"})
	must(t, err)

	// Incremental: g1 unchanged (approved, kept), g2 not proposed
	// (superseded), g3 new.
	g3 := group(0.95, "B", "c", "zz")
	res, err = ms.SaveMatch(ctx(), []cm.Group{g3}, []string{id1}, map[string][]byte{"meta": []byte("two")}, "match")
	must(t, err)
	if res.Created != 1 || res.Kept != 1 || res.Superseded != 1 {
		t.Fatalf("incremental save: %+v", res)
	}
	if g, err := e.s.Group(ctx(), id1); err != nil || g.State != cm.StateApproved || g.Version != 2 {
		t.Fatalf("unchanged group: %+v %v", g, err)
	}
	_, err = e.s.Group(ctx(), id2)
	wantCode(t, err, cm.ENOTFOUND)
	parts, err = ms.LoadMatchState(ctx())
	must(t, err)
	if len(parts) != 1 || string(parts["meta"]) != "two" {
		t.Fatalf("state replaced: %q", parts)
	}

	must(t, ms.ClearMatchState(ctx()))
	if parts, err := ms.LoadMatchState(ctx()); err != nil || parts != nil {
		t.Fatalf("cleared state: %v %v", parts, err)
	}
}
