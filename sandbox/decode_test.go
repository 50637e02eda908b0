package sandbox

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func TestDecodeContact(t *testing.T) {
	c, err := DecodeContact([]byte(`{"id":"a","firstName":"  Ann ","type":"Curated",
		"cellPhone":{"display":"(704) 298-4733"},"workPhone":{"display":"020 7946 0123","normalizationCountryCode":"GB"},
		"homePhone":{"display":"12"},"personalEmail":"ann@example.com","modifyDate":"2024-03-01T10:00:00.000+02:00",
		"customFields":{"loyaltyId":"LY1"},"twitterId":{"screenName":"ann"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.FirstName != "Ann" || c.CellPhone.E164 != "+17042984733" || c.CellPhone.CountryCode != "US" || c.CellPhone.UserInput != "(704) 298-4733" ||
		c.WorkPhone.E164 != "+442079460123" || c.HomePhone.E164 != "" || c.ModifyDate.Location().String() != "UTC" || c.ModifyDate.Hour() != 8 ||
		string(c.TwitterID) != `{"screenName":"ann"}` {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{
		``, `[]`, `"x"`, `{"type":"Curated`, `{"type":"Archived"}`, `{"workEmail":"no-at-sign"}`,
		`{"personalEmail":"a@b@c"}`, `{"firstName":"` + strings.Repeat("x", 1001) + `"}`,
		`{"cellPhone":{"display":"` + strings.Repeat("1", 513) + `"}}`, `{"modifyDate":"yesterday"}`,
	} {
		if _, err := DecodeContact([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLoadContacts(t *testing.T) {
	good := `{"id":"a","firstName":"Ann"}

{"id":"b","lastName":"Bo","mergedTo":{"id":"c"},"canonicalContact":{"id":"c"}}
{"id":"c","mergeSet":[{"id":"b"},{"id":"c"}]}
`
	cs, err := LoadContacts(strings.NewReader(good), "c.jsonl")
	if err != nil || len(cs) != 3 || cs[1].MergedTo.ID != "c" {
		t.Fatalf("%v %+v", err, cs)
	}
	for in, want := range map[string]string{
		`{"id":"a"}` + "\n" + `{"id":"b",}`:                "c.jsonl:2: ",
		`{"id":"a"}` + "\n\n" + `{"firstName":"x"}`:        "c.jsonl:3: contact has no id",
		`{"id":"a"}` + "\n" + `{"id":"a"}`:                 "c.jsonl:2: contact id a already appeared on line 1",
		`{"id":"a","type":"Nope"}`:                         "c.jsonl:1: type: ",
		`{"id":"a"}` + "\n" + `{"id":"b","workEmail":"x"}`: "c.jsonl:2: workEmail: ",
	} {
		if _, err := LoadContacts(strings.NewReader(in), "c.jsonl"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
	// A loaded ancestor behaves as an alias.
	e := newEnv(t, Config{Load: strings.NewReader(good)})
	var got cm.Contact
	e.get("b").decode(t, &got)
	if got.ID != "c" || e.sb.Len() != 2 {
		t.Fatalf("alias from file: %s, Len %d", got.ID, e.sb.Len())
	}
	if _, err := New(Config{Load: strings.NewReader(`{"id":"a"}` + "\n" + `oops`)}); err == nil || !strings.HasPrefix(err.Error(), "sandbox: contacts:2: ") {
		t.Fatalf("New with a bad file: %v", err)
	}
}

func TestLoadActivity(t *testing.T) {
	in := `{"externalContactId":"a","conversationId":"v1","start":"2026-05-14T09:00:00Z"}
{"externalContactId":"b","conversationId":"v2","start":"2026-05-14T08:00:00Z","end":"2026-05-14T08:30:00Z"}
{"externalContactId":"c","caseId":"k1","status":"Open"}
{"externalContactId":"d","caseId":"k2","status":"Closed"}
{"externalContactId":"e","caseId":"k3"}
`
	acts, err := LoadActivity(strings.NewReader(in), "a.jsonl")
	if err != nil || len(acts) != 5 || acts[4].Status != "Open" {
		t.Fatalf("%v %+v", err, acts)
	}
	e := newEnv(t, Config{Load: strings.NewReader(`{"id":"a"}`), Activity: strings.NewReader(in)})
	if got := e.sb.ActiveContacts(); strings.Join(got, ",") != "a,c,e" {
		t.Fatalf("active %v", got)
	}
	for in, want := range map[string]string{
		`{"conversationId":"v"}`:    "a.jsonl:1: externalContactId",
		`{"externalContactId":"a"}`: "conversationId or a caseId",
		"\n" + `{"externalContactId":"a","conversationId":"v","caseId":"k"}`: "a.jsonl:2: ",
		`{"externalContactId":"a","conversationId":"v","start":"x"}`:         "a.jsonl:1: ",
	} {
		if _, err := LoadActivity(strings.NewReader(in), "a.jsonl"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// FuzzDecodeContact checks that decoding never panics and that an accepted
// contact re-encodes to JSON that decodes to the same contact (the encoding
// is stable after one round).
func FuzzDecodeContact(f *testing.F) {
	org := Generate(GenConfig{Contacts: 30, Seed: 1})
	for _, c := range org.Contacts {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `{"id":"x","cellPhone":{"display":"+44 20 7946 0123"}}`, `{"id":"x","customFields":{"a":[1,{"b":null}],"n":1e400}}`,
		`{"modifyDate":"2024-01-01T00:00:00+14:00","createDate":"0001-01-01T00:00:00Z"}`, `{"twitterId":null,"lineId":[1,2]}`,
		`{"firstName":"\ud800","workEmail":"a@b"}`, `{"cellPhone":{"display":"+1","normalizationCountryCode":"ZZ"}}`,
		`{"mergeSet":[{"id":"a"}],"mergedTo":{"id":"b"},"type":"Ephemeral"}`, `{"externalIds":[{"value":"v","externalSource":{"name":"crm"}}]}`,
		`{"cellPhone":{"display":"0800 123 4567","normalizationCountryCode":"gb","extension":12,"acceptsSMS":true}}`,
	} {
		f.Add([]byte(s))
	}
	addLoadCorpusLines(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeContact(data)
		if err != nil {
			return
		}
		b1, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("accepted contact does not encode: %v", err)
		}
		c2, err := DecodeContact(b1)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b1, err)
		}
		b2, err := json.Marshal(c2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("unstable round trip:\n%s\n%s", b1, b2)
		}
	})
}
