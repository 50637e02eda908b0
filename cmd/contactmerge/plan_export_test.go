package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func TestNewCmdPlanExport(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdPlanExport)
	if code != 0 || o.format != "csv" || o.output != "" || o.states != nil {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdPlanExport, "--format", "jsonl", "-o", "plan.jsonl", "--state", "proposed")
	if o.format != "jsonl" || o.output != "plan.jsonl" || !slices.Equal(o.states, []cm.GroupState{cm.StateProposed}) {
		t.Errorf("flags: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdPlanExport, "--format", "json")
	wantRefused(t, code, msg, exitUsage, `--format: "json" is not csv or jsonl`)
	_, code, msg = parse(t, nil, newCmdPlanExport, "--state", "new")
	wantRefused(t, code, msg, exitUsage, `--state: "new" is not a group state`)
}

func TestPlanExportRun(t *testing.T) {
	db, _, a, b := planFixture(t)
	env := []string{"CONTACTMERGE_DB=" + db}
	r := run(t, env, "plan", "export")
	rows, err := csv.NewReader(strings.NewReader(r.out)).ReadAll()
	if r.code != 0 || err != nil || len(rows) != 3 {
		t.Fatalf("plan export: code %d, %v\n%s%s", r.code, err, r.out, r.err)
	}
	if !slices.Equal(rows[0], planCSVHeader()) {
		t.Errorf("header %v", rows[0])
	}
	want := []string{a.ID, "proposed", "", "", "a1", "a1 a2", "0.950000", "2", "Ann Lee", "ann@example.com", "555 0100 (+15550100)", ""}
	if !slices.Equal(rows[1], want) {
		t.Errorf("row of A:\n%q\nwant\n%q", rows[1], want)
	}
	if rows[2][0] != b.ID {
		t.Errorf("second row is not B: %v", rows[2])
	}

	out := filepath.Join(t.TempDir(), "plan.jsonl")
	r = run(t, env, "plan", "export", "--format", "jsonl", "--output", out)
	if r.code != 0 || r.out != "" || r.err != "exported 2 groups to "+out+"\n" {
		t.Fatalf("--output: code %d %q %q", r.code, r.out, r.err)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var ids []string
	for sc := bufio.NewScanner(fh); sc.Scan(); {
		var g cm.Group
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.ID)
	}
	if !slices.Equal(ids, []string{a.ID, b.ID}) {
		t.Errorf("jsonl groups %v", ids)
	}
	if r = run(t, env, "plan", "export", "--output", filepath.Join(t.TempDir(), "no", "such", "dir.csv")); r.code != exitUsage {
		t.Errorf("unwritable --output: code %d %q", r.code, r.err)
	}
}
