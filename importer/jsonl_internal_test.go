package importer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

// trickyLines are JSON lines where decoders are known to differ: name
// case, duplicate names, nulls, numbers and strings in each other's place,
// escapes, trailing data, nesting.
var trickyLines = []string{
	`{"id":"a","FIRSTNAME":"Ann","LastName":"Lee"}`,
	`{"id":"a","firstName":"Ann","firstName":"Bea"}`,
	`{"id":"a","firstname":"Ann","firstName":"Bea"}`,
	`{"id":null,"firstName":null,"cellPhone":null,"address":null,"customFields":null}`,
	`{"id":"a","firstName":12}`,
	`{"id":1}`,
	`{"id":"a","customFields":{"n":1,"s":"x","b":true,"l":[1,"2"],"o":{"k":null}}}`,
	`{"id":"a","customFields":{"n":1e400}}`,
	`{"id":"a","firstName":"\u00e9\ud83d\ude00\u0000"}`,
	`{"id":"a","firstName":"\ud800"}`,
	`{"id":"a"} {"id":"b"}`,
	`{"id":"a"}x`,
	`{"id":"a",}`,
	`{"id":"a","unknown":1}`,
	`{"id":"a","address":{"address1":"1 Main","zip":"x"}}`,
	`{"id":"a","modifyDate":"2024-02-30T00:00:00Z"}`,
	`{"id":"a","modifyDate":"2024-01-02T03:04:05.123456789+05:30"}`,
	`{"id":"a","modifyDate":"2024-01-02 03:04:05"}`,
	`{"id":"a","createDate":"0000-01-01T00:00:00Z","modifyDate":null}`,
	`{"id":"a","externalIds":[{"externalSource":{"name":"crm"},"value":"1"},null]}`,
	`{"id":"a","cellPhone":{"display":"+1 555","countryCode":"US","acceptsSMS":"yes"}}`,
	`{"id":"a","cellPhone":{"display":"+1 555","extension":1.5}}`,
	`{"id":"a","schema":{"id":"s","version":"1"}}`,
	`{"id":"a","schema":{"id":"s","version":1,"jsonSchema":{"a":[1,{"b":null}]}}}`,
	`{"id":"a","division":{"id":"d","name":"Home","selfUri":"/x"}}`,
	`[]`,
	`"x"`,
	`null`,
	`{"id":"a","type":"Curated","Type":"Ephemeral"}`,
	`{"id":"a","twitterId":null,"lineId":"x","whatsAppId":{"a":null},"identifiers":[]}`,
	`{"id":"a","externalIds":[],"mergeSet":[],"customFields":{}}`,
	`{"id":"a","externalIds":null,"mergeSet":[{}],"division":{}}`,
	`{"id":"a","modifyDate":"2024-01-02t03:04:05z"}`,
	`{"id":"a","modifyDate":"2024-01-02T03:04:05,5Z"}`,
	`{"id":"a","modifyDate":"2024-01-02T24:00:00Z"}`,
	`{"id":"a","modifyDate":"2024-01-02T03:04:05+24:00"}`,
	`{"id":"a","modifyDate":"2024-01-02T03:04:05.Z"}`,
	`{"id":"a","modifyDate":"+2024-01-02T03:04:05Z"}`,
	`{"id":"a","modifyDate":""}`,
	`{"id":"a","surveyOptOut":null,"cellPhone":{"acceptsSMS":null}}`,
	`{"id":"a","schema":{"version":1.0}}`,
	`{"id":"a","schema":{"version":-0}}`,
	`{"id":"a","customFields":{"n":-0,"m":1E2,"o":0.1e-400}}`,
	`{"id":"a","firstName":"a\/b\u0041"}`,
	`{"id":"a","cellPhone":{"display":"1"},"workPhone":{}}`,
}

// checkAgrees fails t when the fast decoder accepts raw and encoding/json
// does not, or decodes it to another contact.
func checkAgrees(t *testing.T, raw []byte) {
	t.Helper()
	for name, opts := range map[string]jsonv2.Options{"v2": strictV2, "v1 options": fastV1} {
		var fast cm.Contact
		if jsonv2.Unmarshal(raw, &fast, opts) != nil {
			continue // the next decoder takes it
		}
		var slow cm.Contact
		if errs := decodeV1(raw, 0, "f", 1, &slow); errs != nil {
			t.Fatalf("%s: the fast decoder (%s) accepts it, encoding/json says %v", raw, name, errs)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%s: the decoders disagree:\n fast (%s) %+v\n v1   %+v", raw, name, fast, slow)
		}
	}
}

// corpusLines returns the lines of the JSONL files of the bad-input
// corpus.
func corpusLines(t testing.TB) [][]byte {
	paths, err := filepath.Glob("../testdata/badinput/import/*.jsonl")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for l := range bytes.SplitSeq(b, []byte("\n")) {
			out = append(out, bytes.TrimSpace(l))
		}
	}
	return out
}

// TestFastDecodeAgreesWithV1: on generated contacts, the bad-input corpus
// and lines where JSON decoders are known to differ, whatever the fast
// decoder accepts encoding/json accepts too, as the same contact (the
// import's results are encoding/json's).
func TestFastDecodeAgreesWithV1(t *testing.T) {
	for _, l := range trickyLines {
		checkAgrees(t, []byte(l))
	}
	for _, l := range corpusLines(t) {
		checkAgrees(t, l)
	}
	accepted := 0
	err := sandbox.GenerateStream(sandbox.GenConfig{Contacts: 3000, Seed: 5}, func(c *cm.Contact) error {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		checkAgrees(t, b)
		var fast cm.Contact
		if jsonv2.Unmarshal(b, &fast, strictV2) == nil {
			accepted++
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accepted != 3000 {
		t.Errorf("the fast decoder took %d of 3000 generated contacts: the import is no faster", accepted)
	}
}

// FuzzFastDecodeAgreesWithV1 looks for a line the two decoders treat
// differently.
func FuzzFastDecodeAgreesWithV1(f *testing.F) {
	for _, l := range trickyLines {
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
		checkAgrees(t, raw)
	})
}
