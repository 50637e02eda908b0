package match

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

func phone(display, e164 string) *cm.PhoneNumber {
	return &cm.PhoneNumber{Display: display, E164: e164}
}

// fateOf returns the fate of contact id's value of field.
func fateOf(t *testing.T, s Survival, id, field string) ValueFate {
	t.Helper()
	for _, f := range s.Fates {
		if f.ContactID == id && f.Field == field {
			return f
		}
	}
	t.Fatalf("no fate for %s's %s in %+v", id, field, s.Fates)
	return ValueFate{}
}

// TestSurviveKeepsSlotKinds is the regression for a cell number moved into
// otherPhone while cellPhone was free (and a work email moved likewise): a
// value stays in its own slot when that slot is free, whatever the order in
// which members are visited; only values whose slot is taken are packed,
// into otherPhone/otherEmail first.
func TestSurviveKeepsSlotKinds(t *testing.T) {
	surv := cm.Contact{ID: "s", Type: cm.TypeCurated, CreateDate: day(1), ModifyDate: day(1),
		WorkPhone: phone("+1 312 555 0100", "+13125550100"), HomePhone: phone("+1 312 555 0101", "+13125550101"),
		PersonalEmail: "ann@home.com"}
	// newer is visited first (most recently modified): its work number and
	// personal email find their slots taken.
	newer := cm.Contact{ID: "n", Type: cm.TypeIdentified, CreateDate: day(2), ModifyDate: day(20),
		WorkPhone: phone("+1 312 555 0102", "+13125550102"), PersonalEmail: "ann@other.com"}
	older := cm.Contact{ID: "o", Type: cm.TypeIdentified, CreateDate: day(3), ModifyDate: day(10),
		CellPhone: phone("+1 312 555 0103", "+13125550103"), WorkEmail: "ann@work.com"}
	s := SurviveGroup([]cm.Contact{surv, newer, older}, DefaultConfig().SurviveOptions())
	m := s.Merged
	if m.CellPhone == nil || m.CellPhone.Display != "+1 312-555-0103" {
		t.Errorf("cellPhone = %+v, want older's cell number", m.CellPhone)
	}
	if m.OtherPhone == nil || m.OtherPhone.Display != "+1 312-555-0102" {
		t.Errorf("otherPhone = %+v, want newer's work number (its slot is taken)", m.OtherPhone)
	}
	if m.WorkEmail != "ann@work.com" || m.OtherEmail != "ann@other.com" || m.PersonalEmail != "ann@home.com" {
		t.Errorf("emails %q", m.Emails())
	}
	if f := fateOf(t, s, "o", "cellPhone"); f.Fate != FateKept || f.To != "cellPhone" {
		t.Errorf("older's cell: %+v", f)
	}
	if f := fateOf(t, s, "n", "workPhone"); f.Fate != FateMoved || f.To != "otherPhone" || !strings.Contains(f.Why, "workPhone holds s's workPhone") {
		t.Errorf("newer's work number: %+v", f)
	}
	if f := fateOf(t, s, "o", "workEmail"); f.Fate != FateKept {
		t.Errorf("older's work email: %+v", f)
	}
	if len(s.Unkept) != 0 {
		t.Errorf("unkept %+v", s.Unkept)
	}
}

// TestSurviveType is the regression for a merged record without a type: it
// carries the best-ranked type of the members, also when a reviewer chose a
// survivor of a lower type, unless the reviewer took the type.
func TestSurviveType(t *testing.T) {
	members := []cm.Contact{
		{ID: "a", Type: cm.TypeIdentified, FirstName: "Ann", LastName: "Lee", WorkEmail: "a@x.com"},
		{ID: "b", Type: cm.TypeCurated, FirstName: "Ann"},
		{ID: "c", Type: cm.TypeEphemeral},
	}
	o := DefaultConfig().SurviveOptions()
	if s := SurviveGroup(members, o); s.SurvivorID != "b" || s.Merged.Type != cm.TypeCurated {
		t.Errorf("policy: survivor %s, type %q; want b, Curated", s.SurvivorID, s.Merged.Type)
	}
	o.Survivor = "a"
	s := SurviveGroup(members, o)
	if s.SurvivorID != "a" || s.Merged.Type != cm.TypeCurated {
		t.Errorf("reviewer's survivor a: survivor %s, type %q; want a, Curated", s.SurvivorID, s.Merged.Type)
	}
	if f := fateOf(t, s, "a", "type"); f.Fate != FateOverridden || f.Of != "b" || f.Why != "Curated ranks above Identified" {
		t.Errorf("a's type: %+v", f)
	}
	o.Take = map[string]string{"type": "c"}
	if s := SurviveGroup(members, o); s.Merged.Type != cm.TypeEphemeral {
		t.Errorf("type taken from c: %q", s.Merged.Type)
	}
}

