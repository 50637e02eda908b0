package importer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

// storeDataLines are lines where a line's bytes and json.Marshal of its
// contact differ: whitespace, escapes, characters json.Marshal escapes for
// HTML (in raw fields too), empty objects and arrays, dates with offsets,
// nulls, repeated and differently cased names, numbers json.Marshal writes
// otherwise.
var storeDataLines = []string{
	`{"id":"a","firstName":"Ann"}`,
	` { "id" : "a" , "firstName" : "Ann Lee" ,` + "\t" + `"address": {"city": "x y"}}`,
	`{"id":"a","firstName":"<b>&amp;</b>","twitterId":{"screenName":"<a&b>"}}`,
	`{"id":"a","firstName":"\u2028\u2029` + "\u2028\u2029" + `","lineId":"` + "\u2028" + `"}`,
	`{"id":"a","firstName":"\u003c\/\"\\"}`,
	`{"id":"a","customFields":{}}`,
	`{"id":"a","externalIds":[]}`,
	`{"id":"a","mergeSet":[],"division":{}}`,
	`{"id":"a","twitterId":{},"lineId":[]}`,
	`{"id":"a","twitterId":{ "a" : [ 1 , 2 ] }}`,
	`{"id":"a","firstName":"{}[]"}`,
	`{"id":"a","modifyDate":"2024-01-02T03:04:05.123456789+05:30"}`,
	`{"id":"a","modifyDate":"2024-01-02T03:04:05+00:00"}`,
	`{"id":"a","modifyDate":"2024-01-02T03:04:05-00:00"}`,
	`{"id":"a","modifyDate":"2024-01-02T03:04:05.1000Z","createDate":"0001-01-01T00:00:00Z"}`,
	`{"id":"a","createDate":"0000-01-01T00:00:00Z","modifyDate":null}`,
	`{"id":"a","firstName":null,"cellPhone":null,"address":null,"customFields":null,"twitterId":null}`,
	`{"id":"a","firstName":"Ann","FIRSTNAME":"Bea","address":{"city":"x"},"Address":{"state":"y"}}`,
	`{"id":"a","customFields":{"n":1.0,"m":1e2,"k":-0,"big":12345678901234567890,"s":"x","s":"y"}}`,
	`{"id":"a","customFields":{"o":{"a":1},"o":{"b":2}}}`,
	`{"id":"a","cellPhone":{"display":"+1 555"},"cellPhone":{"e164":"+1555"}}`,
	`{"id":"a","externalIds":[{"externalSource":{"name":"crm"},"value":"1"},null]}`,
	`{"id":"a","surveyOptOut":false,"schema":{"id":"s","version":1,"jsonSchema":{"a":[1,{"b":null}]}}}`,
	`{"id":"a","firstName":"\ud800x"}`,
}

// checkStoreData fails t when the line raw is a valid contact whose
// storeData encoding/json decodes to another contact than json.Marshal of
// it, or is not compact JSON.
func checkStoreData(t *testing.T, raw []byte) {
	t.Helper()
	var c cm.Contact
	l, data := decodeLine(raw, 0, "f", 1, &c)
	if !l.ok || data == nil {
		return
	}
	marshalled, err := json.Marshal(&c)
	if err != nil {
		t.Fatalf("%s: a valid contact json.Marshal refuses: %v", raw, err)
	}
	var want, got cm.Contact
	if err := json.Unmarshal(marshalled, &want); err != nil {
		t.Fatalf("%s: json.Marshal's %s does not decode: %v", raw, marshalled, err)
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%s: the stored %s does not decode: %v", raw, data, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: the stored data decodes to another contact than json.Marshal's:\n stored    %s\n %+v\n marshalled %s\n %+v",
			raw, data, got, marshalled, want)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil || !bytes.Equal(compact.Bytes(), data) {
		t.Fatalf("%s: the stored %s is not compact JSON (%v)", raw, data, err)
	}
}

