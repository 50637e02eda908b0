package importer_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/importer"
)

// corpusDir holds the bad inputs `contactmerge import` may be given, one
// problem per file.
const corpusDir = "../testdata/badinput/import"

// corpusCase is what reading one file of the corpus gives: an error for the
// whole file (err), or the invalid lines and the number of valid contacts.
type corpusCase struct {
	err      string
	invalid  []string
	contacts int
}

// corpus lists every file of corpusDir with its exact errors.
func corpus() map[string]corpusCase {
	return map[string]corpusCase{
		// SurveyOptOut is not a boolean.
		"bad-bool.csv": {invalid: []string{
			"bad-bool.csv:2: surveyOptOut: \"maybe\" is not true or false",
		}, contacts: 0},
		// A date column that does not parse (month 13).
		"bad-date.csv": {invalid: []string{
			"bad-date.csv:2: modifyDate: \"2026-13-01\" is not an ISO-8601 date",
		}, contacts: 0},
		// A date that does not parse names its field (encoding/json does not).
		"bad-date.jsonl": {invalid: []string{
			"bad-date.jsonl:1: modifyDate: \"yesterday\" is not an ISO-8601 date-time such as 2026-01-02T03:04:05.000Z",
		}, contacts: 0},
		// An invalid email (Validate), named by the column as the file spells it.
		"bad-email.csv": {invalid: []string{
			"bad-email.csv:2: WorkEmail: \"ann@example@com\" is not a valid email address",
		}, contacts: 0},
		// An invalid email (Validate).
		"bad-email.jsonl": {invalid: []string{
			"bad-email.jsonl:1: personalEmail: \"ann.example.com\" is not a valid email address",
		}, contacts: 0},
		// A type the platform does not have (Validate).
		"bad-type.csv": {invalid: []string{
			"bad-type.csv:2: type: \"Lead\" is not Curated, Identified or Ephemeral",
		}, contacts: 0},
		// A type the platform does not have (Validate).
		"bad-type.jsonl": {invalid: []string{
			"bad-type.jsonl:1: type: \"Archived\" is not Curated, Identified or Ephemeral",
		}, contacts: 0},
		// A BOM is skipped, and columns still count its bytes.
		"bom-header-parse-error.csv": {err: "bom-header-parse-error.csv:1: cannot read the CSV header: parse error: bare \" in non-quoted-field (column 12)"},
		// A BOM is skipped, and byte offsets still count it.
		"bom-invalid-utf8.jsonl": {invalid: []string{
			"bom-invalid-utf8.jsonl:1: invalid UTF-8 at byte 27 of the line (0xff); save the file as UTF-8",
		}, contacts: 0},
		// A customFields. column without a name.
		"custom-field-no-name.csv": {err: "custom-field-no-name.csv:1: \"customFields.\" (column 2): no custom field name after customFields."},
		// A date whose UTC year is -1 cannot be written back as JSON.
		"date-out-of-range.jsonl": {invalid: []string{
			"date-out-of-range.jsonl:1: createDate: -0001-12-31T23:00:00Z is outside the years 0000 to 9999 in UTC",
		}, contacts: 0},
		// An id seen on an earlier line.
		"duplicate-id.csv": {invalid: []string{
			"duplicate-id.csv:3: id: duplicate of line 2",
		}, contacts: 1},
		// An id seen on an earlier line (blank line 2 still counts).
		"duplicate-id.jsonl": {invalid: []string{
			"duplicate-id.jsonl:3: id: duplicate of line 1",
		}, contacts: 1},
		// No header row at all.
		"empty.csv": {err: "empty.csv:1: the file is empty (a CSV file starts with a header row)"},
		// A row with fewer fields than the header.
		"field-count.csv": {invalid: []string{
			"field-count.csv:2: 2 fields, the header has 3",
		}, contacts: 0},
		// A header that is not UTF-8 (after a BOM).
		"invalid-utf8-header.csv": {err: "invalid-utf8-header.csv:1: column 2: invalid UTF-8 at byte 11 of the line (0xe9); save the file as UTF-8"},
		// A bad byte on the second line of a quoted value: its own line and byte.
		"invalid-utf8-multiline.csv": {invalid: []string{
			"invalid-utf8-multiline.csv:3: address1: invalid UTF-8 at byte 6 of the line (0xff); save the file as UTF-8",
		}, contacts: 0},
		// A Latin-1 é in a value (was imported, then written as U+FFFD).
		"latin1.csv": {invalid: []string{
			"latin1.csv:3: firstName: invalid UTF-8 at byte 7 of the line (0xe9); save the file as UTF-8",
		}, contacts: 1},
		// A Latin-1 é in a line (was replaced by U+FFFD).
		"latin1.jsonl": {invalid: []string{
			"latin1.jsonl:2: invalid UTF-8 at byte 27 of the line (0xe9); save the file as UTF-8",
		}, contacts: 1},
		// A name over 1000 characters (Validate).
		"long-name.jsonl": {invalid: []string{
			"long-name.jsonl:1: lastName: longer than 1000 characters",
		}, contacts: 0},
		// A phone display over 512 characters, named by its X.display column.
		"long-phone.csv": {invalid: []string{
			"long-phone.csv:2: cellPhone.display: display is longer than 512 characters",
		}, contacts: 0},
		// A phone display over 512 characters (Validate).
		"long-phone.jsonl": {invalid: []string{
			"long-phone.jsonl:1: homePhone: display is longer than 512 characters",
		}, contacts: 0},
		// ExternalSystemUrl over 1000 characters (Validate).
		"long-url.jsonl": {invalid: []string{
			"long-url.jsonl:1: externalSystemUrl: longer than 1000 characters",
		}, contacts: 0},
		// A row without an id.
		"missing-id.csv": {invalid: []string{
			"missing-id.csv:2: id: missing (every contact needs its Genesys Cloud id)",
		}, contacts: 0},
		// A line without an id.
		"missing-id.jsonl": {invalid: []string{
			"missing-id.jsonl:2: id: missing (every contact needs its Genesys Cloud id)",
		}, contacts: 1},
		// A JSON array instead of an object.
		"not-object.jsonl": {invalid: []string{
			"not-object.jsonl:1: not an ExternalContact JSON object: got a JSON array",
		}, contacts: 0},
		// A quote inside the first field (used to panic in FieldPos).
		"quote-in-first-field.csv": {invalid: []string{
			"quote-in-first-field.csv:2: parse error: bare \" in non-quoted-field (column 3)",
		}, contacts: 1},
		// Two spellings of one field (used to let the last win).
		"repeated-alias.csv": {err: "repeated-alias.csv:1: \"city\" (column 2) and \"Address.City\" (column 3) both set city"},
		// A repeated column (used to let the last win).
		"repeated-column.csv": {err: "repeated-column.csv:1: \"firstName\" (column 2) and \"firstName\" (column 4) both set firstName"},
		// Every refused field of a line is reported.
		"several-errors.jsonl": {invalid: []string{
			"several-errors.jsonl:1: type: \"Lead\" is not Curated, Identified or Ephemeral",
			"several-errors.jsonl:1: workEmail: \"a@\" is not a valid email address",
			"several-errors.jsonl:1: otherEmail: \"b c@example.com\" is not a valid email address",
		}, contacts: 0},
		// An object cut off at the end of the line.
		"syntax.jsonl": {invalid: []string{
			"syntax.jsonl:2: not an ExternalContact JSON object: the line ends inside the object",
		}, contacts: 1},
		// Two objects on one line.
		"two-values.jsonl": {invalid: []string{
			"two-values.jsonl:1: more than one JSON value on the line",
		}, contacts: 0},
		// A column no field has.
		"unknown-column.csv": {err: "unknown-column.csv:1: unknown column(s) \"favouriteColour\" (column 3)"},
		// A field an ExternalContact does not have.
		"unknown-field.jsonl": {invalid: []string{
			"unknown-field.jsonl:2: fristName: unknown field (not an ExternalContact field: a typo, or another kind of file?)",
		}, contacts: 1},
		// A quoted field never closed.
		"unterminated-quote.csv": {invalid: []string{
			"unterminated-quote.csv:3: parse error: extraneous or missing \" in quoted-field (column 12)",
		}, contacts: 1},
		// A phone given as a string instead of an object.
		"wrong-type.jsonl": {invalid: []string{
			"wrong-type.jsonl:2: cellPhone: expected a JSON object, got a JSON string",
		}, contacts: 1},
	}
}

// TestBadInputCorpus reads every file of the corpus through ReadFile and
// checks its errors word for word; every file has a case and every case a
// file. None of them imports: Result.Err refuses the file as a whole.
func TestBadInputCorpus(t *testing.T) {
	cases := corpus()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
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
			res, err := importer.ReadFile(filepath.Join(corpusDir, name))
			if want.err != "" {
				if !cm.IsCode(err, cm.EINVALID) || err.Error() != want.err {
					t.Fatalf("err = %v\nwant %s", err, want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(res.Invalid))
			for i, e := range res.Invalid {
				got[i] = e.Error()
				if e.File != name || e.Line < 1 {
					t.Errorf("%+v: file or line wrong", e)
				}
			}
			if !slices.Equal(got, want.invalid) {
				t.Errorf("invalid lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want.invalid, "\n"))
			}
			if len(res.Contacts) != want.contacts {
				t.Errorf("%d valid contacts, want %d", len(res.Contacts), want.contacts)
			}
			if !cm.IsCode(res.Err(), cm.EINVALID) {
				t.Errorf("Err() = %v: the file would be imported", res.Err())
			}
		})
	}
}
