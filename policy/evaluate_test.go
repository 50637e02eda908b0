package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
)

// person is a snapshot contact of type typ with optional identifiers.
func person(id, typ string, custom map[string]any, ext ...cm.ExternalID) cm.Contact {
	return cm.Contact{ID: id, Type: typ, FirstName: "Ann", LastName: "Lee", CustomFields: custom, ExternalIDs: ext}
}

func crm(v string) cm.ExternalID {
	return cm.ExternalID{ExternalSource: &cm.ExternalSource{ID: "s1", Name: "crm"}, Value: v}
}

func proposed(conf float64, ids ...string) cm.Group {
	return cm.Group{ID: cm.GroupID(ids), Members: cm.SortedIDs(ids), SurvivorID: ids[0], Confidence: conf, State: cm.StateProposed}
}

// guards returns the guard names of v's reasons.
func guards(v Verdict) []string {
	var out []string
	for _, r := range v.Reasons {
		out = append(out, guardOf(r))
	}
	return out
}

func TestEvaluate(t *testing.T) {
	p := &Policy{Mode: Shadow, MinConfidence: 0.99, MaxGroupSize: 3, MaxMergesPerCycle: 10,
		UniqueCustomFields: []string{"loyaltyId"}, BirthDateFields: DefaultBirthDateFields(), TypeRule: TypeIntoCurated}
	cur, ide, eph := cm.TypeCurated, cm.TypeIdentified, cm.TypeEphemeral
	for _, tc := range []struct {
		name        string
		g           cm.Group
		members     []cm.Contact
		constraints []cm.PairConstraint
		want        []string // guards that hold; nil: approve
		wantText    string   // in the reasons
	}{
		{name: "approve", g: proposed(0.995, "a", "b"),
			members: []cm.Contact{person("a", cur, map[string]any{"loyaltyId": "L1"}, crm("1")), person("b", eph, map[string]any{"loyaltyId": " l1 "}, crm("1"))}},
		{name: "one side without an id", g: proposed(0.995, "a", "b"),
			members: []cm.Contact{person("a", cur, nil, crm("1")), person("b", ide, nil)}},
		{name: "below threshold", g: proposed(0.98, "a", "b"),
			members: []cm.Contact{person("a", cur, nil), person("b", eph, nil)}, want: []string{GuardConfidence}, wantText: "confidence 0.98 is below 0.99"},
		{name: "too big and two curated", g: proposed(0.999, "a", "b", "c", "d"),
			members: []cm.Contact{person("a", cur, nil), person("b", cur, nil), person("c", eph, nil), person("d", eph, nil)},
			want:    []string{GuardGroupSize, GuardTypeRule}, wantText: "2 Curated members (a, b)"},
		{name: "no curated", g: proposed(0.999, "a", "b"),
			members: []cm.Contact{person("a", eph, nil), person("b", ide, nil)}, want: []string{GuardTypeRule}, wantText: "no Curated member"},
		{name: "two crm ids", g: proposed(0.999, "a", "b"),
			members: []cm.Contact{person("a", cur, nil, crm("1")), person("b", eph, nil, crm("2"))},
			want:    []string{GuardExternalID}, wantText: "two different crm ids: 1 (a), 2 (b)"},
		{name: "two birth dates", g: proposed(0.999, "a", "b"),
			members: []cm.Contact{person("a", cur, map[string]any{"dateOfBirth": "1980-01-02"}), person("b", eph, map[string]any{"birthDate": "1980-02-01"})},
			want:    []string{GuardBirthDate}, wantText: "1980-01-02 (a), 1980-02-01 (b)"},
		{name: "same birth date written two ways", g: proposed(0.999, "a", "b"),
			members: []cm.Contact{person("a", cur, map[string]any{"dateOfBirth": "1980-01-02"}), person("b", eph, map[string]any{"dateOfBirth": "1980-01-02T00:00:00Z"})}},
		{name: "two loyalty ids", g: proposed(0.999, "a", "b"),
			members: []cm.Contact{person("a", cur, map[string]any{"loyaltyId": "L1"}), person("b", eph, map[string]any{"loyaltyId": "L2"})},
			want:    []string{GuardUniqueField}, wantText: "two values of loyaltyId"},
		{name: "cannot-link", g: proposed(0.999, "a", "b"),
			members:     []cm.Contact{person("a", cur, nil), person("b", eph, nil)},
			constraints: []cm.PairConstraint{{ID: 1, Kind: cm.CannotLink, A: "a", B: "x", Actor: "ann"}},
			want:        []string{GuardCannotLink}},
		{name: "linked outside", g: proposed(0.999, "a", "b"),
			members:     []cm.Contact{person("a", cur, nil), person("b", eph, nil)},
			constraints: []cm.PairConstraint{{ID: 1, Kind: cm.MustLink, A: "a", B: "x", Actor: "ann"}},
			want:        []string{GuardSteward}},
		{name: "not in the snapshot", g: proposed(0.999, "a", "b"),
			members: []cm.Contact{person("a", cur, nil)}, want: []string{GuardSnapshot}},
		{name: "decided", g: func() cm.Group { g := proposed(0.999, "a", "b"); g.State = cm.StateRejected; return g }(),
			members: []cm.Contact{person("a", cur, nil), person("b", eph, nil)}, want: []string{GuardState}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := p.Evaluate(tc.g, tc.members, tc.constraints)
			if d := cmp.Diff(tc.want, guards(v)); d != "" || v.Approve != (tc.want == nil) {
				t.Fatalf("Evaluate = %+v; guards (-want +got):\n%s", v, d)
			}
			if !strings.Contains(strings.Join(v.Reasons, "\n"), tc.wantText) {
				t.Fatalf("reasons %q lack %q", v.Reasons, tc.wantText)
			}
		})
	}
}
