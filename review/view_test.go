package review_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
)

func ph(display, e164 string) *cm.PhoneNumber { return &cm.PhoneNumber{Display: display, E164: e164} }

func date(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }

// eight returns an 8-member group and its members: c12 is the only Curated
// member, c3's cell number finds the cell slot taken and moves, c9's fifth
// distinct number fits no slot.
func eight() (cm.Group, map[string]cm.Contact) {
	cs := []cm.Contact{
		{ID: "c12", Type: cm.TypeCurated, FirstName: "Robert", LastName: "Smith", WorkEmail: "bob@work.com",
			CellPhone: ph("+1 312 555 0100", "+13125550100"), CreateDate: date(1), ModifyDate: date(2)},
		{ID: "c1", Type: cm.TypeIdentified, FirstName: "Bob", LastName: "Smith", WorkEmail: "BOB@work.com", CreateDate: date(2), ModifyDate: date(30)},
		{ID: "c2", Type: cm.TypeIdentified, FirstName: "Robert", LastName: "Smith", PersonalEmail: "bob@home.com", CreateDate: date(3), ModifyDate: date(29)},
		{ID: "c3", Type: cm.TypeIdentified, FirstName: "Robert", CellPhone: ph("+1 312 555 0199", "+13125550199"), CreateDate: date(4), ModifyDate: date(28)},
		{ID: "c4", Type: cm.TypeIdentified, LastName: "Smith", WorkPhone: ph("+1 312 555 0166", "+13125550166"), CreateDate: date(5), ModifyDate: date(27)},
		{ID: "c5", Type: cm.TypeEphemeral, HomePhone: ph("+1 312 555 0177", "+13125550177"), CreateDate: date(6), ModifyDate: date(26)},
		{ID: "c6", Type: cm.TypeIdentified, FirstName: "Robert", LastName: "Smith", Title: "Dr", CreateDate: date(7), ModifyDate: date(25),
			Address: &cm.Address{Address1: "1 Main St", City: "Springfield"}},
		{ID: "c9", Type: cm.TypeIdentified, LastName: "Smith", OtherPhone: ph("+1 312 555 0155", "+13125550155"), CreateDate: date(8), ModifyDate: date(24)},
	}
	members := map[string]cm.Contact{}
	var ids []string
	for _, c := range cs {
		members[c.ID] = c
		ids = append(ids, c.ID)
	}
	ids = cm.SortedIDs(ids)
	all := make([]cm.Contact, len(ids))
	for i, id := range ids {
		all[i] = members[id]
	}
	s := match.SurviveGroup(all, match.DefaultConfig().SurviveOptions())
	g := cm.Group{ID: cm.GroupID(ids), State: cm.StateProposed, Confidence: 0.97, Members: ids, SurvivorID: s.SurvivorID, Merged: s.Merged, Unkept: s.Unkept,
		Explanation: &cm.Explanation{Links: []cm.PairEvidence{{A: "c12", B: "c1", Weight: 9, Probability: 0.97}}}}
	return g, members
}

func render(t *testing.T, v review.GroupView, s review.Style) string {
	t.Helper()
	var b strings.Builder
	if err := review.WriteGroup(&b, v, s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestWriteGroupLayout: members side by side when they fit the width, in
// bands of members when not, never wider than the width; fields where
// members disagree are marked ≠; colour only when asked for.
func TestWriteGroupLayout(t *testing.T) {
	g, members := eight()
	v := review.NewGroupView(g, members, nil, match.DefaultConfig().SurviveOptions())
	if v.Stale || len(v.Unknown) != 0 {
		t.Fatalf("view: stale %v unknown %v", v.Stale, v.Unknown)
	}
	wide := render(t, v, review.Style{Width: 300})
	header := ""
	for _, l := range strings.Split(wide, "\n") {
		if strings.HasPrefix(l, "FIELD") {
			header = l
			break
		}
	}
	if got := strings.Fields(header); !slices.Equal(got, []string{"FIELD", "c1", "c12", "*", "c2", "c3", "c4", "c5", "c6", "c9", "MERGED"}) {
		t.Errorf("side by side header %q", header)
	}
	if strings.Contains(wide, "members 1–") {
		t.Errorf("bands at width 300:\n%s", wide)
	}
	for _, width := range []int{120, 80, 60} {
		out := render(t, v, review.Style{Width: width})
		for i, l := range strings.Split(out, "\n") {
			if n := len([]rune(l)); n > width {
				t.Errorf("width %d: line %d is %d wide: %q", width, i+1, n, l)
			}
		}
		if !strings.Contains(out, " of 8") || !strings.Contains(out, "the merged record:") {
			t.Errorf("width %d: no bands:\n%s", width, out)
		}
		// Every member's column is in some band.
		for _, id := range g.Members {
			if !strings.Contains(out, "  "+id) {
				t.Errorf("width %d: member %s missing", width, id)
			}
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("width %d: escapes without colour", width)
		}
	}
	out := render(t, v, review.Style{Width: 120})
	marked := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] == review.DiffMark {
			marked[f[0]] = true
		}
	}
	for _, f := range []string{"type", "firstName", "workPhone", "cellPhone"} {
		if f == "workPhone" {
			continue // one member has one: nothing to disagree on
		}
		if !marked[f] {
			t.Errorf("%s is not marked %s:\n%s", f, review.DiffMark, out)
		}
	}
	for _, f := range []string{"lastName", "workEmail", "workPhone", "homePhone"} {
		if marked[f] {
			t.Errorf("%s is marked although the members agree (bob@work.com = BOB@work.com)", f)
		}
	}
	color := render(t, v, review.Style{Width: 120, Color: true})
	if !strings.Contains(color, "\x1b[1m\x1b[33mfirstName") {
		t.Errorf("colour: disagreeing field not bold yellow:\n%q", color[:min(len(color), 2000)])
	}
}

