package sandbox

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusFiles returns the contents of the bad-input corpus files in dir
// (load or activity).
func corpusFiles(tb testing.TB, dir string) [][]byte {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, dir, "*"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no files in %s/%s: %v", corpusDir, dir, err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzLoadContacts checks that loading never panics, that errors name the
// file and a line, and that what loads passes the platform's rules and
// writes and loads again to the same response JSON.
func FuzzLoadContacts(f *testing.F) {
	for _, b := range corpusFiles(f, "load") {
		f.Add(b)
	}
	var good bytes.Buffer
	for _, c := range Generate(GenConfig{Contacts: 5, Seed: 3}).Contacts {
		b, _ := json.Marshal(c)
		good.Write(b)
		good.WriteByte('\n')
	}
	f.Add(good.Bytes())
	f.Add([]byte("\ufeff{\"id\":\"a\",\"modifyDate\":\"2025-07-24T18:53:06.0609+02:00\"}\n\n{\"id\":\"b\",\"mergedTo\":{\"id\":\"a\"}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := LoadContacts(bytes.NewReader(data), "f.jsonl")
		if err != nil {
			if cs != nil || !strings.HasPrefix(err.Error(), "f.jsonl:") {
				t.Fatalf("error %v with %d contacts", err, len(cs))
			}
			return
		}
		var out bytes.Buffer
		seen := map[string]bool{}
		for i := range cs {
			if cs[i].ID == "" || seen[cs[i].ID] {
				t.Fatalf("loaded a missing or repeated id %q", cs[i].ID)
			}
			seen[cs[i].ID] = true
			if err := cs[i].Validate(); err != nil {
				t.Fatalf("loaded %q breaking the platform's rules: %v", cs[i].ID, err)
			}
			b, err := json.Marshal(wire(cs[i]))
			if err != nil {
				t.Fatalf("loaded contact does not encode: %v", err)
			}
			out.Write(b)
			out.WriteByte('\n')
		}
		again, err := LoadContacts(bytes.NewReader(out.Bytes()), "again.jsonl")
		if err != nil || len(again) != len(cs) {
			t.Fatalf("reloading what the sandbox writes: %v\n%s", err, out.Bytes())
		}
		for i := range again {
			b1, _ := json.Marshal(wire(cs[i]))
			b2, _ := json.Marshal(wire(again[i]))
			if !bytes.Equal(b1, b2) {
				t.Fatalf("unstable round trip:\n%s\n%s", b1, b2)
			}
		}
	})
}

// FuzzLoadActivity checks that reading activity never panics and that
// errors name the file and a line.
func FuzzLoadActivity(f *testing.F) {
	for _, b := range corpusFiles(f, "activity") {
		f.Add(b)
	}
	f.Add([]byte(`{"externalContactId":"a","conversationId":"v1","start":"2026-05-14T09:00:00Z"}
{"externalContactId":"b","conversationId":"v2","start":"2026-05-14T08:00:00Z","end":"2026-05-14T08:30:00.5+02:00"}

{"externalContactId":"c","caseId":"k1","status":"Open"}
`))
	f.Fuzz(func(t *testing.T, data []byte) {
		acts, err := LoadActivity(bytes.NewReader(data), "a.jsonl")
		if err != nil {
			if acts != nil || !strings.HasPrefix(err.Error(), "a.jsonl:") {
				t.Fatalf("error %v with %d lines", err, len(acts))
			}
			return
		}
		for _, a := range acts {
			if a.ExternalContactID == "" || (a.ConversationID == "") == (a.CaseID == "") || a.CaseID != "" && a.Status == "" {
				t.Fatalf("accepted %+v", a)
			}
		}
	})
}

// addLoadCorpusLines seeds f with every line of the load corpus (for
// FuzzDecodeContact in decode_test.go).
func addLoadCorpusLines(f *testing.F) {
	for _, b := range corpusFiles(f, "load") {
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				f.Add(bytes.Clone(line))
			}
		}
	}
}