// TestSurviveUsesRunConfig is the regression for survivorship normalizing
// every group under the US region and the default email rules: with a GB
// config, "020 7946 0958" and "+44 20 7946 0958" are one number (and the
// merged display is international, so the platform cannot read it as a US
// number); a config's domain alias makes two addresses one.
func TestSurviveUsesRunConfig(t *testing.T) {
	members := []cm.Contact{
		{ID: "a", Type: cm.TypeCurated, FirstName: "Ann", CreateDate: day(1), WorkPhone: &cm.PhoneNumber{Display: "020 7946 0958"}, WorkEmail: "ann@corp.example"},
		{ID: "b", Type: cm.TypeCurated, CreateDate: day(2), ModifyDate: day(3), CellPhone: &cm.PhoneNumber{Display: "+44 20 7946 0958"}, PersonalEmail: "ann@example.com"},
	}
	us := SurviveGroup(members, DefaultConfig().SurviveOptions())
	if us.Merged.CellPhone == nil || us.Merged.PersonalEmail == "" {
		t.Fatalf("under US rules the two numbers and addresses should be distinct: %+v", us.Merged)
	}
	cfg := DefaultConfig()
	cfg.DefaultRegion = "GB"
	cfg.Email.DomainAliases = map[string]string{"corp.example": "example.com"}
	gb := SurviveGroup(members, cfg.SurviveOptions())
	m := gb.Merged
	if m.CellPhone != nil || m.WorkPhone == nil || m.WorkPhone.Display != "+44 20 7946 0958" {
		t.Errorf("GB: phones work %+v cell %+v; want one number, displayed internationally", m.WorkPhone, m.CellPhone)
	}
	if m.WorkEmail != "ann@corp.example" || m.PersonalEmail != "" {
		t.Errorf("GB with alias: emails %q", m.Emails())
	}
	if f := fateOf(t, gb, "b", "cellPhone"); f.Fate != FateDuplicate || f.Of != "a" || f.To != "workPhone" {
		t.Errorf("b's cell: %+v", f)
	}
	if slices.Contains(gb.Conflicts, "workPhone") || slices.Contains(gb.Conflicts, "cellPhone") {
		t.Errorf("conflicts %v", gb.Conflicts)
	}

	// Through Run: the groups of a GB run are built under GB rules. Two
	// members of a generated cluster get the number in two spellings.
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 1000, Seed: 3})
	ids := org.Truth[0]
	idx := map[string]int{}
	for i, c := range org.Contacts {
		idx[c.ID] = i
	}
	a, b := &org.Contacts[idx[ids[0]]], &org.Contacts[idx[ids[1]]]
	a.OtherPhone, b.OtherPhone = &cm.PhoneNumber{Display: "020 7946 0958"}, nil
	b.HomePhone = &cm.PhoneNumber{Display: "+44 20 7946 0958"}
	res, err := MatchContacts(context.Background(), org.Contacts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(res.Groups, func(g cm.Group) bool { return slices.Contains(g.Members, a.ID) && slices.Contains(g.Members, b.ID) })
	if i < 0 {
		t.Fatalf("%s and %s are not grouped", a.ID, b.ID)
	}
	n := 0
	for _, p := range res.Groups[i].Merged.Phones() {
		if p != nil && strings.Contains(p.Display, "7946") {
			n++
			if p.Display != "+44 20 7946 0958" {
				t.Errorf("Run with GB: merged display %q", p.Display)
			}
		}
	}
	if n != 1 {
		t.Errorf("Run with GB: the number is in the merged record %d times: %+v", n, res.Groups[i].Merged.Phones())
	}
}

