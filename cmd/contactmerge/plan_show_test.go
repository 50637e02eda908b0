package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
)

func TestNewCmdPlanShow(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdPlanShow)
	if code != 0 || o.groupID != "" || o.limit != 50 || o.states != nil || o.sort != "review" || o.minConfidence != -1 ||
		o.maxConfidence != -1 || o.approveThreshold != -1 || o.width != 0 || o.asJSON {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdPlanShow, "g_1", "--json", "--width", "90")
	if o.groupID != "g_1" || !o.asJSON || o.width != 90 {
		t.Errorf("group argument: %+v", o)
	}
	o, _, _ = parse(t, nil, newCmdPlanShow, "--state", "failed,quarantined", "--limit", "0", "--sort", "-size",
		"--min-confidence", "0.5", "--max-confidence", "0.99", "--size", "3", "--approve-threshold", "0.9")
	if !slices.Equal(o.states, []cm.GroupState{cm.StateFailed, cm.StateQuarantined}) || o.limit != 0 || o.sort != "-size" ||
		o.minConfidence != 0.5 || o.maxConfidence != 0.99 || o.minSize != 3 || o.maxSize != 3 || o.approveThreshold != 0.9 {
		t.Errorf("flags: %+v", o)
	}
	o, _, _ = parse(t, nil, newCmdPlanShow, "--min-size", "2", "--max-size", "8")
	if o.minSize != 2 || o.maxSize != 8 {
		t.Errorf("--min-size --max-size: %+v", o)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"g_1", "g_2"}, "plan show takes at most one group id"},
		{[]string{"--state", "done"}, `--state: "done" is not a group state`},
		{[]string{"--sort", "name"}, `--sort: "name" is not one of review, confidence, -confidence, size, -size, state, id`},
		{[]string{"--min-confidence", "1.5"}, "--min-confidence must be between 0 and 1 (got 1.5)"},
		{[]string{"--approve-threshold", "-0.1"}, "--approve-threshold must be between 0 and 1 (got -0.1)"},
		{[]string{"--min-confidence", "0.9", "--max-confidence", "0.5"}, "--min-confidence 0.9 is above --max-confidence 0.5"},
		{[]string{"--size", "3", "--min-size", "2"}, "give --size or --min-size/--max-size, not both"},
		{[]string{"--min-size", "5", "--max-size", "2"}, "--min-size 5 is above --max-size 2"},
		{[]string{"--limit", "-1"}, "--limit must not be negative (got -1)"},
		{[]string{"--width", "-3"}, "--width must not be negative (got -3)"},
	} {
		_, code, msg = parse(t, nil, newCmdPlanShow, tt.args...)
		wantRefused(t, code, msg, exitUsage, tt.want)
	}
}

