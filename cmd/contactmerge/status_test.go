package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func TestNewCmdStatus(t *testing.T) {
	if o, code, _ := parse(t, nil, newCmdStatus, "--json"); code != 0 || !o.asJSON {
		t.Errorf("--json: %+v", o)
	}
	_, code, msg := parse(t, nil, newCmdStatus, "now")
	wantRefused(t, code, msg, exitUsage, "unknown command")
}

func TestStatusRun(t *testing.T) {
	db, st, a, _ := planFixture(t)
	ctx := context.Background()
	if err := st.AppendLedger(ctx,
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: a.ID, Status: 200},
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: a.ID, Status: 429},
		cm.LedgerEvent{Kind: cm.LedgerNote, GroupID: a.ID}); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONTACTMERGE_DB=" + db}
	r := run(t, env, "status")
	for _, w := range []string{"store           sqlite", "scan            never run", "groups          2", "  proposed      2", "merge requests  2 (1 throttled)"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("status lacks %q:\n%s", w, r.out)
		}
	}
	r = run(t, env, "status", "--json")
	var rep statusReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatal(err, r.out)
	}
	if rep.GroupsTotal != 2 || rep.Groups[cm.StateProposed] != 2 || rep.Requests.Total != 2 || rep.Requests.ByStatus[429] != 1 || rep.Requests.Throttled != 1 {
		t.Errorf("status --json: %+v", rep)
	}
}