// TestSurviveRule: the survivor comes with the rules that chose it.
func TestSurviveRule(t *testing.T) {
	members := []cm.Contact{
		{ID: "c12", Type: cm.TypeCurated, FirstName: "Ann", LastName: "Lee", WorkEmail: "a@x.com", CreateDate: day(5)},
		{ID: "c3", Type: cm.TypeIdentified, FirstName: "Ann", LastName: "Lee", WorkEmail: "a@x.com", Title: "Dr", CreateDate: day(1)},
		{ID: "c4", Type: cm.TypeCurated, FirstName: "Ann", CreateDate: day(1)},
		{ID: "c5", Type: cm.TypeEphemeral, CreateDate: day(1)},
		{ID: "c6", Type: cm.TypeCurated, FirstName: "Ann", LastName: "Lee", WorkEmail: "b@x.com", CreateDate: day(6)},
		{ID: "c1", Type: cm.TypeCurated, FirstName: "Ann", LastName: "Lee", WorkEmail: "b@x.com", CreateDate: day(5)},
	}
	s := SurviveGroup(members, DefaultConfig().SurviveOptions())
	want := []RuleStep{
		{Rule: "type", Text: "Curated over Identified, Ephemeral", Over: []string{"c3", "c5"}},
		{Rule: "complete", Text: "most complete: 3 fields over 1", Over: []string{"c4"}},
		{Rule: "oldest", Text: "oldest: created 2025-01-05", Over: []string{"c6"}},
		{Rule: "id", Text: "smallest id, tied on every other rule", Over: []string{"c12"}},
	}
	if s.SurvivorID != "c1" || s.Chosen() {
		t.Fatalf("survivor %s (chosen %v)", s.SurvivorID, s.Chosen())
	}
	if d := cmp.Diff(want, s.Rule); d != "" {
		t.Errorf("rule (-want +got):\n%s", d)
	}
	if got := s.Reason(nil); got != "Curated over Identified, Ephemeral (rule: type), then most complete: 3 fields over 1 (rule: complete), "+
		"then oldest: created 2025-01-05 (rule: oldest), then smallest id, tied on every other rule (rule: id)" {
		t.Errorf("reason %q", got)
	}
	o := DefaultConfig().SurviveOptions()
	o.Survivor = "c3"
	s = SurviveGroup(members, o)
	if !s.Chosen() || !strings.HasPrefix(s.Reason(nil), "chosen by a reviewer; the policy picks c1: Curated over") {
		t.Errorf("reviewer's survivor: %q", s.Reason(nil))
	}
	if s := SurviveGroup(members[:1], o); s.Reason(nil) != "the only member" {
		t.Errorf("one member: %q", s.Reason(nil))
	}
}

// TestSurviveTake: a reviewer's per-field choices win over the survivor's
// values; a displaced email or number is packed like any other.
func TestSurviveTake(t *testing.T) {
	members := []cm.Contact{
		{ID: "s", Type: cm.TypeCurated, FirstName: "Robert", CellPhone: phone("+1 312 555 0100", "+13125550100"),
			Address: &cm.Address{Address1: "1 Main St", City: "Springfield"}, CustomFields: map[string]any{"tier": "gold"}},
		{ID: "b", Type: cm.TypeIdentified, FirstName: "Bob", CellPhone: phone("+1 312 555 0199", "+13125550199"),
			Address: &cm.Address{Address1: "9 Elm St", City: "Shelbyville", PostalCode: "12345"}, CustomFields: map[string]any{"tier": "silver"}},
	}
	o := DefaultConfig().SurviveOptions()
	o.Take = map[string]string{"firstName": "b", "cellPhone": "b", "city": "b", "customFields": "b", "title": "b"}
	s := SurviveGroup(members, o)
	m := s.Merged
	if s.SurvivorID != "s" || m.FirstName != "Bob" || m.CellPhone.Display != "+1 312-555-0199" || m.OtherPhone.Display != "+1 312-555-0100" {
		t.Errorf("takes: %+v", m)
	}
	if m.Address.Address1 != "9 Elm St" || m.Address.PostalCode != "12345" || m.CustomFields["tier"] != "silver" {
		t.Errorf("address and custom fields should come from b: %+v %v", m.Address, m.CustomFields)
	}
	if f := fateOf(t, s, "s", "firstName"); f.Fate != FateOverridden || f.Of != "b" || f.Why != "a reviewer took firstName from b" {
		t.Errorf("s's first name: %+v", f)
	}
	if f := fateOf(t, s, "s", "cellPhone"); f.Fate != FateMoved || f.To != "otherPhone" {
		t.Errorf("s's cell: %+v", f)
	}
	if f := fateOf(t, s, "s", "city"); f.Fate != FateOverridden || !strings.Contains(f.Why, "taken whole") {
		t.Errorf("s's city: %+v", f)
	}
}

