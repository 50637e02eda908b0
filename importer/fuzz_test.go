package importer_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/importer"
)

// addCorpus seeds f with the files of the bad-input corpus whose names end
// in ext, and with good inputs.
func addCorpus(f *testing.F, ext string, good ...string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, "*"+ext))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no %s files in %s: %v", ext, corpusDir, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, g := range good {
		f.Add([]byte(g))
	}
}

// checkResult holds for every read: errors name the file and a line, and
// what is accepted is importable (an id, distinct, the platform's rules,
// encodable as JSON).
func checkResult(t *testing.T, name string, res importer.Result) []byte {
	t.Helper()
	for _, e := range res.Invalid {
		if e.File != name || e.Line < 1 || e.Msg == "" {
			t.Fatalf("bad LineError %+v", e)
		}
	}
	seen := map[string]bool{}
	for i := range res.Contacts {
		c := &res.Contacts[i]
		if c.ID == "" || seen[c.ID] {
			t.Fatalf("accepted contact with a missing or repeated id %q", c.ID)
		}
		seen[c.ID] = true
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted contact %q breaks the platform's rules: %v", c.ID, err)
		}
	}
	out, err := json.Marshal(res.Contacts)
	if err != nil {
		t.Fatalf("accepted contacts do not encode: %v", err)
	}
	return out
}

func FuzzReadJSONL(f *testing.F) {
	addCorpus(f, ".jsonl",
		`{"id":"a","firstName":"Ann","workEmail":"ann@example.com","cellPhone":{"display":"+13175550100","e164":"+13175550100"}}`+"\n\n"+
			`{"id":"b","lastName":"Lee","modifyDate":"2026-01-02T03:04:05.000Z"}`,
		"\ufeff"+`{"id":"a","customFields":{"n":1,"x":[null,{"y":"z"}]},"externalIds":[{"externalSource":{"name":"crm"},"value":"1"}]}`,
		`{"id":"a","address":{"city":"Zürich"},"mergeSet":[{"id":"a"}],"type":"Curated","surveyOptOut":true}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := importer.ReadJSONL(bytes.NewReader(data), "f.jsonl")
		if err != nil {
			if !cm.IsCode(err, cm.EINVALID) || !strings.HasPrefix(err.Error(), "f.jsonl:") {
				t.Fatalf("error %v", err)
			}
			return
		}
		checkResult(t, "f.jsonl", res)
	})
}

func FuzzReadCSV(f *testing.F) {
	addCorpus(f, ".csv",
		"id,firstName,lastName,workEmail,cellPhone,address.city,postalCode,customFields.loyaltyId,externalIds.crm,modifyDate\n"+
			"a,Ann,Lee,ann@example.com,+13175550100,Indianapolis,46201,L1,C9,2026-01-02\n"+
			"b,\"Bo, Jr\",\"O\"\"Neil\",,,\"Multi\nline\",,,,2026-01-02T03:04:05Z\n",
		"\ufeffID,WorkPhone.display,Address.CountryCode,surveyOptOut,type,divisionId\r\nx,(317) 555-0100,US,true,Curated,d1\r\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := importer.ReadCSV(bytes.NewReader(data), "f.csv")
		if err != nil {
			if !cm.IsCode(err, cm.EINVALID) || !strings.HasPrefix(err.Error(), "f.csv:") {
				t.Fatalf("error %v", err)
			}
			return
		}
		out := checkResult(t, "f.csv", res)
		// CSV has no escapes: a U+FFFD in what was accepted came from bytes
		// that were not UTF-8, unless the file held one.
		if bytes.Contains(out, []byte("\ufffd")) && !bytes.Contains(data, []byte("\ufffd")) {
			t.Fatalf("invalid UTF-8 accepted: %s", out)
		}
	})
}