// TestPlanShowStyle: the width comes from --width, else the terminal, else
// $COLUMNS, else 120; colour only on a terminal without NO_COLOR.
func TestPlanShowStyle(t *testing.T) {
	for _, tt := range []struct {
		name  string
		env   map[string]string
		tty   bool
		width int
		want  review.Style
	}{
		{"default", nil, false, 0, review.Style{Width: 120}},
		{"COLUMNS", map[string]string{"COLUMNS": "99"}, false, 0, review.Style{Width: 99}},
		{"bad COLUMNS", map[string]string{"COLUMNS": "wide"}, false, 0, review.Style{Width: 120}},
		{"--width wins", map[string]string{"COLUMNS": "99"}, false, 70, review.Style{Width: 70}},
		// A TTY flag on a buffer: no size to ask for, so $COLUMNS; colour on.
		{"terminal", map[string]string{"COLUMNS": "132"}, true, 0, review.Style{Width: 132, Color: true}},
		{"NO_COLOR", map[string]string{"NO_COLOR": "1"}, true, 0, review.Style{Width: 120}},
	} {
		o := &planShowOptions{IO: IO{Out: &bytes.Buffer{}, TTY: tt.tty}, Getenv: func(k string) string { return tt.env[k] }, width: tt.width}
		if got := o.style(); got != tt.want {
			t.Errorf("%s: style %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestPlanShowRun(t *testing.T) {
	db, st, a, b := planFixture(t)
	env := []string{"CONTACTMERGE_DB=" + db}
	if _, err := st.Transition(context.Background(), cm.Transition{GroupID: b.ID, To: cm.StateRejected, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// Review order: A (0.95) is proposed below the approve threshold and
	// comes first; the rejected B after it.
	r := run(t, env, "plan", "show")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 4 || lines[0] != "2 group(s); 1 proposed below the approve threshold 0.999 need a person (listed first, least confident first)" ||
		!strings.HasPrefix(lines[1], "GROUP") || !strings.HasPrefix(lines[2], a.ID) || !strings.Contains(lines[2], "needed") ||
		!strings.HasPrefix(lines[3], b.ID) || !strings.Contains(lines[2], "Ann Lee") {
		t.Fatalf("plan show (review order):\n%s%s", r.out, r.err)
	}
	if r = run(t, env, "plan", "show", "--sort", "-confidence"); !strings.HasPrefix(strings.Split(r.out, "\n")[2], a.ID) {
		t.Errorf("--sort -confidence:\n%s", r.out)
	}
	if r = run(t, env, "plan", "show", "--approve-threshold", "0.9"); !strings.HasPrefix(r.out, "2 group(s)\n") {
		t.Errorf("--approve-threshold 0.9: nobody needs a person:\n%s", r.out)
	}
	if r = run(t, env, "plan", "show", "--state", "rejected", "--limit", "1"); !strings.Contains(r.out, b.ID) || strings.Contains(r.out, a.ID) {
		t.Errorf("--state rejected:\n%s", r.out)
	}
	if r = run(t, env, "plan", "show", "--max-confidence", "0.92"); !strings.Contains(r.out, b.ID) || strings.Contains(r.out, a.ID) {
		t.Errorf("--max-confidence:\n%s", r.out)
	}
	if r = run(t, env, "plan", "show", "--limit", "1"); !strings.Contains(r.out, "(1 more; use --limit N to show more, --limit 0 for all)") {
		t.Errorf("--limit 1:\n%s", r.out)
	}
	var list review.ListResult
	r = run(t, env, "plan", "show", "--json", "--limit", "1")
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || list.Total != 2 || list.More != 1 || len(list.Groups) != 1 ||
		list.Groups[0].ID != a.ID || !list.Groups[0].NeedsReview || list.ApproveThreshold != match.DefaultConfig().ApproveThreshold {
		t.Errorf("--json list: %+v, %v\n%s", list, err, r.out)
	}
	// One group: members absent from the snapshot are unknown, the merged
	// record (the group's own then) shows its phone as display and E.164.
	r = run(t, env, "plan", "show", a.ID)
	if r.code != 0 || !strings.Contains(r.out, "group "+a.ID+"  state proposed  confidence 0.9500  survivor a1") ||
		!strings.Contains(r.out, "a1 *") || !strings.Contains(r.out, "(unknown)") || !strings.Contains(r.out, "555 0100 (+15550100)") ||
		!strings.Contains(r.out, "why (match weight") {
		t.Errorf("plan show %s:\n%s%s", a.ID, r.out, r.err)
	}
	var v review.GroupView
	r = run(t, env, "plan", "show", a.ID, "--json")
	if err := json.Unmarshal([]byte(r.out), &v); err != nil || v.Group.ID != a.ID || len(v.Members) != 2 || !slices.Equal(v.Unknown, []string{"a1", "a2"}) {
		t.Errorf("--json group: %+v, %v\n%s", v, err, r.out)
	}
	if r = run(t, env, "plan", "show", "g_nonexistent"); r.code != exitUsage || !strings.Contains(r.err, "no group g_nonexistent") {
		t.Errorf("unknown group: code %d %q", r.code, r.err)
	}
}
