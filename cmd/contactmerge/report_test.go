package main

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

func TestNewCmdReport(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdReport)
	if code != 0 || o.format != "table" || o.groupID != "" || o.idMap || o.afterSeq != 0 {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdReport, "--format", "json", "--group", "g_1", "--id-map", "--after", "7")
	if o.format != "json" || o.groupID != "g_1" || !o.idMap || o.afterSeq != 7 {
		t.Errorf("flags: %+v", o)
	}
	for _, f := range []string{"csv", "table"} {
		if _, code, _ := parse(t, nil, newCmdReport, "--format", f); code != 0 {
			t.Errorf("--format %s refused", f)
		}
	}
	_, code, msg = parse(t, nil, newCmdReport, "--format", "xml")
	wantRefused(t, code, msg, exitUsage, `--format: "xml" is not table, csv or json`)
	_, code, msg = parse(t, nil, newCmdReport, "--after", "last")
	wantRefused(t, code, msg, exitUsage, "--after")
}

func TestLedgerTableRow(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		ev   cm.LedgerEvent
		want string
	}{
		{cm.LedgerEvent{Seq: 1, At: at, Kind: cm.LedgerTransition, GroupID: "g", To: cm.StateProposed, Detail: "created"},
			"1\t2026-05-01 10:00:00\ttransition\tg\t-→proposed\t\tcreated"},
		{cm.LedgerEvent{Seq: 2, At: at, Kind: cm.LedgerTransition, GroupID: "g", From: cm.StateProposed, To: cm.StateApproved, Detail: "approved by ann"},
			"2\t2026-05-01 10:00:00\ttransition\tg\tproposed→approved\t\tapproved by ann"},
		{cm.LedgerEvent{Seq: 3, At: at, Kind: cm.LedgerAPI, GroupID: "g", Status: 200, Request: "merge 2", Detail: "ok", CanonicalID: "n1"},
			"3\t2026-05-01 10:00:00\tapi\tg\t\t200\tmerge 2 ok → n1"},
		{cm.LedgerEvent{Seq: 4, At: at, Kind: cm.LedgerNote, Detail: "re-planned"},
			"4\t2026-05-01 10:00:00\tnote\t\t\t\tre-planned"},
	}
	for _, tt := range tests {
		if got := ledgerTableRow(tt.ev); got != tt.want {
			t.Errorf("ledgerTableRow(%d) = %q, want %q", tt.ev.Seq, got, tt.want)
		}
	}
}

func TestReportRun(t *testing.T) {
	db, st, a, _ := planFixture(t)
	ctx := context.Background()
	// A merged by hand: proposed → … → merged into n1, with the api row of
	// the merge the platform applied (the id map is built from those rows).
	for _, to := range []cm.GroupState{cm.StateApproved, cm.StateReady, cm.StateInFlight, cm.StateMerged} {
		tr := cm.Transition{GroupID: a.ID, To: to, Actor: "test", Update: func(g *cm.Group) { g.CanonicalID = "n1" }}
		if to == cm.StateMerged {
			tr.Events = []cm.LedgerEvent{{Kind: cm.LedgerAPI, Status: 200, CanonicalID: "n1",
				Request: "POST /api/v2/externalcontacts/contacts/merge contactIds=a1,a2 valueOverride=true"}}
		}
		if _, err := st.Transition(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"CONTACTMERGE_DB=" + db}
	r := run(t, env, "report", "--id-map")
	if r.code != 0 || r.out != "oldId,canonicalId,groupId\na1,n1,"+a.ID+"\na2,n1,"+a.ID+"\n" {
		t.Errorf("--id-map:\n%s%s", r.out, r.err)
	}
	r = run(t, env, "report", "--id-map", "--format", "json")
	if r.out != `{"oldId":"a1","canonicalId":"n1","groupId":"`+a.ID+"\"}\n"+`{"oldId":"a2","canonicalId":"n1","groupId":"`+a.ID+"\"}\n" {
		t.Errorf("--id-map --format json:\n%s", r.out)
	}
	r = run(t, env, "report", "--format", "csv", "--group", a.ID)
	rows, err := csv.NewReader(strings.NewReader(r.out)).ReadAll()
	if err != nil || len(rows) != 7 || rows[0][0] != "seq" || rows[5][5] != "merged" || rows[6][2] != "api" {
		t.Errorf("report --format csv --group (header, created, 4 transitions and the api row):\n%s %v", r.out, err)
	}
	r = run(t, env, "report", "--group", a.ID, "--after", rows[4][0])
	if lines := strings.Split(strings.TrimSpace(r.out), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "in_flight→merged") || !strings.Contains(lines[2], "→ n1") {
		t.Errorf("report --after:\n%s", r.out)
	}
}
