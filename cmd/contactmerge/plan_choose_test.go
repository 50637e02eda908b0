package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdPlanApproveChoice(t *testing.T) {
	approve := func(f *Factory, runF func(*planDecideOptions) error) *cobra.Command {
		return newCmdPlanDecide(f, true, runF)
	}
	reject := func(f *Factory, runF func(*planDecideOptions) error) *cobra.Command {
		return newCmdPlanDecide(f, false, runF)
	}
	o, code, msg := parse(t, nil, approve, "--group", "g_1", "--survivor", "c3", "--take", "firstname=c1", "--take", "cellPhone = c2", "--config", "m.json")
	if code != 0 || o.choice.survivor != "c3" || o.choice.config != "m.json" ||
		len(o.choice.take) != 2 || o.choice.take["firstName"] != "c1" || o.choice.take["cellPhone"] != "c2" {
		t.Fatalf("flags: %+v, code %d %s", o, code, msg)
	}
	for _, tt := range []struct {
		newCmd func(*Factory, func(*planDecideOptions) error) *cobra.Command
		args   string
		want   string
	}{
		{approve, "--all --survivor c1", "--survivor and --take choose within one group: give exactly one --group"},
		{approve, "--group g_1 --group g_2 --take firstName=c1", "give exactly one --group"},
		{approve, "--group g_1 --take firstName", `--take "firstName": give FIELD=CONTACT_ID`},
		{approve, "--group g_1 --take =c1", `--take "=c1": give FIELD=CONTACT_ID`},
		{approve, "--group g_1 --take shoeSize=c1", `--take shoeSize=c1: no field "shoeSize" (fields that can be taken: type, firstName`},
		{approve, "--group g_1 --take externalIds=c1", "--take externalIds=c1: externalIds cannot be taken from one member"},
		{approve, "--group g_1 --take createDate=c1", "--take createDate=c1: createDate is not a field survivorship fills"},
		{approve, "--group g_1 --take firstName=c1 --take FirstName=c2", "--take FirstName=c2: firstName is already taken from c1"},
		{approve, "--group g_1 --config m.json", "--config goes with --survivor or --take"},
		{reject, "--group g_1 --survivor c1", "unknown flag: --survivor"},
		{reject, "--group g_1 --take firstName=c1", "unknown flag: --take"},
	} {
		_, code, msg := parse(t, map[string]string{"USER": "ann"}, tt.newCmd, strings.Fields(tt.args)...)
		wantRefused(t, code, msg, exitUsage, tt.want)
	}
}