func TestTakeField(t *testing.T) {
	for name, want := range map[string]string{"firstname": "firstName", "cellPhone": "cellPhone", "city": "city", "type": "type", "customFields": "customFields"} {
		if got, err := TakeField(name); got != want || err != nil {
			t.Errorf("TakeField(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for name, want := range map[string]string{
		"bogus":       `no field "bogus" (fields that can be taken: type, firstName`,
		"externalIds": "externalIds cannot be taken from one member",
		"modifyDate":  "modifyDate is not a field survivorship fills",
		"id":          "id is not a field survivorship fills",
	} {
		if _, err := TakeField(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("TakeField(%q) err = %v, want %q", name, err, want)
		}
	}
	members := []cm.Contact{{ID: "a", FirstName: "Ann", Address: &cm.Address{City: "X"}}, {ID: "b", Address: &cm.Address{City: "Y"}}}
	for _, tt := range []struct {
		take map[string]string
		want string
	}{
		{map[string]string{"firstName": "a", "city": "b", "postalCode": "b"}, ""},
		{map[string]string{"firstName": "b"}, "firstName=b: b has no firstName"},
		{map[string]string{"firstName": "z"}, "firstName=z: z is not a member of the group"},
		{map[string]string{"city": "a", "postalCode": "b"}, "postalCode=b: the address is taken whole from one member, and another address part names a"},
		{map[string]string{"firstname": "a"}, `field "firstname" is spelled firstName`},
		{map[string]string{"externalIds": "a"}, "externalIds cannot be taken"},
	} {
		err := CheckTakes(members, tt.take)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckTakes(%v) = %v, want %q", tt.take, err, tt.want)
		}
	}
}

// TestSurviveAccountsForEveryValue: on generated organizations, every
// member's every value has exactly one fate, kept and moved values are in
// the merged record where the fate says, and the unkept list is the unkept
// fates.
func TestSurviveAccountsForEveryValue(t *testing.T) {
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 3000, Seed: 7, CuratedDuplicates: true})
	byID := map[string]cm.Contact{}
	for _, c := range org.Contacts {
		byID[c.ID] = c
	}
	values := func(c *cm.Contact) map[string]bool {
		out := map[string]bool{}
		for _, f := range cm.ContactFields {
			switch f.Name {
			case "id", "divisionId", "modifyDate", "createDate", "externalIds", "customFields":
				continue
			}
			if v := f.Get(c); v != "" {
				out[f.Name] = true
			}
		}
		for k, v := range c.CustomFields {
			if customText(v) != "" {
				out["customFields."+k] = true
			}
		}
		return out
	}
	groups := 0
	for _, ids := range org.Truth {
		var members []cm.Contact
		for _, id := range ids {
			if c, ok := byID[id]; ok {
				members = append(members, c)
			}
		}
		if len(members) < 2 {
			continue
		}
		groups++
		s := SurviveGroup(members, DefaultConfig().SurviveOptions())
		count := map[string]int{}
		var unkept []cm.UnkeptValue
		for _, f := range s.Fates {
			if f.Field != "externalIds" {
				count[f.ContactID+" "+f.Field]++
			}
			switch f.Fate {
			case FateKept, FateMoved:
				fld, ok := cm.LookupField(f.To)
				if ok && fld.Get(s.Merged) == "" {
					t.Errorf("%v: %s's %s is %s to %s, which is empty", ids, f.ContactID, f.Field, f.Fate, f.To)
				}
			case FateUnkept:
				unkept = append(unkept, cm.UnkeptValue{ContactID: f.ContactID, Field: f.Field, Value: f.Value})
			}
		}
		if !slices.Equal(unkept, s.Unkept) && (len(unkept) > 0 || len(s.Unkept) > 0) {
			t.Errorf("%v: unkept %+v, fates say %+v", ids, s.Unkept, unkept)
		}
		for _, c := range members {
			for field := range values(&c) {
				if n := count[c.ID+" "+field]; n != 1 {
					t.Errorf("%v: %s's %s has %d fates", ids, c.ID, field, n)
				}
			}
			for _, e := range c.ExternalIDs {
				if !slices.ContainsFunc(s.Fates, func(f ValueFate) bool {
					return f.ContactID == c.ID && f.Field == "externalIds" && f.Value == e.SourceName()+":"+e.Value
				}) {
					t.Errorf("%v: %s's external id %s has no fate", ids, c.ID, e.Value)
				}
			}
		}
	}
	if groups < 50 {
		t.Fatalf("only %d groups", groups)
	}
}
