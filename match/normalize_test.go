package match

import (
	"slices"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func TestFoldAndNames(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  José  ", "jose"},
		{"Müller-Lüdenscheidt", "mullerludenscheidt"},
		{"O'Brien", "obrien"},
		{"Straße", "strasse"},
		{"Dr. John", "john"},
		{"Mrs Mary Ann", "maryann"},
		{"Smith Jr.", "smith"},
		{"Øster", "oster"},
		{"Mr", ""},
	} {
		if got := foldName(tc.in); got != tc.want {
			t.Errorf("foldName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	n := newNormalizer(DefaultConfig())
	for _, tc := range []struct{ in, want string }{
		{" John.Smith+news@GMail.com ", "johnsmith@gmail.com"},
		{"john.smith@googlemail.com", "johnsmith@gmail.com"},
		{"j.smith+x@outlook.com", "j.smith@outlook.com"},
		{"j.smith+x@example.com", "j.smith+x@example.com"},
		{"not-an-email", ""},
		{"@example.com", ""},
		{"a@", ""},
	} {
		if got := n.email(tc.in); got != tc.want {
			t.Errorf("email(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	n := newNormalizer(DefaultConfig())
	for _, tc := range []struct {
		p    cm.PhoneNumber
		want string
	}{
		{cm.PhoneNumber{E164: "+13125550100", Display: "garbage"}, "+13125550100"},
		{cm.PhoneNumber{Display: "(312) 555-0100"}, "+13125550100"},
		{cm.PhoneNumber{Display: "+1 312-555-0100"}, "+13125550100"},
		{cm.PhoneNumber{Display: "020 7946 0958", NormalizationCountryCode: "GB"}, "+442079460958"},
		{cm.PhoneNumber{Display: "555-0100"}, "#5550100"},
		{cm.PhoneNumber{Display: "12"}, ""},
	} {
		p := tc.p
		if got := n.phone(&p); got != tc.want {
			t.Errorf("phone(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
	cfg := DefaultConfig()
	cfg.DefaultRegion = "GB"
	if got := newNormalizer(cfg).phone(&cm.PhoneNumber{Display: "020 7946 0958"}); got != "+442079460958" {
		t.Errorf("default region GB: got %q", got)
	}
}

func TestNormalizeAddress(t *testing.T) {
	line, num, unit := normAddressLine("123 North Main Street, Apt 4B")
	if line != "123 n main st" || num != "123" || unit != "4b" {
		t.Errorf("got %q %q %q", line, num, unit)
	}
	line, _, unit = normAddressLine("77 Sunset Blvd #12")
	if line != "77 sunset blvd" || unit != "12" {
		t.Errorf("got %q unit %q", line, unit)
	}
}

func TestNormalizeRoundTrip(t *testing.T) {
	c := cm.Contact{
		ID: "c1", Division: &cm.Ref{ID: "d1"}, FirstName: "Bob", LastName: "Smith",
		WorkEmail: "Bob@X.com", PersonalEmail: "bob@x.com",
		CellPhone: &cm.PhoneNumber{Display: "312 555 0100"},
		Address:   &cm.Address{Address1: "1 Main Street", City: "Springfield", PostalCode: "62701 "},
		ExternalIDs: []cm.ExternalID{
			{ExternalSource: &cm.ExternalSource{Name: "CRM"}, Value: " A-1 "},
		},
		CustomFields: map[string]any{"dob": "1980-02-03", "tier": "Gold", "n": 42.0, "empty": ""},
	}
	cfg := DefaultConfig()
	b := NormalizerFunc(cfg)(&c)
	if b[0] != NormVersion {
		t.Fatalf("version byte %d", b[0])
	}
	if nm := Normalize(&c, cfg); nm.encodedLen() != len(b) {
		t.Errorf("encodedLen %d, encoding has %d bytes", nm.encodedLen(), len(b))
	}
	got, err := DecodeNorm(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Normalize(&c, cfg)
	if got.First != "bob" || got.Last != "smith" || !slices.Equal(got.Emails, []string{"bob@x.com"}) ||
		!slices.Equal(got.Phones, []string{"+13125550100"}) || got.Postal != "62701" || got.Address1 != "1 main st" ||
		!slices.Equal(got.ExtIDs, []KV{{"crm", "a-1"}}) || !slices.Equal(got.DateLike, []string{"dob"}) {
		t.Errorf("decoded %+v", got)
	}
	if !slices.Equal(got.Custom, want.Custom) || len(got.Custom) != 3 {
		t.Errorf("custom %v want %v", got.Custom, want.Custom)
	}
	if _, err := DecodeNorm(b[:len(b)-3]); err == nil {
		t.Error("truncated norm decoded")
	}
	fp := NormFingerprint(cfg)
	if !usableNorm(b, fp) {
		t.Error("valid norm rejected")
	}
	for cut := 1; cut < len(b); cut++ {
		if usableNorm(b[:cut], fp) {
			t.Errorf("norm truncated to %d bytes accepted", cut)
			break
		}
	}
	if _, err := DecodeNorm(append([]byte{99}, b[1:]...)); err == nil {
		t.Error("other version decoded")
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{"19800203": "19800203", "1980-02-03": "19800203", "02/03/1980": "19800203", "1980-02-03T10:00:00Z": "19800203"} {
		if got, ok := parseDate(in); !ok || got != want {
			t.Errorf("parseDate(%q) = %q %v", in, got, ok)
		}
	}
	if _, ok := parseDate("12345678"); ok {
		t.Error("12345678 parsed as a date")
	}
}

func TestNicknames(t *testing.T) {
	n := newNicknames(map[string][]string{"Wolfgang": {"Wolf"}})
	for _, pair := range [][2]string{{"bob", "robert"}, {"liz", "elizabeth"}, {"sam", "samuel"}, {"sam", "samantha"}, {"wolf", "wolfgang"}} {
		if !n.same(pair[0], pair[1]) {
			t.Errorf("%s !~ %s", pair[0], pair[1])
		}
	}
	if n.same("samuel", "samantha") {
		t.Error("samuel ~ samantha")
	}
	if !n.sameWithTypo("rnoald", "ron") || n.sameWithTypo("mary", "mark") || n.sameWithTypo("emma", "emily") || n.sameWithTypo("jose", "joe") {
		t.Error("sameWithTypo")
	}
	// A misspelt nickname of the full name: a letter more or less, or two
	// neighbours swapped; not a letter replaced (emma/emmy, jose/joey).
	for _, pair := range [][2]string{{"nik", "nicholas"}, {"treri", "teresa"}, {"jimmmy", "james"}, {"babr", "barbara"}} {
		if !n.sameWithTypo(pair[0], pair[1]) {
			t.Errorf("sameWithTypo(%s, %s) = false", pair[0], pair[1])
		}
	}
	for _, pair := range [][2]string{{"emma", "emily"}, {"jose", "joseph"}, {"al", "albert"}} {
		if n.sameWithTypo(pair[0], pair[1]) {
			t.Errorf("sameWithTypo(%s, %s) = true", pair[0], pair[1])
		}
	}
}

func TestStringSimilarity(t *testing.T) {
	if d := Levenshtein("kitten", "sitting"); d != 3 {
		t.Errorf("lev %d", d)
	}
	if d := DamerauLevenshtein("ca", "ac"); d != 1 {
		t.Errorf("damerau %d", d)
	}
	if !withinDistance("martha", "marhta", 1) || withinDistance("martha", "mary", 1) {
		t.Error("withinDistance")
	}
	if jw := JaroWinkler("martha", "marhta"); jw < 0.961 || jw > 0.962 {
		t.Errorf("jw martha %v", jw)
	}
	if jw := JaroWinkler("dixon", "dicksonx"); jw < 0.81 || jw > 0.82 {
		t.Errorf("jw dixon %v", jw)
	}
	if JaroWinkler("", "") != 0 || JaroWinkler("a", "a") != 1 {
		t.Error("jw edge cases")
	}
	for in, want := range map[string]string{"robert": "R163", "rupert": "R163", "tymczak": "T522", "pfister": "P236", "ashcraft": "A261"} {
		if got := Soundex(in); got != want {
			t.Errorf("Soundex(%s) = %s, want %s", in, got, want)
		}
	}
}

// same (a test helper) reports whether two folded given names may be the same name.
func (n nicknames) same(a, b string) bool {
	ca, cb := n.canonical(a), n.canonical(b)
	for _, x := range ca {
		if slices.Contains(cb, x) {
			return true
		}
	}
	return false
}
