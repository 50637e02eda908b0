package review_test

import (
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
)

// chooseFixture stores the 8-member group's contacts and the group.
func chooseFixture(t *testing.T) (cm.Store, cm.Group) {
	st := openStore(t)
	g, members := eight()
	var cs []cm.Contact
	for _, id := range g.Members {
		cs = append(cs, members[id])
	}
	if err := st.UpsertContacts(ctx(), cs); err != nil {
		t.Fatal(err)
	}
	return st, seed(t, st, g)[0]
}

// TestChoose: a steward's survivor and per-field choices are stored with
// the approval and the merged record is recomputed in the same transition.
func TestChoose(t *testing.T) {
	st, g := chooseFixture(t)
	d := cm.Decision{Approve: true, Actor: "ann", Reason: "called the customer", Survivor: "c6",
		Take: map[string]string{"firstName": "c1", "cellPhone": "c3", "type": "c6"}}
	got, err := review.Choose(ctx(), st, g, d, match.DefaultConfig().SurviveOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got.State != cm.StateApproved || got.Version != g.Version+1 || got.SurvivorID != "c6" {
		t.Fatalf("group after Choose: state %s version %d survivor %s", got.State, got.Version, got.SurvivorID)
	}
	// c3's cell number is taken; the survivor c6 has none; the others fill
	// in, most recently modified first, so c12's (modified first of all) is
	// the fifth number and finds no slot.
	m := got.Merged
	if m.FirstName != "Bob" || m.Title != "Dr" || m.Type != cm.TypeIdentified || m.CellPhone.Display != "+1 312-555-0199" ||
		m.OtherPhone.Display != "+1 312-555-0155" {
		t.Errorf("merged record: %+v (cell %v other %v)", m, m.CellPhone, m.OtherPhone)
	}
	if len(got.Unkept) != 1 || got.Unkept[0] != (cm.UnkeptValue{ContactID: "c12", Field: "cellPhone", Value: "+13125550100"}) {
		t.Errorf("unkept %+v", got.Unkept)
	}
	ds, err := st.Decisions(ctx(), g.ID)
	if err != nil || len(ds) != 1 || ds[0].Survivor != "c6" || ds[0].Take["cellPhone"] != "c3" || len(ds[0].Take) != 3 {
		t.Fatalf("decisions %+v, %v", ds, err)
	}
	var detail string
	err = st.Ledger(ctx(), cm.LedgerFilter{GroupID: g.ID}, func(ev cm.LedgerEvent) error {
		if ev.Kind == cm.LedgerTransition && ev.To == cm.StateApproved && detail == "" {
			detail = ev.Detail
		}
		return nil
	})
	if err != nil || detail != "approved by ann: called the customer (survivor c6; take type=c6 firstName=c1 cellPhone=c3)" {
		t.Errorf("ledger detail %q, %v", detail, err)
	}
	// plan show sees the choice: the view over the stored group agrees with
	// the stored merged record.
	v, err := review.ViewGroup(ctx(), st, got, match.DefaultConfig().SurviveOptions())
	if err != nil || v.Stale || v.Survival.Merged.FirstName != "Bob" || v.Decision == nil || v.Decision.Take["firstName"] != "c1" {
		t.Errorf("view after Choose: stale %v, merged %+v, decision %+v, %v", v.Stale, v.Survival.Merged, v.Decision, err)
	}
}

// TestChooseRefused: bad choices are EINVALID and change nothing.
func TestChooseRefused(t *testing.T) {
	st, g := chooseFixture(t)
	opts := match.DefaultConfig().SurviveOptions()
	for _, tt := range []struct {
		name string
		d    cm.Decision
		want string
	}{
		{"survivor not a member", cm.Decision{Approve: true, Survivor: "zz"}, "survivor zz is not a member"},
		{"contact not a member", cm.Decision{Approve: true, Take: map[string]string{"firstName": "zz"}}, "take firstName=zz: zz is not a member of the group"},
		{"contact without the value", cm.Decision{Approve: true, Take: map[string]string{"title": "c1"}}, "take title=c1: c1 has no title"},
		{"field that is not taken", cm.Decision{Approve: true, Take: map[string]string{"modifyDate": "c1"}}, "modifyDate is not a field survivorship fills"},
		{"unknown field", cm.Decision{Approve: true, Take: map[string]string{"shoeSize": "c1"}}, `no field "shoeSize"`},
		{"a rejection", cm.Decision{Survivor: "c1"}, "a survivor or field choices come with an approval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := review.Choose(ctx(), st, g, tt.d, opts)
			if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want EINVALID with %q", err, tt.want)
			}
			now := get(t, st, g.ID)
			if ds, _ := st.Decisions(ctx(), g.ID); now.Version != g.Version || now.State != cm.StateProposed || len(ds) != 0 {
				t.Errorf("changed: version %d state %s decisions %d", now.Version, now.State, len(ds))
			}
		})
	}
	// A member missing from the snapshot: nothing to recompute from.
	if err := st.DeleteContacts(ctx(), []string{"c5"}); err != nil {
		t.Fatal(err)
	}
	if _, err := review.Choose(ctx(), st, g, cm.Decision{Approve: true, Survivor: "c1"}, opts); !cm.IsCode(err, cm.EINVALID) ||
		!strings.Contains(err.Error(), "member c5 is not in the snapshot") {
		t.Errorf("missing member: %v", err)
	}
}
