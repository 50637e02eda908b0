package contactmerge_test

import (
	"errors"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

// Every field with a setter reads back what was set, and the names are
// distinct and found case-insensitively.
func TestContactFieldsRoundTrip(t *testing.T) {
	values := map[string]string{
		"modifyDate": "2026-05-01", "createDate": "2025-01-31", "surveyOptOut": "true",
		"workPhone": "+13175550100", "cellPhone": "+13175550101", "homePhone": "+13175550102", "otherPhone": "+13175550103",
	}
	seen := map[string]bool{}
	for _, f := range cm.ContactFields {
		lower := strings.ToLower(f.Name)
		if seen[lower] {
			t.Fatalf("field %s listed twice", f.Name)
		}
		seen[lower] = true
		if g, ok := cm.LookupField(strings.ToUpper(f.Name)); !ok || g.Name != f.Name {
			t.Errorf("LookupField(%q) = %v, %v", strings.ToUpper(f.Name), g.Name, ok)
		}
		if f.Set == nil {
			continue
		}
		v := values[f.Name]
		if v == "" {
			v = "v-" + f.Name
		}
		var c cm.Contact
		if err := f.Set(&c, v); err != nil {
			t.Fatalf("%s.Set(%q): %v", f.Name, v, err)
		}
		if got := f.Get(&c); got != v {
			t.Errorf("%s: set %q, got %q", f.Name, v, got)
		}
	}
	if _, ok := cm.LookupField("nope"); ok {
		t.Error("LookupField found a field that does not exist")
	}
	var c cm.Contact
	f, _ := cm.LookupField("modifyDate")
	if err := f.Set(&c, "yesterday"); err == nil {
		t.Error("a bad date was accepted")
	}
}

func TestPhoneString(t *testing.T) {
	for _, c := range []struct {
		p    *cm.PhoneNumber
		want string
	}{
		{nil, ""},
		{&cm.PhoneNumber{Display: "+13175550100", E164: "+13175550100"}, "+13175550100"},
		{&cm.PhoneNumber{Display: "(317) 555-0100", E164: "+13175550100"}, "(317) 555-0100 (+13175550100)"},
		{&cm.PhoneNumber{E164: "+13175550100"}, "+13175550100"},
		{&cm.PhoneNumber{Display: "555"}, "555"},
	} {
		if got := c.p.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.p, got, c.want)
		}
	}
}

func TestContactValidate(t *testing.T) {
	long := strings.Repeat("é", 1001)
	cases := []struct {
		name   string
		c      cm.Contact
		fields []string // refused fields, in order; nil = valid
	}{
		{"empty", cm.Contact{}, nil},
		{"good", cm.Contact{FirstName: "Ann", WorkEmail: "ann@example.com", Type: cm.TypeCurated}, nil},
		{"trimmed name at the limit", cm.Contact{FirstName: " " + strings.Repeat("a", 1000) + " "}, nil},
		{"long name", cm.Contact{LastName: long}, []string{"lastName"}},
		{"bad type", cm.Contact{Type: "curated"}, []string{"type"}},
		{"bad emails", cm.Contact{WorkEmail: "ann", PersonalEmail: "a@b@c", OtherEmail: "Ann <a@b.com>"}, []string{"workEmail", "personalEmail", "otherEmail"}},
		{"long email", cm.Contact{WorkEmail: strings.Repeat("a", 251) + "@b.com"}, []string{"workEmail"}},
		{"long phone", cm.Contact{CellPhone: &cm.PhoneNumber{Display: strings.Repeat("1", 513)}}, []string{"cellPhone"}},
		{"long url", cm.Contact{ExternalSystemURL: strings.Repeat("u", 1001)}, []string{"externalSystemUrl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve cm.ValidationErrors
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want ValidationErrors", err)
			}
			var got []string
			for _, e := range ve {
				got = append(got, e.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("refused %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
}
