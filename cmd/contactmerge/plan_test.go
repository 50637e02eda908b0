package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestParseStates(t *testing.T) {
	tests := []struct {
		in   string
		want []cm.GroupState
		err  string
	}{
		{in: "", want: nil},
		{in: "proposed", want: []cm.GroupState{cm.StateProposed}},
		{in: "failed, quarantined", want: []cm.GroupState{cm.StateFailed, cm.StateQuarantined}},
		{in: "proposed,bogus", err: `--state: "bogus" is not a group state`},
		{in: "proposed,", err: `--state: "" is not a group state`},
	}
	for _, tt := range tests {
		got, err := parseStates(tt.in)
		if tt.err != "" {
			if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseStates(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("parseStates(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestReviewRoundTrip: import → match → export CSV → a steward edits it →
// import → approve → status reflects every decision.
func TestReviewRoundTrip(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CONTACTMERGE_DB=" + filepath.Join(dir, "cm.db"), "USER=steward"}
	generateImportMatch(t, env, dir, sandbox.GenConfig{Contacts: 600, Seed: 4})
	plan := filepath.Join(dir, "plan.csv")
	if r := run(t, env, "plan", "export", "--format", "csv", "--output", plan); r.code != 0 {
		t.Fatalf("export: %s%s", r.out, r.err)
	}
	fh, err := os.Open(plan)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(fh).ReadAll()
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 5 {
		t.Fatalf("only %d plan rows", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range []string{"groupId", "state", "survivorId", "memberIds", "confidence", "decision"} {
		if _, ok := col[need]; !ok {
			t.Fatalf("plan CSV lacks column %q: %v", need, rows[0])
		}
	}
	// The steward approves the first two, rejects the third, and picks
	// another survivor for the first.
	rows[1][col["decision"]] = "approve"
	members := strings.Fields(rows[1][col["memberIds"]])
	alt := members[0]
	if alt == rows[1][col["survivorId"]] {
		alt = members[1]
	}
	rows[1][col["survivorId"]] = alt
	rows[2][col["decision"]] = "approve"
	rows[3][col["decision"]] = "reject"
	writeCSV(t, plan, rows)
	if r := run(t, env, "plan", "import", plan); r.code != 0 {
		t.Fatalf("plan import: %s%s", r.out, r.err)
	}

	// A bad file changes nothing and names every bad line.
	bad := [][]string{rows[0], slices.Clone(rows[4]), slices.Clone(rows[5])}
	bad[1][col["decision"]] = "maybe"
	bad[2][col["groupId"]] = "g_nonexistent"
	bad[2][col["decision"]] = "approve"
	badFile := filepath.Join(dir, "bad.csv")
	writeCSV(t, badFile, bad)
	r := run(t, env, "plan", "import", badFile)
	if r.code != 2 || !strings.Contains(r.err, "bad.csv:2") || !strings.Contains(r.err, "bad.csv:3") || !strings.Contains(r.err, "nothing was applied") {
		t.Fatalf("bad plan import: code %d %q", r.code, r.err)
	}

	r = run(t, env, "status", "--json")
	var status struct {
		Groups map[cm.GroupState]int `json:"groups"`
	}
	if err := json.Unmarshal([]byte(r.out), &status); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.out)
	}
	if status.Groups[cm.StateApproved] != 2 || status.Groups[cm.StateRejected] != 1 {
		t.Fatalf("status after import: %v", status.Groups)
	}
	r = run(t, env, "plan", "show", rows[1][col["groupId"]])
	if r.code != 0 || !strings.Contains(r.out, "survivor "+alt) || !strings.Contains(r.out, "why") {
		t.Errorf("plan show after a survivor change:\n%s%s", r.out, r.err)
	}
	if r := run(t, env, "plan", "approve", "--all"); r.code != 0 {
		t.Fatalf("approve --all: %s", r.err)
	}
	r = run(t, env, "status", "--json")
	_ = json.Unmarshal([]byte(r.out), &status)
	if status.Groups[cm.StateProposed] != 0 || status.Groups[cm.StateRejected] != 1 {
		t.Errorf("after approve --all: %v", status.Groups)
	}
	r = run(t, env, "report", "--format", "csv")
	if r.code != 0 || !strings.Contains(r.out, "steward") || !strings.Contains(r.out, "proposed") {
		t.Errorf("report lacks the decisions:\n%s", r.out)
	}
}
