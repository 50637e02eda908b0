package match

import (
	"context"
	"fmt"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

// testScorer compiles the default comparators over cs (no training) and
// returns a function naming the level of field for two contact ids.
func testScorer(t *testing.T, cs []cm.Contact) (*scorer, func(field, a, b string) string) {
	t.Helper()
	cfg := DefaultConfig()
	in := NewMemoryInput(cs, cfg)
	d := newDataset()
	for i, id := range in.ids {
		d.addEncoded(id, in.norms[i], in.fp)
	}
	d.finish()
	idx := map[string]int32{}
	for i, id := range d.ids {
		idx[id] = int32(i)
	}
	s := newScorer(d, &cfg, newNicknames(nil))
	return s, func(field, a, b string) string {
		t.Helper()
		for _, c := range s.comps {
			if c.field == field {
				return c.levelName(c.level(idx[a], idx[b]))
			}
		}
		t.Fatalf("no comparator %s", field)
		return ""
	}
}

func addr(line, postal, city string) *cm.Address {
	return &cm.Address{Address1: line, PostalCode: postal, City: city}
}

func TestAddressLevels(t *testing.T) {
	cs := []cm.Contact{
		{ID: "a", Address: addr("24 Yarra Street", "3829", "Taree")},
		{ID: "b", Address: addr("24 Yarra St", "3829", "Taree")},      // the same address, abbreviated
		{ID: "c", Address: addr("24 Yarra St", "3820", "Taret")},      // postal code and city one typo away
		{ID: "d", Address: addr("24 Yarrah St", "9999", "Elsewhere")}, // the street line only
		{ID: "e", Address: addr("86 Yarra St", "3829", "Taree")},      // another number on the street
		{ID: "f", Address: addr("Yarra St", "3829", "Taree")},         // no number
		{ID: "g", Address: addr("1 Main Rd", "3829", "Taree")},        // the postal code
		{ID: "h", Address: addr("1 Main Rd", "3821", "Elsewhere")},    // the postal prefix
		{ID: "i", Address: addr("7 Other Pl", "1000", "Nowhere")},     // nothing
		{ID: "j", Address: &cm.Address{Address1: "24 Yarra St", Address2: "Apt 4", PostalCode: "3829", City: "Taree"}},
		{ID: "k", Address: &cm.Address{Address1: "24 Yarra St", Address2: "Apt 9", PostalCode: "3829", City: "Taree"}},
	}
	_, level := testScorer(t, cs)
	for _, tc := range []struct{ a, b, want string }{
		{"a", "b", "exact"},
		{"a", "c", "street"},
		{"a", "d", "line"},
		{"a", "e", "streetName"},
		{"a", "f", "street"}, // a missing number does not conflict
		{"a", "g", "postalCode"},
		{"a", "h", "postalPrefix"},
		{"a", "i", "different"},
		{"j", "k", "street"}, // another apartment is not the same address
	} {
		if got := level("address", tc.a, tc.b); got != tc.want {
			t.Errorf("address %s/%s: %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestDateLevels(t *testing.T) {
	dob := func(id, d string) cm.Contact {
		return cm.Contact{ID: id, CustomFields: map[string]any{"dateOfBirth": d}}
	}
	cs := []cm.Contact{
		dob("a", "1962-11-21"), dob("b", "19621121"), dob("c", "19621211"), dob("d", "19631122"),
		dob("e", "1962-12-05"), dob("f", "19651121"), dob("g", "1963-06-01"), dob("h", "1990-01-01"),
		dob("x", "1962-11-03"), dob("y", "1962-03-11"),
	}
	_, level := testScorer(t, cs)
	for _, tc := range []struct{ a, b, want string }{
		{"a", "b", "exact"},
		{"a", "c", "typo"}, // two neighbouring digits swapped
		{"x", "y", "dayMonth"},
		{"a", "e", "month"},
		{"a", "f", "typo"},  // one digit off
		{"a", "g", "year"},  // 192 days
		{"a", "d", "typo2"}, // not a date, two edits
		{"a", "h", "different"},
	} {
		if got := level("custom.dateOfBirth", tc.a, tc.b); got != tc.want {
			t.Errorf("dateOfBirth %s/%s: %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
	if d1, ok1 := dayNumber("20000301"); !ok1 {
		t.Fatal("20000301 is a date")
	} else if d2, _ := dayNumber("20000228"); d1-d2 != 2 {
		t.Errorf("2000-02-28 to 2000-03-01: %d days, want 2 (a leap year)", d1-d2)
	}
	if _, ok := dayNumber("19621301"); ok {
		t.Error("month 13 is not a date")
	}
}

// TestNameLevels: a one-letter difference between two common names is two
// names (john, joan), not a typo; a rare spelling is a typo; a misspelt
// nickname is a nickname; swapped names are one event.
func TestNameLevels(t *testing.T) {
	var cs []cm.Contact
	for i := range 30 {
		cs = append(cs, cm.Contact{ID: fmt.Sprintf("john%02d", i), FirstName: "John", LastName: fmt.Sprintf("L%d", i)})
		cs = append(cs, cm.Contact{ID: fmt.Sprintf("joan%02d", i), FirstName: "Joan", LastName: fmt.Sprintf("L%d", i)})
	}
	cs = append(cs,
		cm.Contact{ID: "jhon", FirstName: "Jhon", LastName: "Smith"},
		cm.Contact{ID: "nik", FirstName: "Nik", LastName: "Hawkins"},
		cm.Contact{ID: "nicholas", FirstName: "Nicholas", LastName: "Hawkins"},
		cm.Contact{ID: "chrstpher", FirstName: "Chrstpher", LastName: "Gordon"},
		cm.Contact{ID: "christopher", FirstName: "Christopher", LastName: "Gordon"},
		cm.Contact{ID: "swap", FirstName: "Gordon", LastName: "Christopher"},
	)
	s, level := testScorer(t, cs)
	for _, tc := range []struct{ a, b, want string }{
		{"john00", "joan01", "jw>=0.80"}, // two common names: a household conflict level
		{"john00", "jhon", "typo"},
		{"nik", "nicholas", "nickname"},
		{"chrstpher", "christopher", "typo2"},
		{"christopher", "swap", "swapped"},
	} {
		if got := level("firstName", tc.a, tc.b); got != tc.want {
			t.Errorf("firstName %s/%s: %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
	if got := level("lastName", "christopher", "swap"); got != "swapped" {
		t.Errorf("lastName christopher/swap: %s, want swapped", got)
	}
	for _, c := range s.comps {
		if c.field == colLast {
			if w, ok := c.fixed[1]; !ok || w != 0 {
				t.Errorf("lastName swapped weight %v %v, want fixed 0 (the given name's level weighs the swap)", w, ok)
			}
		}
	}
}

// TestHouseholdKeepsIdentifiers: the household rule zeroes a shared address
// when the given names differ, unless an external id agrees, or a date of
// birth together with the address.
func TestHouseholdKeepsIdentifiers(t *testing.T) {
	home := func() *cm.Address { return addr("5 Beaumont Cl", "4020", "Coonabarabran") }
	ssn := func(v string) []cm.ExternalID {
		return []cm.ExternalID{{ExternalSource: &cm.ExternalSource{Name: "ssn"}, Value: v}}
	}
	cs := []cm.Contact{
		{ID: "a", FirstName: "Amelia", LastName: "Ryan", Address: home(), ExternalIDs: ssn("1613259"), CustomFields: map[string]any{"dateOfBirth": "19230301"}},
		{ID: "b", FirstName: "Edward", LastName: "Ryan", Address: home(), ExternalIDs: ssn("1613259")},
		{ID: "c", FirstName: "Edward", LastName: "Ryan", Address: home(), ExternalIDs: ssn("4392917"), CustomFields: map[string]any{"dateOfBirth": "19230301"}},
		{ID: "d", FirstName: "Edward", LastName: "Ryan", Address: addr("9 Other St", "4020", "Coonabarabran"), CustomFields: map[string]any{"dateOfBirth": "19230301"}},
		{ID: "e", FirstName: "Edward", LastName: "Ryan", Address: home(), ExternalIDs: ssn("4392917"), CustomFields: map[string]any{"dateOfBirth": "19560101"}},
		{ID: "f", FirstName: "Lucy", LastName: "Other", ExternalIDs: ssn("7777777"), CustomFields: map[string]any{"dateOfBirth": "19010101"}},
	}
	s, _ := testScorer(t, cs)
	idx := map[string]int32{}
	for i, id := range s.d.ids {
		idx[id] = int32(i)
	}
	lv := make([]uint8, len(s.comps))
	sup := func(a, b string) bool {
		s.levels(idx[a], idx[b], lv)
		return s.suppressed(lv)
	}
	for _, tc := range []struct {
		a, b string
		want bool
		why  string
	}{
		{"a", "b", false, "the external id agrees"},
		{"a", "c", false, "the date of birth agrees, with the address"},
		{"a", "d", true, "the date of birth agrees, but not the address"},
		{"a", "e", true, "nothing unique agrees: a family"},
	} {
		if got := sup(tc.a, tc.b); got != tc.want {
			t.Errorf("%s/%s suppressed = %v, want %v (%s)", tc.a, tc.b, got, tc.want, tc.why)
		}
	}
}

// TestContactCenterTraps: swapped given and family names link; namesakes in
// one city, household members and one shared mailbox with disagreeing
// phones (a family mailbox) do not.
func TestContactCenterTraps(t *testing.T) {
	phone := func(n string) *cm.PhoneNumber { return &cm.PhoneNumber{E164: n} }
	// A generated organization around the traps, so that the model learns
	// from realistic data.
	cs := sandbox.Generate(sandbox.GenConfig{Contacts: 3000, Seed: 13}).Contacts
	cs = append(cs,
		// Swapped names, the same cell and email.
		cm.Contact{ID: "swap1", FirstName: "Wilde", LastName: "Kyra", CellPhone: phone("+13125550999"), PersonalEmail: "kyra.wilde@example.com"},
		cm.Contact{ID: "swap2", FirstName: "Kyra", LastName: "Wilde", CellPhone: phone("+13125550999"), PersonalEmail: "kyra.wilde@example.com"},
		// Namesakes in one city, nothing else in common.
		cm.Contact{ID: "ns1", FirstName: "James", LastName: "Smith", Address: addr("1 Oak St", "60602", "Chicago"), CellPhone: phone("+13125551001")},
		cm.Contact{ID: "ns2", FirstName: "James", LastName: "Smith", Address: addr("9 Elm St", "60611", "Chicago"), CellPhone: phone("+13125551002")},
		// A household: one home phone and address, three given names.
		cm.Contact{ID: "hh1", FirstName: "Maria", LastName: "Garcia", HomePhone: phone("+13125552000"), Address: addr("7 Pine Ave", "60614", "Chicago")},
		cm.Contact{ID: "hh2", FirstName: "Carlos", LastName: "Garcia", HomePhone: phone("+13125552000"), Address: addr("7 Pine Ave", "60614", "Chicago")},
		cm.Contact{ID: "hh3", FirstName: "Lucia", LastName: "Garcia", HomePhone: phone("+13125552000"), Address: addr("7 Pine Ave", "60614", "Chicago")},
		// A family mailbox: one email, different given names and phones.
		cm.Contact{ID: "mb1", FirstName: "Anna", LastName: "Olson", PersonalEmail: "olsonfamily@example.com", CellPhone: phone("+13125553001")},
		cm.Contact{ID: "mb2", FirstName: "Brian", LastName: "Olson", PersonalEmail: "olsonfamily@example.com", CellPhone: phone("+13125553002")},
	)
	res, err := MatchContacts(context.Background(), cs, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	group := map[string]string{}
	for _, g := range res.Groups {
		for _, m := range g.Members {
			group[m] = g.ID
		}
	}
	together := func(a, b string) bool { return group[a] != "" && group[a] == group[b] }
	if !together("swap1", "swap2") {
		t.Error("swapped given and family names with the same cell and email not linked")
	}
	for _, p := range [][2]string{{"ns1", "ns2"}, {"hh1", "hh2"}, {"hh2", "hh3"}, {"hh1", "hh3"}, {"mb1", "mb2"}} {
		if together(p[0], p[1]) {
			t.Errorf("%s and %s grouped", p[0], p[1])
			for _, g := range res.Groups {
				if group[p[0]] == g.ID {
					for _, l := range g.Explanation.Links {
						t.Logf("%+v", l)
					}
				}
			}
		}
	}
}
