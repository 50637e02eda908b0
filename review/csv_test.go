package review_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

// csvFixture seeds groups A, B (proposed), C (rejected) and D (merged) and
// returns the store and the groups by letter.
func csvFixture(t *testing.T) (cm.Store, map[string]cm.Group) {
	t.Helper()
	st := openStore(t)
	gs := seed(t, st, group(0.95, "a1", "a2"), group(0.9, "b1", "b2", "b3"), group(0.8, "c1", "c2"), group(0.99, "d1", "d2"))
	gs[2] = move(t, st, gs[2], cm.StateRejected)
	gs[3] = move(t, st, gs[3], cm.StateApproved, cm.StateReady, cm.StateInFlight, cm.StateMerged)
	return st, map[string]cm.Group{"A": gs[0], "B": gs[1], "C": gs[2], "D": gs[3]}
}

// expand replaces {A}… with the ids of the fixture's groups.
func expand(s string, gs map[string]cm.Group) string {
	for k, g := range gs {
		s = strings.ReplaceAll(s, "{"+k+"}", g.ID)
	}
	return s
}

func TestReadDecisionsCSV(t *testing.T) {
	type row struct {
		line     int
		group    string
		approve  bool
		survivor string
		reason   string
		split    string
	}
	tests := []struct {
		name string
		csv  string
		want []row
		// bad lists "LINE: substring" for every expected line error.
		bad []string
		// fatal is a substring of the error for a file that cannot be read.
		fatal string
	}{
		{name: "decisions, aliases, blanks and a reason",
			csv: "groupId,state,decision,survivorId,reason\n" +
				"{A},proposed,approve,,looks right\n" +
				"{B},proposed, Rejected ,,\n" +
				",,,,\n" +
				"{C},rejected,,,\n",
			want: []row{{line: 2, group: "A", approve: true, reason: "looks right"}, {line: 3, group: "B"}}},
		{name: "another survivor",
			csv:  "groupId,decision,survivorId\n{A},yes,a2\n{B},y,b1\n",
			want: []row{{line: 2, group: "A", approve: true, survivor: "a2"}, {line: 3, group: "B", approve: true}}},
		{name: "a decided group keeps its survivor",
			csv: "groupId,decision,survivorId\n{C},reject,c2\n",
			bad: []string{"2: group {C} is rejected and cannot be rejected"}},
		{name: "already so", csv: "groupId,decision\n{C},reject\n", want: nil},
		{name: "columns in any order, only groupId and decision needed",
			csv:  "decision,groupId\napprove,{A}\n",
			want: []row{{line: 2, group: "A", approve: true}}},
		{name: "quoted fields spanning lines keep the line of the record",
			csv:  "groupId,decision,reason\n{A},approve,\"two\nlines\"\n{B},reject,\n",
			want: []row{{line: 2, group: "A", approve: true, reason: "two\nlines"}, {line: 4, group: "B"}}},
		{name: "a UTF-8 byte-order mark before a quoted header",
			csv:  "\ufeff\"groupId\",\"decision\"\r\n{A},approve\r\n",
			want: []row{{line: 2, group: "A", approve: true}}},
		{name: "every bad row is reported",
			csv: "groupId,decision,survivorId\n" +
				"{A},maybe,\n" +
				"g_nonexistent,approve,\n" +
				"{B},approve,zz\n" +
				"{D},reject,\n" +
				"{C},approve,\n" +
				"{C},reject,\n",
			bad: []string{
				`2: decision "maybe" is not approve, reject, split or empty`,
				`3: no group "g_nonexistent"`,
				"4: survivorId zz is not a member of group {B}",
				"5: group {D} is already merged (into canon-d1): a decision can no longer change it",
				"7: group {C} already decided on line 6",
			}},
		{name: "a split names members; approve and reject do not",
			csv: "groupId,decision,members\n" +
				"{B},split,b3\n" +
				"{A},approve,a1\n" +
				"{A},reject,a1 a2\n",
			bad: []string{
				"3: members is only for decision split (to reject those members against the rest); clear it to approve the whole group",
				"4: members is only for decision split",
			}},
		{name: "split members: separators, errors",
			csv:  "groupId,decision,members\n{B},SPLIT,\"b3, b1\"\n",
			want: []row{{line: 2, group: "B", split: "b1 b3"}}},
		{name: "bad split members",
			csv: "groupId,decision,members\n{B},split,b9\n{A},split,a1 a2\n{C},split,c1\n",
			bad: []string{
				"2: b9 is not a member (members: b1, b2, b3)",
				"3: a split names some members, not all of them",
				"4: group {C} is already rejected with other pairs: unreject it first",
			}},
		{name: "a split without members",
			csv: "groupId,decision,members\n{B},split,\n",
			bad: []string{"2: decision split needs the members to split off in the members column"}},
		{name: "a bare quote in the first field",
			csv: "groupId,decision\nab\"c,Ann\n{A},approve\n",
			bad: []string{`2: parse error: bare " in non-quoted-field (column 3)`}},
		{name: "an unterminated quote in the first field",
			csv: "groupId,decision\n{A},approve\n\"ab,approve\n{B},reject\n",
			bad: []string{`3: parse error: extraneous or missing " in quoted-field (line 4, column`}},
		{name: "a parse error in the header", csv: "group\"Id,decision\n{A},approve\n",
			fatal: `plan.csv:1: parse error: bare " in non-quoted-field (column 6)`},
		{name: "a repeated column", csv: "groupId,decision,reason,decision\n{A},approve,,reject\n",
			fatal: `plan.csv:1: column "decision" appears twice (columns 2 and 4)`},
		{name: "a repeated column after trimming", csv: "groupId, decision ,decision\n",
			fatal: `plan.csv:1: column "decision" appears twice`},
		{name: "no decision column", csv: "groupId,state\n{A},proposed\n", fatal: `plan.csv:1: the header has no "decision" column`},
		{name: "empty file", csv: "", fatal: "plan.csv:1: the file is empty"},
		{name: "only a byte-order mark", csv: "\ufeff", fatal: "plan.csv:1: the file is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, gs := csvFixture(t)
			rows, bad, err := review.ReadDecisionsCSV(ctx(), st, strings.NewReader(expand(tt.csv, gs)), "plan.csv")
			if tt.fatal != "" {
				if err == nil || !strings.Contains(err.Error(), tt.fatal) || !cm.IsCode(err, cm.EINVALID) {
					t.Fatalf("err = %v, want EINVALID containing %q", err, tt.fatal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotBad []string
			for _, e := range bad {
				if e.File != "plan.csv" {
					t.Errorf("line error names file %q", e.File)
				}
				gotBad = append(gotBad, e.Error())
			}
			if len(gotBad) != len(tt.bad) {
				t.Fatalf("line errors:\n%s\nwant %d: %q", strings.Join(gotBad, "\n"), len(tt.bad), tt.bad)
			}
			for i, want := range tt.bad {
				if want = "plan.csv:" + expand(want, gs); !strings.HasPrefix(gotBad[i], want) {
					t.Errorf("line error %d = %q, want prefix %q", i, gotBad[i], want)
				}
			}
			if len(bad) > 0 && rows != nil {
				t.Errorf("rows returned beside line errors: %+v", rows)
			}
			var got []row
			for _, r := range rows {
				letter := ""
				for k, g := range gs {
					if g.ID == r.Group.ID {
						letter = k
						if r.Group.Version != g.Version || r.Group.State != g.State {
							t.Errorf("line %d: group read as %s v%d, stored %s v%d", r.Line, r.Group.State, r.Group.Version, g.State, g.Version)
						}
					}
				}
				if r.File != "plan.csv" {
					t.Errorf("line %d: file %q", r.Line, r.File)
				}
				got = append(got, row{r.Line, letter, r.Approve, r.Survivor, r.Reason, strings.Join(r.Split, " ")})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("rows = %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}

// TestApply: the rows are applied with the actor and time given, as
// decisions of the store.
func TestApply(t *testing.T) {
	st, gs := csvFixture(t)
	rows, bad, err := review.ReadDecisionsCSV(ctx(), st, strings.NewReader(expand(
		"groupId,decision,survivorId,reason\n{A},approve,a2,same person\n{B},reject,,\n{C},approve,,\n", gs)), "plan.csv")
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	if err := review.Apply(ctx(), st, rows, "steward", t0); err != nil {
		t.Fatal(err)
	}
	want := []cm.GroupState{cm.StateApproved, cm.StateRejected, cm.StateApproved}
	if got := states(t, st, gs["A"], gs["B"], gs["C"]); !slices.Equal(got, want) {
		t.Fatalf("states = %v, want %v", got, want)
	}
	if a := get(t, st, gs["A"].ID); a.SurvivorID != "a2" {
		t.Errorf("survivor of A = %s, want a2", a.SurvivorID)
	}
	ds, err := st.Decisions(ctx(), gs["A"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || !ds[0].Approve || ds[0].Actor != "steward" || ds[0].Reason != "same person" || ds[0].Survivor != "a2" || !ds[0].At.Equal(t0) {
		t.Errorf("decisions of A = %+v", ds)
	}
}

// TestApplyWriteFailure is the regression test of a write that fails after
// every row was validated: it used to leave the rows before it applied; now
// the file applies in one store transaction, so nothing is applied, the
// error says so and keeps the cause, and importing the same file again
// applies all of it.
func TestApplyWriteFailure(t *testing.T) {
	st, gs := csvFixture(t)
	file := expand("groupId,decision\n{A},approve\n{B},reject\n{C},approve\n", gs)
	rows, bad, err := review.ReadDecisionsCSV(ctx(), st, strings.NewReader(file), "plan.csv")
	if err != nil || len(bad) > 0 || len(rows) != 3 {
		t.Fatal(rows, bad, err)
	}
	err = review.Apply(ctx(), failingStore{Store: st, failOn: gs["B"].ID}, rows, "steward", t0)
	if !errors.Is(err, errDisk) {
		t.Errorf("the cause is not kept: %v", err)
	}
	for _, want := range []string{"plan.csv", "disk I/O error", "nothing was applied", "import it again"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	want := []cm.GroupState{cm.StateProposed, cm.StateProposed, cm.StateRejected} // as the fixture left them
	if got := states(t, st, gs["A"], gs["B"], gs["C"]); !slices.Equal(got, want) {
		t.Fatalf("states after the failure = %v, want %v (nothing applied)", got, want)
	}

	// Importing the same file again applies all of it.
	rows, bad, err = review.ReadDecisionsCSV(ctx(), st, strings.NewReader(file), "plan.csv")
	if err != nil || len(bad) > 0 || len(rows) != 3 {
		t.Fatal(rows, bad, err)
	}
	if err := review.Apply(ctx(), st, rows, "steward", t0); err != nil {
		t.Fatal(err)
	}
	want = []cm.GroupState{cm.StateApproved, cm.StateRejected, cm.StateApproved}
	if got := states(t, st, gs["A"], gs["B"], gs["C"]); !slices.Equal(got, want) {
		t.Fatalf("states after the second import = %v, want %v", got, want)
	}
}

// TestApplyChangedMeanwhile: a group another process decided after the file
// was read makes Apply refuse the whole file, before writing anything.
func TestApplyChangedMeanwhile(t *testing.T) {
	st, gs := csvFixture(t)
	rows, bad, err := review.ReadDecisionsCSV(ctx(), st, strings.NewReader(expand("groupId,decision\n{A},approve\n{B},approve\n", gs)), "plan.csv")
	if err != nil || len(bad) > 0 {
		t.Fatal(bad, err)
	}
	move(t, st, gs["B"], cm.StateRejected)
	err = review.Apply(ctx(), st, rows, "steward", t0)
	if !cm.IsCode(err, cm.ECONFLICT) || !strings.Contains(err.Error(), "plan.csv:3") || !strings.Contains(err.Error(), "nothing was applied") {
		t.Fatalf("err = %v, want ECONFLICT naming plan.csv:3 and saying nothing was applied", err)
	}
	if got := states(t, st, gs["A"]); got[0] != cm.StateProposed {
		t.Errorf("A is %s after a refused import", got[0])
	}
}
