package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// corpusDir holds the bad inputs of `contactmerge sandbox --load` (load/)
// and `--activity` (activity/), one problem per file.
const corpusDir = "../testdata/badinput"

// corpus maps every file under corpusDir (load/ or activity/) to the exact
// error New gives for it after "sandbox: DIR/": the file's name, its line,
// then the field when one is to blame.
func corpus() map[string]string {
	return map[string]string{
		// A date that does not exist names its field (encoding/json does not).
		"load/bad-date.jsonl": "bad-date.jsonl:1: modifyDate: \"2026-02-30T00:00:00Z\" is not an ISO-8601 date-time such as 2026-01-02T03:04:05.000Z",
		// An invalid email (cm.Contact.Validate).
		"load/bad-email.jsonl": "bad-email.jsonl:1: otherEmail: \"a@b@c\" is not a valid email address",
		// A type the platform does not have (Validate).
		"load/bad-type.jsonl": "bad-type.jsonl:1: type: \"Archived\" is not Curated, Identified or Ephemeral",
		// A date UTC puts in the year 10000 cannot be written back.
		"load/date-out-of-range.jsonl": "date-out-of-range.jsonl:1: modifyDate: 10000-01-01T00:30:00Z is outside the years 0000 to 9999 in UTC",
		// An id seen on an earlier line.
		"load/duplicate-id.jsonl": "duplicate-id.jsonl:2: contact id c1 already appeared on line 1",
		// A Latin-1 é (used to be loaded as U+FFFD).
		"load/latin1.jsonl": "latin1.jsonl:2: invalid UTF-8 at byte 27 of the line (0xe9)",
		// A name over 1000 characters (Validate).
		"load/long-name.jsonl": "long-name.jsonl:1: firstName: longer than 1000 characters",
		// A phone display over 512 characters (Validate).
		"load/long-phone.jsonl": "long-phone.jsonl:1: workPhone: display is longer than 512 characters",
		// externalSystemUrl over 1000 characters (a rule the sandbox used to lack).
		"load/long-url.jsonl": "long-url.jsonl:1: externalSystemUrl: longer than 1000 characters",
		// A contact without an id (blank line 2 still counts).
		"load/missing-id.jsonl": "missing-id.jsonl:3: contact has no id",
		// A JSON array instead of an object.
		"load/not-object.jsonl": "not-object.jsonl:1: a contact must be a JSON object",
		// A JSON syntax error.
		"load/syntax.jsonl": "syntax.jsonl:2: invalid character '}' looking for beginning of object key string (byte 12 of the object)",
		// Two objects on one line.
		"load/two-values.jsonl": "two-values.jsonl:1: more than one JSON value on the line",
		// A field an ExternalContact does not have (used to be ignored).
		"load/unknown-field.jsonl": "unknown-field.jsonl:2: fristName: unknown field (a typo, or another kind of file?)",
		// mergeSet given as an object instead of an array.
		"load/wrong-type.jsonl": "wrong-type.jsonl:1: mergeSet: expected a JSON array, got a JSON object",
		// A start that is not a date-time names its field.
		"activity/bad-time.jsonl": "bad-time.jsonl:1: start: \"09:00\" is not an ISO-8601 date-time such as 2026-01-02T03:04:05.000Z",
		// A conversation and a case on one line.
		"activity/both.jsonl": "both.jsonl:2: a line is either a conversation or a case, not both",
		// A Latin-1 é in a case status.
		"activity/latin1.jsonl": "latin1.jsonl:1: invalid UTF-8 at byte 52 of the line (0xe9)",
		// No externalContactId.
		"activity/missing-contact.jsonl": "missing-contact.jsonl:1: externalContactId is missing",
		// Neither a conversation nor a case.
		"activity/neither.jsonl": "neither.jsonl:1: need a conversationId or a caseId",
		// A JSON string instead of an object.
		"activity/not-object.jsonl": "not-object.jsonl:1: an activity must be a JSON object",
		// An object cut off at the end of the line.
		"activity/syntax.jsonl": "syntax.jsonl:1: the line ends inside the JSON object",
		// Two objects on one line.
		"activity/two-values.jsonl": "two-values.jsonl:1: more than one JSON value on the line",
		// A field an activity line does not have (used to be ignored).
		"activity/unknown-field.jsonl": "unknown-field.jsonl:1: ended: unknown field (a typo, or another kind of file?)",
	}
}

// TestBadInputCorpus gives every file of the corpus to New as an *os.File,
// as `contactmerge sandbox` does, and checks the error word for word; every
// file has a case and every case a file.
func TestBadInputCorpus(t *testing.T) {
	cases := corpus()
	var files []string
	for _, dir := range []string{"load", "activity"} {
		entries, err := os.ReadDir(filepath.Join(corpusDir, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			files = append(files, dir+"/"+e.Name())
		}
	}
	for name := range cases {
		if !slices.Contains(files, name) {
			t.Errorf("%s: in the table, not in %s", name, corpusDir)
		}
	}
	for _, name := range files {
		want, ok := cases[name]
		if !ok {
			t.Errorf("%s: in %s, not in the table", name, corpusDir)
			continue
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(corpusDir, name)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg := Config{Load: f}
			if strings.HasPrefix(name, "activity/") {
				cfg = Config{Load: strings.NewReader(`{"id":"c1"}`), Activity: f}
			}
			_, err = New(cfg)
			if want := "sandbox: " + filepath.Join(filepath.Dir(path), want); err == nil || err.Error() != want {
				t.Errorf("err = %v\nwant %s", err, want)
			}
		})
	}
}