// TestStoreDataDecodesAsMarshal: the data the importer hands a store to
// keep decodes to what json.Marshal's would, on tricky lines, the
// bad-input corpus and generated contacts written with whitespace; and it
// is the line itself for generated contacts (the import is no faster
// otherwise).
func TestStoreDataDecodesAsMarshal(t *testing.T) {
	for _, l := range append(storeDataLines, trickyLines...) {
		checkStoreData(t, []byte(l))
	}
	for _, l := range corpusLines(t) {
		checkStoreData(t, l)
	}
	same, n := 0, 0
	err := sandbox.GenerateStream(sandbox.GenConfig{Contacts: 2000, Seed: 7}, func(c *cm.Contact) error {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		checkStoreData(t, b)
		var indented bytes.Buffer
		if err := json.Indent(&indented, b, "", " "); err != nil {
			return err
		}
		checkStoreData(t, bytes.ReplaceAll(indented.Bytes(), []byte("\n"), []byte(" ")))
		var d cm.Contact
		if _, data := decodeLine(b, 0, "f", 1, &d); bytes.Equal(data, b) {
			same++
		}
		n++
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if same != n {
		t.Errorf("the line itself is the data of %d of %d generated contacts, want all", same, n)
	}
}

// TestStoreDataFallsBack: lines whose bytes cannot serve get no data (the
// store marshals the contact).
func TestStoreDataFallsBack(t *testing.T) {
	for _, l := range []string{
		`{"id":"a","customFields":{}}`,
		`{"id":"a","externalIds":[ ]}`,
		`{"id":"a","modifyDate":"2024-01-02T03:04:05+00:00"}`,
		`{"id":"a","createDate":"2024-01-02T03:04:05+01:00"}`,
	} {
		var c cm.Contact
		r, data := decodeLine([]byte(l), 0, "f", 1, &c)
		if !r.ok || data != nil {
			t.Errorf("%s: ok %v, data %s; want a valid contact without data", l, r.ok, data)
		}
	}
}

// FuzzStoreData looks for a line whose stored data decodes to another
// contact than json.Marshal's.
func FuzzStoreData(f *testing.F) {
	for _, l := range append(storeDataLines, trickyLines...) {
		f.Add([]byte(l))
	}
	for _, l := range corpusLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := bytes.TrimSpace(b)
		if len(raw) == 0 || strings.ContainsRune(string(raw), '\n') {
			return
		}
		checkStoreData(t, raw)
	})
}

// TestStreamJSONLEncoded: encode sees every valid contact with its data,
// and fn gets, in file order, what encode made of the valid lines only (a
// repeated id, an invalid line and a blank one left out), across chunks.
func TestStreamJSONLEncoded(t *testing.T) {
	var b strings.Builder
	const n = 2500
	for i := range n {
		switch i {
		case 700:
			b.WriteString(`{"id":"bad","workEmail":"nope"}` + "\n")
		case 1800:
			b.WriteString(`{"id":"c00005"}` + "\n")
		case 2000:
			b.WriteString("\n")
		default:
			b.WriteString(`{"id":"c` + strings.Repeat("0", 5-len(itoa(i))) + itoa(i) + `", "firstName":"A"}` + "\n")
		}
	}
	var got []string
	res, m, err := StreamJSONLEncoded(strings.NewReader(b.String()), "f.jsonl",
		func(c *cm.Contact, data []byte) (string, error) { return c.ID + " " + string(data), nil },
		func(s []string) error { got = append(got, s...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Invalid) != 2 || m != n-3 || len(got) != n-3 {
		t.Fatalf("invalid %v, %d handed out, %d got; want 2 invalid and %d", res.Invalid, m, len(got), n-3)
	}
	if got[0] != `c00000 {"id":"c00000","firstName":"A"}` || got[len(got)-1] != `c02499 {"id":"c02499","firstName":"A"}` {
		t.Errorf("first %q, last %q", got[0], got[len(got)-1])
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("out of file order at %d: %q after %q", i, got[i], got[i-1])
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