// TestWriteGroupSurvivorAndAccounting: the survivor rule, and every
// member's values accounted for in the merged record.
func TestWriteGroupSurvivorAndAccounting(t *testing.T) {
	g, members := eight()
	v := review.NewGroupView(g, members, nil, match.DefaultConfig().SurviveOptions())
	out := render(t, v, review.Style{Width: 120})
	flat := strings.Join(strings.Fields(out), " ")
	for _, s := range []string{
		"survivor c12: Curated over Identified, Ephemeral (rule: type)",
		"rule type puts c12 first over c1, c2, c3, c4, c5, c6, c9",
		"merged record (sent as valueOverride), and what becomes of every member's value:",
		`type Curated kept from c12 c1, c2, c3, c4, c6, c9 "Identified" not kept (Curated ranks above Identified) c5 "Ephemeral" not kept`,
		`firstName Robert kept from c12 c1 "Bob" not kept (the survivor's value wins) same: c2, c3, c6`,
		"workEmail bob@work.com kept from c12 same: c1",
		`cellPhone +1 312-555-0100 kept from c12 c3's "+13125550199" → otherPhone`,
		"otherPhone +1 312-555-0199 moved here: cellPhone of c3 (cellPhone holds c12's cellPhone)",
		`c9 "+13125550155" NOT KEPT: no free phone slot`,
		"1 value(s) not kept; the ledger records them with the merge: not kept: otherPhone +13125550155 of c9",
		"title Dr kept from c6",
	} {
		if !strings.Contains(flat, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	// A survivor a steward chose is said to be theirs.
	g.SurvivorID = "c6"
	d := cm.Decision{Approve: true, Actor: "ann", Survivor: "c6", Take: map[string]string{"firstName": "c1"}, At: t0}
	v = review.NewGroupView(g, members, []cm.Decision{d}, match.DefaultConfig().SurviveOptions())
	out = render(t, v, review.Style{Width: 120})
	flat = strings.Join(strings.Fields(out), " ")
	for _, s := range []string{
		"decision: approved by ann at 2026-05-01 10:00; survivor c6; take firstName=c1",
		"survivor c6: chosen by ann; the policy picks c12: Curated over Identified, Ephemeral (rule: type)",
		`c12, c2, c3, c6 "Robert" not kept (a reviewer took firstName from c1)`,
		"note: this differs from the merged record the group holds",
	} {
		if !strings.Contains(flat, s) {
			t.Errorf("steward's choice: output lacks %q:\n%s", s, out)
		}
	}
	if v.Survival.Merged.FirstName != "Bob" || v.Survival.SurvivorID != "c6" {
		t.Errorf("survival with the decision: %+v", v.Survival.Merged)
	}
	// A match since the decision reset the group's survivor: the decision's
	// holds, and the screen says so.
	g.SurvivorID = "c12"
	v = review.NewGroupView(g, members, []cm.Decision{d}, match.DefaultConfig().SurviveOptions())
	flat = strings.Join(strings.Fields(render(t, v, review.Style{Width: 120})), " ")
	if v.Survival.SurvivorID != "c6" || !v.Stale ||
		!strings.Contains(flat, "survivor c6: chosen by ann") ||
		!strings.Contains(flat, "note: the group holds survivor c12 (a match since the decision reset it); the decision's c6 holds, and preflight merges with it") {
		t.Errorf("decision's survivor after a reset: survivor %s stale %v:\n%s", v.Survival.SurvivorID, v.Stale, flat)
	}
}

func TestLabels(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{[]string{"a1", "c12"}, []string{"a1", "c12"}},
		{[]string{"1a553cdd-c440-4540-863f-2278787c7f13", "373ea6ba-2168-4f10-b8f7-d6d78d6bcf8a"}, []string{"1a553cdd…", "373ea6ba…"}},
		{[]string{"1a553cdd-c440-4540-863f-2278787c7f13", "1a553cdd-c441-4540-863f-2278787c7f13", "short"},
			[]string{"1a553cdd-c440…", "1a553cdd-c441…", "short"}},
		{[]string{"abcdefghijklm", "abcdefghijklm"}, []string{"abcdefgh…", "abcdefgh…"}},
	} {
		if got := review.Labels(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Labels(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNewGroupViewRows: one row per review field that has a value, with
// the merged value and the disagreement flag.
func TestNewGroupViewRows(t *testing.T) {
	g, members := eight()
	v := review.NewGroupView(g, members, nil, match.DefaultConfig().SurviveOptions())
	var got []string
	for _, r := range v.Rows {
		got = append(got, fmt.Sprintf("%s %v %q", r.Field, r.Differ, r.Merged))
	}
	want := []string{
		`type true "Curated"`, `firstName true "Robert"`, `lastName false "Smith"`, `title false "Dr"`,
		`workEmail false "bob@work.com"`, `personalEmail false "bob@home.com"`,
		`workPhone false "+1 312-555-0166"`, `cellPhone true "+1 312-555-0100"`, `homePhone false "+1 312-555-0177"`,
		`otherPhone false "+1 312-555-0199"`, `address1 false "1 Main St"`, `city false "Springfield"`, `modifyDate false ""`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}
