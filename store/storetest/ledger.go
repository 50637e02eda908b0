package storetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

func testLedger(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	seedGroups(t, s, group(0.9, "p1", "p2"), group(0.9, "q1", "q2"))
	g1, g2 := cm.Group{ID: cm.GroupID([]string{"p1", "p2"})}, cm.Group{ID: cm.GroupID([]string{"q1", "q2"})}
	must(t, s.AppendLedger(ctx(),
		cm.LedgerEvent{GroupID: g1.ID, Detail: "note 1"},
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: g2.ID, Status: 504, At: t0().Add(-time.Hour)},
	))
	wantCode(t, s.AppendLedger(ctx(), cm.LedgerEvent{Kind: cm.LedgerTransition, GroupID: g1.ID}), cm.EINVALID)
	wantCode(t, s.AppendLedger(ctx(), cm.LedgerEvent{BeforeImages: json.RawMessage("{bad")}), cm.EINVALID)
	all := ledgerRows(t, s, cm.LedgerFilter{})
	if len(all) != 4 {
		t.Fatalf("ledger has %d rows, want 4: %+v", len(all), all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("ledger not in sequence order: %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
	if all[2].Kind != cm.LedgerNote || all[2].At != t0() || all[3].At != t0().Add(-time.Hour) {
		t.Fatalf("defaults: %+v %+v", all[2], all[3])
	}
	if r := ledgerRows(t, s, cm.LedgerFilter{GroupID: g2.ID}); len(r) != 2 {
		t.Fatalf("by group: %d rows", len(r))
	}
	if r := ledgerRows(t, s, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerAPI, cm.LedgerNote}}); len(r) != 2 {
		t.Fatalf("by kinds: %d rows", len(r))
	}
	if r := ledgerRows(t, s, cm.LedgerFilter{AfterSeq: all[1].Seq, Limit: 1}); len(r) != 1 || r[0].Seq != all[2].Seq {
		t.Fatalf("after seq + limit: %+v", r)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Ledger(ctx(), cm.LedgerFilter{}, func(cm.LedgerEvent) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Ledger did not stop: %v %d", err, n)
	}
}

func testLedgerImmutable(t *testing.T, h Harness) {
	e := newEnv(t, h)
	seedGroup(t, e.s, "i1", "i2")
	for _, q := range []string{
		"UPDATE ledger SET detail = 'forged'",
		"DELETE FROM ledger",
	} {
		if err := h.Exec(t, e.dsn, q); err == nil {
			t.Errorf("%q succeeded on the ledger", q)
		}
	}
	rows := ledgerRows(t, e.s, cm.LedgerFilter{})
	if len(rows) != 1 || rows[0].Detail == "forged" {
		t.Fatalf("ledger changed: %+v", rows)
	}
}
