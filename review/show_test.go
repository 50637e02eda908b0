package review_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
)

func images(t *testing.T, cs ...cm.Contact) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMemberContacts: members merged away come from the ledger's
// before-images; the snapshot wins, and the first image of a contact wins.
func TestMemberContacts(t *testing.T) {
	st := openStore(t)
	if err := st.UpsertContacts(ctx(), []cm.Contact{{ID: "a1", FirstName: "Snapshot"}}); err != nil {
		t.Fatal(err)
	}
	g := seed(t, st, group(0.9, "a1", "a2", "a3", "a4"))[0]
	other := seed(t, st, group(0.9, "a1", "a2", "a3", "a4"), group(0.9, "x1", "x2"))[1]
	err := st.AppendLedger(ctx(),
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: g.ID, Request: "merge round 1",
			BeforeImages: images(t, cm.Contact{ID: "a1", FirstName: "Image"}, cm.Contact{ID: "a2", FirstName: "First"})},
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: g.ID, Request: "merge round 2", BeforeImages: json.RawMessage(`{"not":"a list"}`)},
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: g.ID, Request: "merge round 3",
			BeforeImages: images(t, cm.Contact{ID: "a2", FirstName: "Second"}, cm.Contact{ID: "a3", FirstName: "Third"})},
		cm.LedgerEvent{Kind: cm.LedgerNote, GroupID: g.ID, BeforeImages: images(t, cm.Contact{ID: "a4", FirstName: "Note"})},
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: other.ID, BeforeImages: images(t, cm.Contact{ID: "a4", FirstName: "Other group"})},
	)
	if err != nil {
		t.Fatal(err)
	}
	before, err := review.BeforeImages(ctx(), st, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	firstNames := func(m map[string]cm.Contact) map[string]string {
		out := map[string]string{}
		for id, c := range m {
			out[id] = c.FirstName
		}
		return out
	}
	if d := cmp.Diff(map[string]string{"a1": "Image", "a2": "First", "a3": "Third"}, firstNames(before)); d != "" {
		t.Errorf("BeforeImages (-want +got):\n%s", d)
	}
	members, err := review.MemberContacts(ctx(), st, g)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"a1": "Snapshot", "a2": "First", "a3": "Third"}, firstNames(members)); d != "" {
		t.Errorf("MemberContacts (-want +got):\n%s", d)
	}
}

func TestWriteGroup(t *testing.T) {
	g := cm.Group{
		ID: "g_1", State: cm.StateMerged, Confidence: 0.98765, SurvivorID: "b", Members: []string{"a", "b", "c"},
		Reason: "re-planned", CanonicalID: "n1",
		Merged: &cm.Contact{FirstName: "Ann", LastName: "Lee", Title: "Dr", CellPhone: &cm.PhoneNumber{Display: "555 0100", E164: "+15550100"}},
		Unkept: []cm.UnkeptValue{{ContactID: "a", Field: "otherPhone", Value: "+15550199"}},
		Explanation: &cm.Explanation{
			Links: []cm.PairEvidence{{A: "a", B: "b", Weight: 12.5, Probability: 0.9998,
				Fields: []cm.FieldEvidence{{Field: "lastName", Level: "exact", Weight: 6.25, A: "lee", B: "lee"}}}},
			Notes: []string{"survivor chosen by type"},
		},
	}
	members := map[string]cm.Contact{
		"a": {ID: "a", FirstName: "Ann", LastName: "Lee", CellPhone: &cm.PhoneNumber{Display: "555 0100", E164: "+15550100"}},
		"b": {ID: "b", FirstName: "Anne", LastName: "Lee", Title: "Dr"},
	}
	var b strings.Builder
	if err := review.WriteGroup(&b, review.NewGroupView(g, members, nil, match.DefaultConfig().SurviveOptions()), review.Style{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if lines[0] != "group g_1  state merged  confidence 0.9877  survivor b" || lines[1] != "reason: re-planned" || lines[2] != "canonical contact: n1" {
		t.Errorf("head:\n%s", strings.Join(lines[:3], "\n"))
	}
	fields := func(line string) []string { return strings.Fields(line) }
	// A member is unknown: the MERGED column is the group's own record.
	want := map[string][]string{
		"FIELD":     {"FIELD", "a", "b", "*", "c", "MERGED"},
		"firstName": {"firstName", "≠", "Ann", "Anne", "(unknown)", "Ann"},
		"title":     {"title", "Dr", "(unknown)", "Dr"},
		"cellPhone": {"cellPhone", "555", "0100", "(+15550100)", "(unknown)", "555", "0100", "(+15550100)"},
	}
	seen := map[string]bool{}
	table := false
	for _, l := range lines {
		f := fields(l)
		if len(f) > 0 && f[0] == "FIELD" {
			table = true
		}
		if !table {
			continue
		}
		if len(f) == 0 {
			break
		}
		seen[f[0]] = true
		if w, ok := want[f[0]]; ok {
			if d := cmp.Diff(w, f); d != "" {
				t.Errorf("row %s (-want +got):\n%s", f[0], d)
			}
		}
	}
	for _, fld := range cm.ReviewFields() {
		// A member missing from members shows "(unknown)", so every review
		// field has a row here.
		if !seen[fld.Name] {
			t.Errorf("no row for review field %s", fld.Name)
		}
	}
	if seen["id"] || seen["salutation"] {
		t.Errorf("fields that are not review fields are shown:\n%s", out)
	}
	for _, s := range []string{
		"survivor b: the group's survivor; on the members as stored now the policy picks a: ",
		"note: survivorship below leaves out the unknown members c",
		"\nwhy (match weight = prior + Σ field weights, log2 Bayes factors):\n  a ~ b  weight +12.50  probability 0.9998\n",
		"      lastName         exact            +6.25  lee | lee\n",
		"  note: survivor chosen by type\n",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}

	// With every member known, fields empty everywhere are left out, and the
	// merged record is survivorship's on the members.
	members["c"] = cm.Contact{ID: "c", LastName: "Lee"}
	b.Reset()
	if err := review.WriteGroup(&b, review.NewGroupView(g, members, nil, match.DefaultConfig().SurviveOptions()), review.Style{}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "(unknown)") || strings.Contains(out, "\nworkEmail") || !strings.Contains(out, "\nlastName") ||
		!strings.Contains(out, "note: this differs from the merged record the group holds") {
		t.Errorf("all members known:\n%s", out)
	}
}
