package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

func TestNewCmdReportPolicy(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdReportPolicy)
	if code != 0 || o.truth != "" || o.file != "" || o.asJSON {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdReportPolicy, "--truth", "t.json", "--policy", "p.json", "--json")
	if o.truth != "t.json" || o.file != "p.json" || !o.asJSON {
		t.Errorf("flags: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdReportPolicy, "extra")
	wantRefused(t, code, msg, exitUsage, "unknown command")
}

func TestNewCmdPolicyApply(t *testing.T) {
	o, code, msg := parse(t, map[string]string{"USER": "ann"}, newCmdPolicyApply, "p.json")
	if code != 0 || o.file != "p.json" || o.cycle != "" || o.actor != "ann" || o.yes || o.asJSON {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdPolicyApply, "p.json", "--cycle", "c7", "--actor", "cron", "--yes", "--json")
	if o.cycle != "c7" || o.actor != "cron" || !o.yes || !o.asJSON {
		t.Errorf("flags: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdPolicyApply)
	wantRefused(t, code, msg, exitUsage, "accepts 1 arg")
	_, code, msg = parse(t, nil, newCmdPolicyCheck, "a", "b")
	wantRefused(t, code, msg, exitUsage, "accepts 1 arg")
}

// writeFile writes body to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPolicyShadowReport is the shadow-mode path on a generated
// organization: a bad policy file is exit 2 naming the field and changes
// nothing, a file that would approve everything is refused, shadow mode
// records verdicts and approves nothing, report policy compares them with
// a steward's decisions and the ground truth, and enforce mode approves
// only with --yes.
func TestPolicyShadowReport(t *testing.T) {
	dir := t.TempDir()
	db := testdb.SQLite(t)
	env := []string{"CONTACTMERGE_DB=" + db, "USER=ann"}
	cfg := sandbox.GenConfig{Contacts: 500, Seed: 5}
	generateImportMatch(t, env, dir, cfg)
	truth, err := json.Marshal(sandbox.Generate(cfg).Truth)
	if err != nil {
		t.Fatal(err)
	}
	truthFile := writeFile(t, dir, "truth.json", string(truth))

	bad := writeFile(t, dir, "bad.json", "{\n  \"minConfidence\": 0.999,\n  \"maxMergesPerCycle\": \"ten\"\n}")
	r := run(t, env, "policy", "apply", bad)
	if r.code != exitUsage || !strings.Contains(r.err, bad+":3:24: maxMergesPerCycle: want a whole number, got string") {
		t.Fatalf("bad file: code %d %s", r.code, r.err)
	}
	all := writeFile(t, dir, "all.json", `{"mode": "enforce"}`)
	r = run(t, env, "policy", "check", all)
	if r.code != exitUsage || !strings.Contains(r.err, "minConfidence: missing") || !strings.Contains(r.err, `"allowEverything": true`) {
		t.Fatalf("approve-everything file: code %d %s", r.code, r.err)
	}
	good := writeFile(t, dir, "policy.json", `{"minConfidence": 0.999, "maxGroupSize": 3, "maxMergesPerCycle": 1000, "uniqueCustomFields": ["loyaltyId"]}`)
	st := testorg.OpenStore(t, db)
	ctx := context.Background()
	before, err := st.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if vs, err := store.PolicyVerdicts(ctx, st, store.PolicyVerdictFilter{}); err != nil || len(vs) != 0 {
		t.Fatalf("refused files recorded %d verdicts (%v)", len(vs), err)
	}
	r = run(t, env, "policy", "apply", good, "--cycle", "c1")
	if r.code != 0 || !strings.Contains(r.out, "(shadow: nothing approved), cycle c1: would approve") {
		t.Fatalf("shadow apply: code %d %s%s", r.code, r.out, r.err)
	}
	after, err := st.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after[cm.StateProposed] != before[cm.StateProposed] || after[cm.StateApproved] != 0 {
		t.Fatalf("shadow mode changed groups: %v → %v", before, after)
	}
	// A steward rejects one group the policy would approve.
	vs, err := store.PolicyVerdicts(ctx, st, store.PolicyVerdictFilter{Cycle: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	var approvable string
	for _, v := range vs {
		if v.Approve {
			approvable = v.GroupID
			break
		}
	}
	if r := run(t, env, "plan", "reject", "--group", approvable); r.code != 0 {
		t.Fatalf("plan reject: %s%s", r.out, r.err)
	}
	r = run(t, env, "report", "policy", "--truth", truthFile, "--policy", good)
	for _, want := range []string{"minConfidence      confidence ≥ 0.999", "person rejected   FP 1", "vs ground truth", "precision", "Held by guard", approvable} {
		if r.code != 0 || !strings.Contains(r.out, want) {
			t.Fatalf("report policy lacks %q: code %d\n%s%s", want, r.code, r.out, r.err)
		}
	}
	r = run(t, env, "report", "policy", "--json", "--truth", truthFile)
	var out struct{ Agreement policy.Agreement }
	if err := json.Unmarshal([]byte(r.out), &out); err != nil || out.Agreement.Steward.FP != 1 || out.Agreement.Truth == nil || out.Agreement.Truth.Total() != len(vs) {
		t.Fatalf("report policy --json: %v\n%s", err, r.out)
	}
	// Enforce without --yes previews and changes nothing; with it, approves.
	enforce := writeFile(t, dir, "enforce.json", `{"mode": "enforce", "minConfidence": 0.999, "maxMergesPerCycle": 5}`)
	r = run(t, env, "policy", "apply", enforce)
	if r.code != exitUsage || !strings.Contains(r.out, "would approve 5 of") || !strings.Contains(r.err, "pass --yes") {
		t.Fatalf("enforce without --yes: code %d %s%s", r.code, r.out, r.err)
	}
	if n, _ := st.CountByState(ctx); n[cm.StateApproved] != 0 {
		t.Fatalf("enforce without --yes approved %d", n[cm.StateApproved])
	}
	r = run(t, env, "policy", "apply", enforce, "--yes", "--cycle", "c2")
	if n, _ := st.CountByState(ctx); r.code != 0 || n[cm.StateApproved] != 5 || !strings.Contains(r.out, "approved 5 of") {
		t.Fatalf("enforce --yes: %v, code %d %s%s", n, r.code, r.out, r.err)
	}
}
