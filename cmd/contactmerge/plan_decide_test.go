package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
)

func TestNewCmdPlanDecide(t *testing.T) {
	approve := func(f *Factory, runF func(*planDecideOptions) error) *cobra.Command {
		return newCmdPlanDecide(f, true, runF)
	}
	reject := func(f *Factory, runF func(*planDecideOptions) error) *cobra.Command {
		return newCmdPlanDecide(f, false, runF)
	}
	tests := []struct {
		name    string
		newCmd  func(*Factory, func(*planDecideOptions) error) *cobra.Command
		args    string
		want    planDecideOptions // flags only
		code    int
		message string
	}{
		{name: "approve --all", newCmd: approve, args: "--all", want: planDecideOptions{approve: true, all: true, minConfidence: -1, actor: "ann"}},
		{name: "approve --min-confidence", newCmd: approve, args: "--min-confidence 0.9 --reason checked --actor bob",
			want: planDecideOptions{approve: true, minConfidence: 0.9, reason: "checked", actor: "bob"}},
		{name: "approve --min-confidence 0", newCmd: approve, args: "--min-confidence 0", want: planDecideOptions{approve: true, minConfidence: 0, actor: "ann"}},
		{name: "approve --group twice", newCmd: approve, args: "--group g_1 --group g_2",
			want: planDecideOptions{approve: true, minConfidence: -1, groups: []string{"g_1", "g_2"}, actor: "ann"}},
		{name: "reject --group", newCmd: reject, args: "--group g_1", want: planDecideOptions{minConfidence: -1, groups: []string{"g_1"}, actor: "ann"}},
		{name: "reject --all", newCmd: reject, args: "--all", want: planDecideOptions{all: true, minConfidence: -1, actor: "ann"}},
		{name: "nothing chosen", newCmd: approve, args: "", code: exitUsage, message: "give exactly one of --all, --min-confidence or --group"},
		{name: "two chosen", newCmd: approve, args: "--all --group g_1", code: exitUsage, message: "give exactly one of"},
		{name: "three chosen", newCmd: approve, args: "--all --group g_1 --min-confidence 0.5", code: exitUsage, message: "give exactly one of"},
		{name: "confidence above 1", newCmd: approve, args: "--min-confidence 1.5", code: exitUsage, message: "--min-confidence must be between 0 and 1 (got 1.5)"},
		{name: "reject has no --min-confidence", newCmd: reject, args: "--min-confidence 0.5", code: exitUsage, message: "unknown flag: --min-confidence"},
		{name: "no arguments", newCmd: reject, args: "--all g_1", code: exitUsage, message: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, code, msg := parse(t, map[string]string{"USER": "ann"}, tt.newCmd, strings.Fields(tt.args)...)
			if tt.code != 0 {
				wantRefused(t, code, msg, tt.code, tt.message)
				return
			}
			if code != 0 {
				t.Fatalf("refused: %d %s", code, msg)
			}
			w := tt.want
			if o.approve != w.approve || o.all != w.all || o.minConfidence != w.minConfidence || !slices.Equal(o.groups, w.groups) ||
				o.reason != w.reason || o.actor != w.actor {
				t.Errorf("options %+v\nwant    %+v", *o, w)
			}
		})
	}
}

func TestPlanDecideRun(t *testing.T) {
	db, st, a, b := planFixture(t)
	env := []string{"CONTACTMERGE_DB=" + db, "USER=steward"}
	r := run(t, env, "plan", "reject", "--group", "g_nonexistent")
	if r.code != exitUsage || !strings.Contains(r.err, "no group g_nonexistent") {
		t.Errorf("unknown group: code %d %q", r.code, r.err)
	}
	r = run(t, env, "plan", "approve", "--min-confidence", "0.92", "--reason", "sure")
	if r.code != 0 || r.out != "approved 1 group(s)\n" || groupState(t, st, a.ID) != cm.StateApproved || groupState(t, st, b.ID) != cm.StateProposed {
		t.Fatalf("approve --min-confidence: code %d %q %q", r.code, r.out, r.err)
	}
	ds, err := st.Decisions(context.Background(), a.ID)
	if err != nil || len(ds) != 1 || ds[0].Actor != "steward" || ds[0].Reason != "sure" || !ds[0].Approve {
		t.Errorf("decision of A = %+v, %v", ds, err)
	}
	// An approved group can be rejected by id, not approved again.
	if r = run(t, env, "plan", "approve", "--group", a.ID); r.code != exitUsage || !strings.Contains(r.err, "cannot be approved") {
		t.Errorf("approving an approved group: code %d %q", r.code, r.err)
	}
	if r = run(t, env, "plan", "reject", "--group", a.ID, "--group", b.ID); r.code != 0 || r.out != "rejected 2 group(s)\n" {
		t.Errorf("reject by id: code %d %q %q", r.code, r.out, r.err)
	}
	if r = run(t, env, "plan", "reject", "--all"); r.code != 0 || r.out != "rejected 0 group(s)\n" {
		t.Errorf("reject --all with nothing proposed: code %d %q %q", r.code, r.out, r.err)
	}
}