// largestGroup imports a generated organization, matches it and returns
// the store's largest proposed group with its members.
func largestGroup(t *testing.T, env []string) (cm.Group, map[string]cm.Contact) {
	t.Helper()
	dir := t.TempDir()
	generateImportMatch(t, env, dir, sandbox.GenConfig{Contacts: 2000, Seed: 5, CuratedDuplicates: true})
	r := run(t, env, "plan", "show", "--json", "--sort", "-size", "--limit", "1", "--state", "proposed")
	var list struct {
		Groups []struct {
			ID string `json:"groupId"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(r.out), &list); err != nil || len(list.Groups) != 1 {
		t.Fatalf("plan show --json: %v\n%s%s", err, r.out, r.err)
	}
	r = run(t, env, "plan", "show", list.Groups[0].ID, "--json")
	var v struct {
		Group   cm.Group `json:"group"`
		Members []struct {
			Contact *cm.Contact `json:"contact"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("plan show GROUP --json: %v\n%s", err, r.out)
	}
	members := map[string]cm.Contact{}
	for _, m := range v.Members {
		members[m.Contact.ID] = *m.Contact
	}
	if len(v.Group.Members) < 5 {
		t.Fatalf("the largest group has %d members", len(v.Group.Members))
	}
	return v.Group, members
}

// TestPlanShowAndChoose: on a matched organization, plan show of the
// largest group fits 120 columns (bands of members), states the survivor
// rule and accounts for the merged record; plan approve --survivor --take
// records the choice, recomputes the merged record, and plan show shows
// it; refused choices change nothing.
func TestPlanShowAndChoose(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cm.db")
	env := []string{"CONTACTMERGE_DB=" + db, "USER=steward"}
	g, members := largestGroup(t, env)

	r := run(t, env, "plan", "show", g.ID, "--width", "120")
	if r.code != 0 {
		t.Fatalf("plan show: %s", r.err)
	}
	for i, l := range strings.Split(r.out, "\n") {
		if n := len([]rune(l)); n > 120 {
			t.Errorf("line %d is %d wide: %q", i+1, n, l)
		}
	}
	for _, s := range []string{"survivor " + g.SurvivorID, "(rule: ", "members 1–", " of " + strconv.Itoa(len(g.Members)),
		"merged record (sent as valueOverride), and what becomes of every member's value:", "kept from "} {
		if !strings.Contains(r.out, s) {
			t.Errorf("plan show lacks %q:\n%s", s, r.out)
		}
	}

	// Another survivor, and the first name of the member with the rarest one.
	var survivor, named string
	for _, id := range g.Members {
		if id != g.SurvivorID && survivor == "" {
			survivor = id
		}
	}
	for _, id := range g.Members {
		if c := members[id]; c.FirstName != "" && c.FirstName != members[g.SurvivorID].FirstName {
			named = id
		}
	}
	if named == "" {
		named = g.Members[len(g.Members)-1]
		if members[named].FirstName == "" {
			t.Skip("no member with a first name to take")
		}
	}
	st := testorg.OpenStore(t, db)
	before, err := st.Group(context.Background(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--take", "firstName=nobody"},
		{"--survivor", "nobody"},
		{"--take", "title=" + survivor, "--take", "firstName=" + named}, // most have no title
	} {
		if args[1] == "title="+survivor && members[survivor].Title != "" {
			continue
		}
		r = run(t, env, append([]string{"plan", "approve", "--group", g.ID}, args...)...)
		if r.code != exitUsage {
			t.Errorf("approve %v: code %d, want %d: %s", args, r.code, exitUsage, r.err)
		}
		if now, _ := st.Group(context.Background(), g.ID); now.Version != before.Version || now.State != cm.StateProposed {
			t.Errorf("approve %v changed the group: %+v", args, now)
		}
	}
	r = run(t, env, "plan", "approve", "--group", g.ID, "--survivor", survivor, "--take", "firstName="+named, "--reason", "checked")
	if r.code != 0 || r.out != "approved 1 group(s)\n" {
		t.Fatalf("approve with a choice: code %d %q %q", r.code, r.out, r.err)
	}
	after, err := st.Group(context.Background(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != cm.StateApproved || after.SurvivorID != survivor || after.Merged.FirstName != members[named].FirstName {
		t.Errorf("after approve: state %s survivor %s first name %q; want approved, %s, %q",
			after.State, after.SurvivorID, after.Merged.FirstName, survivor, members[named].FirstName)
	}
	ds, err := st.Decisions(context.Background(), g.ID)
	if err != nil || len(ds) != 1 || ds[0].Survivor != survivor || ds[0].Take["firstName"] != named {
		t.Errorf("decisions %+v, %v", ds, err)
	}
	r = run(t, env, "plan", "show", g.ID, "--width", "120")
	flat := strings.Join(strings.Fields(r.out), " ")
	for _, s := range []string{"state approved", "survivor " + survivor, "chosen by steward", "take firstName=" + named} {
		if !strings.Contains(flat, s) {
			t.Errorf("plan show after the choice lacks %q:\n%s", s, r.out)
		}
	}
	if strings.Contains(r.out, "note: this differs from the merged record the group holds") {
		t.Errorf("the stored merged record is not the one plan show computes:\n%s", r.out)
	}
	if !slices.Contains(after.Members, named) {
		t.Errorf("%s is not a member", named)
	}
}
