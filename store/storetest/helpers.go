package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testclock"
	"github.com/contactmerge/contactmerge/store"
)

// Clock is the suite's clock: testclock.Clock, under the name the engine
// tests still use.
type Clock = testclock.Clock

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return testclock.New(t) }

// t0 is the suite's start time.
func t0() time.Time { return time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC) }

// env is one test's store on its own database.
type env struct {
	t     *testing.T
	h     Harness
	dsn   string
	s     store.Store
	clock *Clock
}

// normalizer is the suite's Normalizer: "<lastName>|<workEmail>".
func normalizer(c *cm.Contact) []byte { return []byte(c.LastName + "|" + c.WorkEmail) }

// open opens the store at dsn with the suite's normalizer and clock,
// closing it at cleanup.
func open(t *testing.T, h Harness, dsn string, clock *Clock) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn, store.Options{Normalizer: normalizer, Now: clock.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newEnv opens a store on a fresh database.
func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	dsn := h.NewDSN(t)
	clock := NewClock(t0())
	return &env{t: t, h: h, dsn: dsn, s: open(t, h, dsn, clock), clock: clock}
}

// groupsByMember returns, for each of ids that is a member of any group, the
// ids of those groups in order, read from group_members itself.
func (e *env) groupsByMember(ids ...string) map[string][]string {
	e.t.Helper()
	q := "SELECT member_id, group_id FROM group_members WHERE member_id IN ('" +
		strings.Join(ids, "', '") + "') ORDER BY member_id, group_id"
	out := make(map[string][]string)
	for _, r := range e.h.Query(e.t, e.dsn, q) {
		out[r[0]] = append(out[r[0]], r[1])
	}
	return out
}

// ctx is the context of every store call.
func ctx() context.Context { return context.Background() }

// contact returns a full contact (division, phone, JSON field) named last.
func contact(id, last string, md time.Time) cm.Contact {
	return cm.Contact{
		ID: id, FirstName: "Ann", LastName: last, WorkEmail: last + "@example.com",
		Division: &cm.Ref{ID: "d1"}, Type: cm.TypeCurated, ModifyDate: md,
		CellPhone: &cm.PhoneNumber{Display: "+1 317-555-0100", E164: "+13175550100"},
		TwitterID: json.RawMessage(`{"screenName":"x"}`),
	}
}

// must fails t on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails t unless err has the given cm error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if cm.ErrorCode(err) != code {
		t.Fatalf("error = %v (code %q), want code %q", err, cm.ErrorCode(err), code)
	}
}

// ledgerRows returns the ledger rows matching f.
func ledgerRows(t *testing.T, s store.Store, f cm.LedgerFilter) []cm.LedgerEvent {
	t.Helper()
	var out []cm.LedgerEvent
	must(t, s.Ledger(ctx(), f, func(e cm.LedgerEvent) error { out = append(out, e); return nil }))
	return out
}

// group returns a proposal of members (at least two) with a merged record,
// an explanation and an unkept value.
func group(conf float64, members ...string) cm.Group {
	return cm.Group{
		Members: members, SurvivorID: members[0], Confidence: conf,
		Merged:      &cm.Contact{ID: members[0], LastName: "Merged"},
		Explanation: &cm.Explanation{Links: []cm.PairEvidence{{A: members[0], B: members[1], Weight: 9.5, Probability: conf}}},
		Unkept:      []cm.UnkeptValue{{ContactID: members[1], Field: "otherPhone", Value: "+15550000"}},
	}
}

// seedGroup creates one proposed group and returns it.
func seedGroup(t *testing.T, s store.Store, members ...string) cm.Group {
	t.Helper()
	_, err := s.SaveProposals(ctx(), []cm.Group{group(0.9, members...)}, "seed")
	must(t, err)
	g, err := s.Group(ctx(), cm.GroupID(members))
	must(t, err)
	return g
}

// seedGroups creates proposed groups in one match run.
func seedGroups(t *testing.T, s store.Store, gs ...cm.Group) {
	t.Helper()
	_, err := s.SaveProposals(ctx(), gs, "seed")
	must(t, err)
}

// countLedger returns the number of ledger rows.
func countLedger(t *testing.T, s store.Store) int {
	t.Helper()
	return len(ledgerRows(t, s, cm.LedgerFilter{}))
}
