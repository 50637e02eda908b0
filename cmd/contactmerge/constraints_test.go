package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdPlanLink(t *testing.T) {
	link := func(f *Factory, runF func(*planLinkOptions) error) *cobra.Command {
		return newCmdPlanLink(f, true, runF)
	}
	unlink := func(f *Factory, runF func(*planLinkOptions) error) *cobra.Command {
		return newCmdPlanLink(f, false, runF)
	}
	env := map[string]string{"USER": "ann"}
	o, code, msg := parse(t, env, link, "c1", "c2", "--reason", "passport")
	if code != 0 || !o.link || o.a != "c1" || o.b != "c2" || o.reason != "passport" || o.actor != "ann" || o.cannot {
		t.Fatalf("link: %+v, code %d %s", o, code, msg)
	}
	o, code, msg = parse(t, env, unlink, "--cannot-link", "c2", "c1", "--actor", "bob")
	if code != 0 || o.link || !o.cannot || o.a != "c2" || o.actor != "bob" {
		t.Fatalf("unlink: %+v, code %d %s", o, code, msg)
	}
	_, code, msg = parse(t, env, link, "c1")
	wantRefused(t, code, msg, exitUsage, "accepts 2 arg(s)")
	_, code, msg = parse(t, env, link, "c1", "c1")
	wantRefused(t, code, msg, exitUsage, "give two different contact ids")
	_, code, msg = parse(t, env, link, "--cannot-link", "c1", "c2")
	wantRefused(t, code, msg, exitUsage, "unknown flag: --cannot-link")

	u, code, msg := parse(t, env, newCmdPlanUnreject, "g_1", "--reason", "oops")
	if code != 0 || u.group != "g_1" || u.reason != "oops" || u.actor != "ann" {
		t.Fatalf("unreject: %+v, code %d %s", u, code, msg)
	}
	_, code, msg = parse(t, env, newCmdPlanUnreject)
	wantRefused(t, code, msg, exitUsage, "accepts 1 arg(s)")

	c, code, msg := parse(t, env, newCmdPlanConstraints, "--json", "--contact", "c1,c2", "--kind", "cannot_link", "--group", "g_1")
	if code != 0 || !c.asJSON || !slices.Equal(c.contacts, []string{"c1", "c2"}) || c.kind != "cannot_link" || c.group != "g_1" {
		t.Fatalf("constraints: %+v, code %d %s", c, code, msg)
	}
	_, code, msg = parse(t, env, newCmdPlanConstraints, "--kind", "maybe")
	wantRefused(t, code, msg, exitUsage, `--kind: "maybe" is not must_link or cannot_link`)

	reject := func(f *Factory, runF func(*planDecideOptions) error) *cobra.Command {
		return newCmdPlanDecide(f, false, runF)
	}
	approve := func(f *Factory, runF func(*planDecideOptions) error) *cobra.Command {
		return newCmdPlanDecide(f, true, runF)
	}
	d, code, msg := parse(t, env, reject, "--group", "g_1", "--members", "c1,c2")
	if code != 0 || !slices.Equal(d.members, []string{"c1", "c2"}) {
		t.Fatalf("reject --members: %+v, code %d %s", d, code, msg)
	}
	_, code, msg = parse(t, env, reject, "--all", "--members", "c1")
	wantRefused(t, code, msg, exitUsage, "--members splits one group: give it with exactly one --group")
	_, code, msg = parse(t, env, reject, "--group", "g_1", "--group", "g_2", "--members", "c1")
	wantRefused(t, code, msg, exitUsage, "exactly one --group")
	_, code, msg = parse(t, env, approve, "--group", "g_1", "--members", "c1")
	wantRefused(t, code, msg, exitUsage, "unknown flag: --members")
}

