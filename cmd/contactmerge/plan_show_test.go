package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func TestNewCmdPlanShow(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdPlanShow)
	if code != 0 || o.groupID != "" || o.limit != 50 || o.states != nil {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdPlanShow, "g_1")
	if o.groupID != "g_1" {
		t.Errorf("group argument: %+v", o)
	}
	o, _, _ = parse(t, nil, newCmdPlanShow, "--state", "failed,quarantined", "--limit", "0")
	if !slices.Equal(o.states, []cm.GroupState{cm.StateFailed, cm.StateQuarantined}) || o.limit != 0 {
		t.Errorf("--state --limit: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdPlanShow, "g_1", "g_2")
	wantRefused(t, code, msg, exitUsage, "plan show takes at most one group id")
	_, code, msg = parse(t, nil, newCmdPlanShow, "--state", "done")
	wantRefused(t, code, msg, exitUsage, `--state: "done" is not a group state`)
}

func TestPlanShowRun(t *testing.T) {
	db, st, a, b := planFixture(t)
	env := []string{"CONTACTMERGE_DB=" + db}
	if _, err := st.Transition(context.Background(), cm.Transition{GroupID: b.ID, To: cm.StateRejected, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	r := run(t, env, "plan", "show")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "GROUP") ||
		!strings.HasPrefix(lines[1], a.ID) || !strings.HasPrefix(lines[2], b.ID) || !strings.Contains(lines[1], "Ann Lee") {
		t.Fatalf("plan show (most confident first):\n%s%s", r.out, r.err)
	}
	if r = run(t, env, "plan", "show", "--state", "rejected", "--limit", "1"); !strings.Contains(r.out, b.ID) || strings.Contains(r.out, a.ID) {
		t.Errorf("--state rejected:\n%s", r.out)
	}
	if r = run(t, env, "plan", "show", "--limit", "1"); !strings.Contains(r.out, "(1 more; --limit 0 shows all)") {
		t.Errorf("--limit 1:\n%s", r.out)
	}
	// One group side by side: members absent from the snapshot are unknown,
	// the merged record shows its phone as display and E.164.
	r = run(t, env, "plan", "show", a.ID)
	if r.code != 0 || !strings.Contains(r.out, "group "+a.ID+"  state proposed  confidence 0.9500  survivor a1") ||
		!strings.Contains(r.out, "a1 *") || !strings.Contains(r.out, "(unknown)") || !strings.Contains(r.out, "555 0100 (+15550100)") ||
		!strings.Contains(r.out, "why (match weight") {
		t.Errorf("plan show %s:\n%s%s", a.ID, r.out, r.err)
	}
	if r = run(t, env, "plan", "show", "g_nonexistent"); r.code != exitUsage || !strings.Contains(r.err, "no group g_nonexistent") {
		t.Errorf("unknown group: code %d %q", r.code, r.err)
	}
}
