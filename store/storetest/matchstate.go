package storetest

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// matchStateStore is the match state API of the backends
// (store/matchstate.go).
type matchStateStore interface {
	ContactsWrittenSince(ctx context.Context, since int64, fn func(id string, updatedAt, modifyDate int64) error) error
	LastWritten(ctx context.Context) (int64, error)
	DeletedContacts(ctx context.Context) ([]int64, []string, error)
	Norms(ctx context.Context, ids []string) (map[string][]byte, error)
	LoadMatchState(ctx context.Context) (map[string][]byte, error)
	ClearMatchState(ctx context.Context) error
	SaveMatch(ctx context.Context, groups []cm.Group, unchanged []string, state map[string][]byte, consumed []int64, actor string) (cm.ProposalResult, error)
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
	type row struct {
		id     string
		up, md int64
	}
	written := func(since time.Time) (ids []string, rows []row) {
		t.Helper()
		must(t, ms.ContactsWrittenSince(ctx(), since.UnixMicro(), func(id string, u, m int64) error {
			rows = append(rows, row{id, u, m})
			return nil
		}))
		slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.id, b.id) })
		for _, r := range rows {
			ids = append(ids, r.id)
		}
		return ids, rows
	}
	if ids, rows := written(t0()); !slices.Equal(ids, []string{"B", "a", "b", "c"}) || rows[0].up != t0().UnixMicro() || rows[3].up != t0().Add(time.Second).UnixMicro() ||
		rows[0].md != md.UnixMicro() || rows[3].md != md.Add(time.Minute).UnixMicro() {
		t.Fatalf("written since t0: %v", rows)
	}
	if ids, _ := written(t0().Add(time.Second)); !slices.Equal(ids, []string{"c"}) {
		t.Fatalf("written since t0+1s: %v", ids)
	}
	if last, err := ms.LastWritten(ctx()); err != nil || last != t0().Add(time.Second).UnixMicro() {
		t.Fatalf("LastWritten = %d, %v", last, err)
	}
	// Deletes are logged until a SaveMatch consumes them.
	must(t, e.s.DeleteContacts(ctx(), []string{"b", "nope"}))
	seqs, gone, err := ms.DeletedContacts(ctx())
	must(t, err)
	if len(seqs) != 1 || !slices.Equal(gone, []string{"b"}) {
		t.Fatalf("deleted log %v %v", seqs, gone)
	}
	must(t, e.s.UpsertContacts(ctx(), []cm.Contact{contact("b", "Lee", md)}))
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
	res, err := ms.SaveMatch(ctx(), []cm.Group{g1, g2}, nil, state, seqs, "match")
	must(t, err)
	if s2, _, err := ms.DeletedContacts(ctx()); err != nil || len(s2) != 0 {
		t.Fatalf("deleted log after SaveMatch consumed it: %v %v", s2, err)
	}
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
	res, err = ms.SaveMatch(ctx(), []cm.Group{g3}, []string{id1}, map[string][]byte{"meta": []byte("two")}, nil, "match")
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