// constraintFixture is a store with contacts a1..a3, b1, b2 and proposed
// groups A = {a1, a2, a3} and B = {b1, b2}.
func constraintFixture(t *testing.T) (env []string, st cm.Store, a, b cm.Group) {
	t.Helper()
	db := testdb.SQLite(t)
	s := testorg.OpenStore(t, db)
	var cs []cm.Contact
	for _, id := range []string{"a1", "a2", "a3", "b1", "b2"} {
		cs = append(cs, cm.Contact{ID: id, FirstName: "Ann", LastName: "Lee", ModifyDate: t0})
	}
	if err := s.UpsertContacts(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
	a, b = testGroup(0.95, "a1", "a2", "a3"), testGroup(0.9, "b1", "b2")
	if _, err := s.SaveProposals(context.Background(), []cm.Group{a, b}, "match"); err != nil {
		t.Fatal(err)
	}
	return []string{"CONTACTMERGE_DB=" + db, "USER=steward"}, s, a, b
}

// TestPlanConstraintCommands goes through link, unlink, reject --members,
// unreject, constraints and show, with the bad inputs each refuses (exit
// 2, a message naming what and where, nothing changed).
func TestPlanConstraintCommands(t *testing.T) {
	env, st, a, b := constraintFixture(t)
	ctx := context.Background()
	count := func() int {
		cs, err := st.Constraints(ctx, cm.ConstraintFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	refused := func(want string, args ...string) {
		t.Helper()
		n := count()
		r := run(t, env, args...)
		if r.code != exitUsage || !strings.Contains(r.err, want) {
			t.Errorf("%v: code %d %q; want exit 2 with %q", args, r.code, r.err, want)
		}
		if count() != n {
			t.Errorf("%v: a refused command changed the constraints", args)
		}
	}
	ok := func(want string, args ...string) {
		t.Helper()
		r := run(t, env, args...)
		if r.code != 0 || !strings.Contains(r.out, want) {
			t.Fatalf("%v: code %d %q %q; want %q", args, r.code, r.out, r.err, want)
		}
	}
	refused("no contact zz in the store", "plan", "link", "a1", "zz")
	ok("linked a1 and b1", "plan", "link", "a1", "b1", "--reason", "same passport")
	ok("were already linked", "plan", "link", "b1", "a1")
	refused("zz is not a member (members: a1, a2, a3)", "plan", "reject", "--group", a.ID, "--members", "zz")
	ok("rejected 1 group(s)", "plan", "reject", "--group", a.ID, "--members", "a3", "--reason", "other person")
	if got := groupState(t, st, a.ID); got != cm.StateRejected {
		t.Fatalf("split group is %s", got)
	}
	// The split recorded a3 against a1 and a2 only.
	r := run(t, env, "plan", "constraints", "--json")
	var cs []cm.PairConstraint
	if err := json.Unmarshal([]byte(r.out), &cs); err != nil || r.code != 0 {
		t.Fatalf("constraints --json: %v %q %q", err, r.out, r.err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, string(c.Kind)+" "+c.A+"-"+c.B)
	}
	if want := []string{"must_link a1-b1", "cannot_link a1-a3", "cannot_link a2-a3"}; !slices.Equal(got, want) {
		t.Fatalf("constraints %v, want %v", got, want)
	}
	if cs[1].Actor != "steward" || cs[1].Reason != "other person" || cs[1].GroupID != a.ID {
		t.Errorf("split constraint %+v", cs[1])
	}
	r = run(t, env, "plan", "constraints")
	if r.code != 0 || !strings.Contains(r.out, "cannot_link") || !strings.Contains(r.out, a.ID) {
		t.Errorf("constraints table: %q", r.out)
	}
	// A link against the rejection, and the other way round, are refused.
	refused("plan unreject "+a.ID, "plan", "link", "a1", "a3")
	b2 := run(t, env, "plan", "show", a.ID)
	if b2.code != 0 || !strings.Contains(b2.out, "Steward decisions touching these members (3):") ||
		!strings.Contains(b2.out, "a1 – b1 (b1 outside)") || !strings.Contains(b2.out, "this group") {
		t.Errorf("plan show: code %d\n%s%s", b2.code, b2.out, b2.err)
	}
	// Unlink: nothing of that kind; then the link goes.
	refused("no must_link between a1 and a3", "plan", "unlink", "a1", "a3")
	ok("removed 1 must_link between b1 and a1", "plan", "unlink", "b1", "a1")
	// Unreject: only a rejected group, then the split's pairs are lifted.
	refused("is proposed, not rejected", "plan", "unreject", b.ID)
	ok("is proposed again; lifted 2 rejected pair(s)", "plan", "unreject", a.ID)
	if n := count(); n != 0 || groupState(t, st, a.ID) != cm.StateProposed {
		t.Fatalf("after unreject: %d constraints, %s", n, groupState(t, st, a.ID))
	}
	// Approve records must-links; rejecting B over an approved pair is
	// fine (B's pairs are its own), linking across is checked.
	ok("approved 1 group(s)", "plan", "approve", "--group", a.ID)
	if n := count(); n != 3 {
		t.Fatalf("approval recorded %d constraints, want 3", n)
	}
	ok("rejected 1 group(s)", "plan", "reject", "--group", b.ID)
	refused("b1–b2 rejected by steward", "plan", "link", "b2", "b1")
	// Every decision has its ledger row, with its actor.
	var actors []string
	if err := st.Ledger(ctx, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerDecision}}, func(ev cm.LedgerEvent) error {
		actors = append(actors, ev.Actor)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// link, split, unlink, unreject, approve, reject.
	if len(actors) != 6 || slices.ContainsFunc(actors, func(a string) bool { return a != "steward" }) {
		t.Errorf("decision rows by %v", actors)
	}
}

// TestPlanImportConstraints: the decision CSV's split rows, the export's
// members column and constraints, and the rows refused because of
// constraints or because the group is gone or merged.
func TestPlanImportConstraints(t *testing.T) {
	env, st, a, b := constraintFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	if r := run(t, env, "plan", "link", "b1", "b2"); r.code != 0 {
		t.Fatalf("link: %s", r.err)
	}
	// Export: the CSV has an empty members column, the JSONL the
	// constraints of each group.
	r := run(t, env, "plan", "export")
	rows, err := csv.NewReader(strings.NewReader(r.out)).ReadAll()
	if err != nil || r.code != 0 {
		t.Fatal(err, r.err)
	}
	col := slices.Index(rows[0], "members")
	if col < 0 || rows[1][col] != "" {
		t.Fatalf("members column: %v", rows[0])
	}
	r = run(t, env, "plan", "export", "--format", "jsonl")
	withConstraints := map[string]int{}
	for sc := bufio.NewScanner(strings.NewReader(r.out)); sc.Scan(); {
		var g struct {
			ID          string              `json:"groupId"`
			Constraints []cm.PairConstraint `json:"constraints"`
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		withConstraints[g.ID] = len(g.Constraints)
	}
	if withConstraints[a.ID] != 0 || withConstraints[b.ID] != 1 {
		t.Errorf("jsonl constraints per group: %v", withConstraints)
	}

	write := func(body string) string {
		f := filepath.Join(dir, "plan.csv")
		body = strings.NewReplacer("{A}", a.ID, "{B}", b.ID).Replace(body)
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	// Rejecting B contradicts the link; a split of A with a stranger is
	// refused; nothing is applied.
	f := write("groupId,decision,members\n{A},split,a3 zz\n{B},reject,\n")
	r = run(t, env, "plan", "import", f)
	if r.code != exitUsage || !strings.Contains(r.err, "2 bad row(s); nothing was applied") ||
		!strings.Contains(r.err, f+":2: zz is not a member") || !strings.Contains(r.err, f+":3: rejecting it would contradict") ||
		!strings.Contains(r.err, "plan unlink b1 b2") || groupState(t, st, a.ID) != cm.StateProposed || groupState(t, st, b.ID) != cm.StateProposed {
		t.Fatalf("bad rows: code %d %q", r.code, r.err)
	}
	// A split applies; importing the file again is a no-op.
	f = write("groupId,decision,members,reason\n{A},split,\"a2,a3\",two others\n{B},approve,,\n")
	for range 2 {
		r = run(t, env, "plan", "import", f)
		if r.code != 0 {
			t.Fatalf("import: %q %q", r.out, r.err)
		}
	}
	cs, err := st.Constraints(ctx, cm.ConstraintFilter{GroupID: a.ID})
	if err != nil || len(cs) != 2 || cs[0].Reason != "two others" || cs[0].Kind != cm.CannotLink {
		t.Fatalf("split constraints %+v, %v", cs, err)
	}
	if r.out != "applied 0 decisions from "+f+": 0 approved, 0 rejected\n" {
		t.Errorf("second import: %q", r.out)
	}
	// A group that no longer exists, and a merged one.
	g := get(t, st, b.ID)
	for _, to := range []cm.GroupState{cm.StateReady, cm.StateInFlight, cm.StateMerged} {
		if g, err = st.Transition(ctx, cm.Transition{GroupID: g.ID, To: to, Update: func(g *cm.Group) { g.CanonicalID = "b9" }}); err != nil {
			t.Fatal(err)
		}
	}
	f = write("groupId,decision\ng_gone,reject\n{B},reject\n")
	r = run(t, env, "plan", "import", f)
	if r.code != exitUsage || !strings.Contains(r.err, f+`:2: no group "g_gone": it no longer exists`) ||
		!strings.Contains(r.err, f+":3: group "+b.ID+" is already merged (into b9)") {
		t.Errorf("gone and merged: code %d %q", r.code, r.err)
	}
}

func get(t *testing.T, st cm.Store, id string) cm.Group {
	t.Helper()
	g, err := st.Group(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestRejectionsStayRejected is the reported scenario, end to end through
// the command line against a sandbox organization: a steward rejects three
// groups ("different people at different addresses"). The next match
// (here with groups of at most two, so that the matcher does regroup those
// people into smaller subsets), with and without --auto-approve, and a
// run, neither propose, approve nor merge any pair of them. Before
// constraints, the subsets came back proposed, the policy approved them and
// run merged them.
func TestRejectionsStayRejected(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 600, Seed: 31, RateLimit: 100000})
	dir := t.TempDir()
	db := filepath.Join(dir, "cm.db")
	env := append(o.Env(), "CONTACTMERGE_DB="+db, "USER=steward")
	st := testorg.OpenStore(t, db)
	ctx := context.Background()
	for _, args := range [][]string{{"scan"}, {"match"}} {
		if r := run(t, env, args...); r.code != 0 {
			t.Fatalf("%v: %s%s", args, r.out, r.err)
		}
	}
	proposed, err := st.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(proposed, func(x, y cm.Group) int { return len(y.Members) - len(x.Members) })
	if len(proposed) < 6 || len(proposed[2].Members) < 3 {
		t.Fatalf("%d proposed groups; the third largest has %d members", len(proposed), len(proposed[2].Members))
	}
	rejected := proposed[:3]
	rejectedPairs := map[cm.Pair]string{}
	for _, g := range rejected {
		r := run(t, env, "plan", "reject", "--group", g.ID, "--reason", "different people at different addresses")
		if r.code != 0 {
			t.Fatalf("reject %s: %s", g.ID, r.err)
		}
		for _, p := range cm.Pairs(g.Members) {
			rejectedPairs[p] = g.ID
		}
	}
	// holding returns the groups in states that hold a rejected pair.
	holding := func(states ...cm.GroupState) []string {
		t.Helper()
		gs, err := st.Groups(ctx, cm.GroupFilter{States: states})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs {
			for _, p := range cm.Pairs(g.Members) {
				if id, ok := rejectedPairs[p]; ok {
					out = append(out, g.ID+" ("+string(g.State)+") holds "+p.A+"–"+p.B+" of "+id)
					break
				}
			}
		}
		return out
	}
	small := filepath.Join(dir, "pairs.json")
	if err := os.WriteFile(small, []byte(`{"maxGroupSize": 2}`), 0o600); err != nil {
		t.Fatal(err)
	}
	autoApproved := 0
	for _, args := range [][]string{
		{"match", "--config", small},
		{"match", "--config", small, "--auto-approve", "--json"},
		{"match", "--auto-approve", "--json"},
	} {
		r := run(t, env, args...)
		if r.code != 0 {
			t.Fatalf("%v: %s%s", args, r.out, r.err)
		}
		if h := holding(cm.StateProposed, cm.StateApproved); len(h) > 0 {
			t.Fatalf("after %v, groups hold rejected pairs:\n%s", args, strings.Join(h, "\n"))
		}
		if slices.Contains(args, "--json") {
			var out struct{ AutoApproved int }
			if err := json.Unmarshal([]byte(r.out), &out); err != nil {
				t.Fatal(err)
			}
			autoApproved += out.AutoApproved
		}
	}
	if autoApproved == 0 {
		t.Fatal("the policy approved nothing: the test would prove nothing about it")
	}
	// The rejections are still there, and so are the decision rows of the
	// groups the first match superseded.
	cs, err := st.Constraints(ctx, cm.ConstraintFilter{Kinds: []cm.ConstraintKind{cm.CannotLink}})
	if err != nil || len(cs) != len(rejectedPairs) {
		t.Fatalf("%d cannot-links, want %d (%v)", len(cs), len(rejectedPairs), err)
	}
	for _, g := range rejected {
		if ds, _ := st.Decisions(ctx, g.ID); len(ds) != 1 || ds[0].Approve || ds[0].Actor != "steward" {
			t.Errorf("decisions of rejected %s: %+v", g.ID, ds)
		}
	}
	args := []string{"run", "--verify-settle", "1s"}
	if r := run(t, env, "run", "--help"); strings.Contains(r.out, "--yes") {
		args = append(args, "--yes")
	}
	if r := run(t, env, args...); r.code != 0 {
		t.Fatalf("run: %s%s", r.out, r.err)
	}
	merged := 0
	for _, g := range rejected {
		finals := map[string]bool{}
		for _, id := range g.Members {
			finals[o.Final(id)] = true
		}
		if len(finals) != len(g.Members) {
			t.Errorf("rejected group %s: its %d members now resolve to %d contacts", g.ID, len(g.Members), len(finals))
		}
	}
	for _, g := range mustGroups(t, st, cm.StateMerged) {
		merged++
		if h := holding(cm.StateMerged); len(h) > 0 {
			t.Fatalf("merged groups hold rejected pairs: %v (%s)", h, g.ID)
		}
	}
	if merged == 0 {
		t.Error("nothing merged")
	}
}

func mustGroups(t *testing.T, st cm.Store, states ...cm.GroupState) []cm.Group {
	t.Helper()
	gs, err := st.Groups(context.Background(), cm.GroupFilter{States: states})
	if err != nil {
		t.Fatal(err)
	}
	return gs
}
