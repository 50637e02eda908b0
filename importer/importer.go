// Package importer reads contacts from files: JSONL of Genesys Cloud
// ExternalContact objects, or a CSV export with one column per field. Every
// line is validated before anything is returned, and every problem is
// reported with its file, line and field, so that a caller can import all or
// nothing.
//
// The fields, their setters and the platform's acceptance rules come from
// the root package (cm.ContactFields, (*cm.Contact).Validate); this package
// adds only what is about files: the CSV column aliases, line numbers,
// encoding checks (UTF-8, an optional byte order mark) and the rules an
// import adds (every contact has an id, ids are distinct).
package importer

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/jsonerr"
)

// LineError is one invalid line.
type LineError struct {
	File  string
	Line  int
	Field string // "" when the whole line is bad
	Msg   string
}

func (e LineError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Result is the outcome of reading a file.
type Result struct {
	Contacts []cm.Contact
	Invalid  []LineError // lines left out (all of them, not only the first)
}

// Err returns an EINVALID error listing up to ten invalid lines, or nil.
func (r Result) Err() error {
	if len(r.Invalid) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid line(s); nothing was imported (use --skip-invalid to import the valid lines):", len(r.Invalid))
	for i, e := range r.Invalid {
		if i == 10 {
			fmt.Fprintf(&b, "\n  … and %d more", len(r.Invalid)-10)
			break
		}
		b.WriteString("\n  " + e.Error())
	}
	return cm.Errorf(cm.EINVALID, "%s", b.String())
}

// ReadFile reads path as CSV when its name ends in .csv, else as JSONL.
func ReadFile(path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, cm.Errorf(cm.EINVALID, "import: %v", err)
	}
	defer f.Close()
	name := filepath.Base(path)
	if IsCSV(path) {
		return ReadCSV(f, name)
	}
	return ReadJSONL(f, name)
}

// bom is the UTF-8 byte order mark some tools write at the start of a file.
const bom = "\ufeff"

// ReadJSONL reads one ExternalContact JSON object per line (blank lines are
// skipped; a UTF-8 byte order mark before the first line is ignored).
// Unknown fields are errors: they are usually a wrong file. A line that is
// not valid UTF-8 is an error naming the byte (counted from 1 in the line).
func ReadJSONL(r io.Reader, name string) (Result, error) {
	// The chunks are kept as they come and joined once, at the end: one
	// slice grown by append would copy the contacts over and over.
	var chunks [][]cm.Contact
	total := 0
	res, _, err := StreamJSONLData(r, name, func(cs []cm.Contact, _ [][]byte) error {
		chunks = append(chunks, cs)
		total += len(cs)
		return nil
	})
	if total > 0 {
		res.Contacts = make([]cm.Contact, 0, total)
		for i, c := range chunks {
			res.Contacts = append(res.Contacts, c...)
			chunks[i] = nil
		}
	}
	return res, err
}

// StreamJSONLData reads like ReadJSONL but does not keep the contacts: it
// hands the valid ones to fn in file order, some at a time, and returns
// Result without Contacts and the number of contacts handed out. fn may
// keep the slices. An error of fn stops the read and is returned as it is.
// Memory grows with the ids (to find repeated ones), not with the
// contacts. With the contacts fn gets the JSON a store can keep for each:
// data[i], when not nil, is contacts[i]'s line without whitespace and with
// the characters json.Marshal escapes for HTML escaped, which encoding/json decodes to the
// contact it decodes json.Marshal(&contacts[i]) to; nil when the line
// cannot serve so (an empty object or array in it, or a date with an
// offset), and the contact must be marshalled. It spares the store
// marshalling what was just decoded.
func StreamJSONLData(r io.Reader, name string, fn func(contacts []cm.Contact, data [][]byte) error) (res Result, n int, err error) {
	res, err = readJSONL(r, name, nil, func(d *jsonlDecoded, valid []int) error {
		cs := make([]cm.Contact, len(valid))
		data := make([][]byte, len(valid))
		for k, i := range valid {
			cs[k], data[k] = d.contacts[i], d.data[i]
		}
		n += len(cs)
		return fn(cs, data)
	})
	return res, n, err
}

// StreamJSONLEncoded reads like StreamJSONLData but hands fn, in file
// order, what encode made of each valid contact and its data: encode runs
// on every core as the lines are decoded (on a contact whose id turns out
// to repeat an earlier one's too, whose result is dropped), and the
// contacts are not kept, so memory holds only what encode returns. An
// error of encode or fn stops the read and is returned as it is.
func StreamJSONLEncoded[T any](r io.Reader, name string, encode func(c *cm.Contact, data []byte) (T, error), fn func([]T) error) (res Result, n int, err error) {
	prepare := func(d *jsonlDecoded) error {
		out := make([]T, len(d.lines))
		for i := range d.lines {
			if d.lines[i].ok {
				var err error
				if out[i], err = encode(&d.contacts[i], d.data[i]); err != nil {
					return err
				}
			}
		}
		d.encoded, d.contacts, d.data = out, nil, nil
		return nil
	}
	res, err = readJSONL(r, name, prepare, func(d *jsonlDecoded, valid []int) error {
		all := d.encoded.([]T) //nolint:forcetypeassert // prepare set it
		out := make([]T, len(valid))
		for k, i := range valid {
			out[k] = all[i]
		}
		n += len(out)
		return fn(out)
	})
	return res, n, err
}

// IsCSV reports whether ReadFile reads path as CSV (its name ends in .csv).
func IsCSV(path string) bool { return strings.EqualFold(filepath.Ext(path), ".csv") }

// StreamFile is StreamJSONLData of the JSONL file at path, without the data; CSV files are
// refused (ReadFile reads them).
func StreamFile(path string, fn func([]cm.Contact) error) (Result, int, error) {
	return StreamFileData(path, func(cs []cm.Contact, _ [][]byte) error { return fn(cs) })
}

// StreamFileData is StreamJSONLData of the JSONL file at path; CSV files
// are refused (ReadFile reads them).
func StreamFileData(path string, fn func(contacts []cm.Contact, data [][]byte) error) (Result, int, error) {
	if IsCSV(path) {
		return Result{}, 0, cm.Errorf(cm.EINVALID, "import: %s: only JSONL is streamed", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Result{}, 0, cm.Errorf(cm.EINVALID, "import: %v", err)
	}
	defer f.Close()
	return StreamJSONLData(f, filepath.Base(path), fn)
}

// utf8Msg describes the invalid byte c at byte position pos (from 1) of a
// line.
func utf8Msg(c byte, pos int) string {
	return fmt.Sprintf("invalid UTF-8 at byte %d of the line (0x%02x); save the file as UTF-8", pos, c)
}

// decodeMsg explains why raw did not decode as a contact, naming the field
// to blame when there is one (jsonerr). lead is the number of bytes of the
// line before raw.
func decodeMsg(err error, raw []byte, lead int) (field, msg string) {
	const notContact = "not an ExternalContact JSON object: "
	p := jsonerr.Explain(err, raw, "modifyDate", "createDate")
	switch p.Kind {
	case jsonerr.UnknownField:
		return p.Field, "unknown field (not an ExternalContact field: a typo, or another kind of file?)"
	case jsonerr.Syntax:
		return "", fmt.Sprintf("%s%s (at byte %d)", notContact, p.Msg, int64(lead)+p.Offset)
	case jsonerr.Truncated:
		return "", notContact + "the line ends inside the object"
	case jsonerr.WrongType, jsonerr.BadTime:
		return p.Field, p.Msg
	}
	return "", notContact + p.Msg
}

// validate checks what the platform would refuse ((*cm.Contact).Validate)
// and what an import adds: an id, not seen before in the file. colName maps a
// field's lower-case Genesys name to the column it was read from (CSV), so
// that errors name the column as the file spells it; nil for JSONL.
func validate(c *cm.Contact, name string, line int, seen map[string]int, colName map[string]string) []LineError {
	return append(checkID(c.ID, name, line, seen, colName), checkFields(c, name, line, colName)...)
}

// lineErrors returns the function adding an error of line to errs, naming
// the field as column colName has it (CSV).
func lineErrors(errs *[]LineError, name string, line int, colName map[string]string) func(field, msg string) {
	return func(field, msg string) {
		if col, ok := colName[strings.ToLower(field)]; ok {
			field = col
		}
		*errs = append(*errs, LineError{File: name, Line: line, Field: field, Msg: msg})
	}
}

// checkID checks that id, a contact's, is not empty and not seen before in
// the file, and records it in seen.
func checkID(id string, name string, line int, seen map[string]int, colName map[string]string) []LineError {
	var errs []LineError
	add := lineErrors(&errs, name, line, colName)
	if id == "" {
		add("id", "missing (every contact needs its Genesys Cloud id)")
	} else if prev, ok := seen[id]; ok {
		add("id", fmt.Sprintf("duplicate of line %d", prev))
	} else {
		seen[id] = line
	}
	return errs
}

// checkFields checks what the platform would refuse ((*cm.Contact).Validate)
// and the years of the dates.
func checkFields(c *cm.Contact, name string, line int, colName map[string]string) []LineError {
	var errs []LineError
	add := lineErrors(&errs, name, line, colName)
	// Dates are stored and written in UTC; a year that UTC puts outside
	// 0000..9999 cannot be written as JSON again.
	for _, d := range []struct {
		name string
		t    time.Time
	}{{"modifyDate", c.ModifyDate}, {"createDate", c.CreateDate}} {
		if y := d.t.UTC().Year(); !d.t.IsZero() && (y < 0 || y > 9999) {
			add(d.name, fmt.Sprintf("%s is outside the years 0000 to 9999 in UTC", d.t.UTC().Format(time.RFC3339)))
		}
	}
	var ve cm.ValidationErrors
	if err := c.Validate(); errors.As(err, &ve) {
		for _, fe := range ve {
			add(fe.Field, fe.Msg)
		}
	} else if err != nil {
		add("", err.Error())
	}
	return errs
}

// column is how one CSV column is read.
type column struct {
	header string                          // as written (trimmed)
	key    string                          // the field it sets ("firstName", "customFields.NAME"); "" for an external id
	set    func(*cm.Contact, string) error // parses and stores a value
}

// csvColumn resolves header h (trimmed) to the column reading it: a field of
// cm.ContactFields (case-insensitive; "address.X" and "X.display" are
// accepted too), "customFields.NAME" or "externalIds.SOURCE". problem is ""
// or why no column reads h ("unknown" when h names nothing).
func csvColumn(h string) (col column, problem string) {
	col.header = h
	lower := strings.ToLower(h)
	switch {
	case strings.HasPrefix(lower, "customfields."):
		field := h[len("customFields."):]
		if field == "" {
			return col, "no custom field name after customFields."
		}
		col.key = "customFields." + field
		col.set = func(c *cm.Contact, v string) error {
			if c.CustomFields == nil {
				c.CustomFields = map[string]any{}
			}
			c.CustomFields[field] = v
			return nil
		}
		return col, ""
	case strings.HasPrefix(lower, "externalids."):
		source := h[len("externalIds."):]
		if source == "" {
			return col, "no source name after externalIds."
		}
		// Each column adds one external id, so two columns of one source
		// lose nothing: key stays "".
		col.set = func(c *cm.Contact, v string) error {
			c.ExternalIDs = append(c.ExternalIDs, cm.ExternalID{ExternalSource: &cm.ExternalSource{Name: source}, Value: v})
			return nil
		}
		return col, ""
	}
	key := strings.TrimSuffix(strings.TrimPrefix(lower, "address."), ".display")
	if f, ok := cm.LookupField(key); ok && f.Set != nil {
		col.key, col.set = f.Name, f.Set
		return col, ""
	}
	return col, "unknown"
}

// ReadCSV reads a CSV export with a header row. Columns are the
// ExternalContact field names of cm.ContactFields (case-insensitive; phones
// take the display value, optionally named "X.display"; address fields by
// their own names, optionally prefixed "address."). Columns named
// "customFields.X" become custom fields and "externalIds.SOURCE" external ids
// of that source. An unknown column, or two columns setting the same field
// (such as "city" and "address.city"), is an error naming them. A UTF-8 byte
// order mark before the header is ignored. Values are trimmed; an empty value
// leaves its field unset. A line that does not parse as CSV, and a value
// that is not valid UTF-8, are invalid lines naming the line and the column
// or byte.
func ReadCSV(r io.Reader, name string) (Result, error) {
	var res Result
	br := bufio.NewReader(r)
	u := &utf8Reader{r: br, line: 1, col: 1}
	if b, _ := br.Peek(len(bom)); string(b) == bom {
		_, _ = br.Discard(len(bom))
		u.col += len(bom)
		u.bomLen = len(bom)
	}
	cr := csv.NewReader(u)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return res, cm.Errorf(cm.EINVALID, "%s:1: the file is empty (a CSV file starts with a header row)", name)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return res, cm.Errorf(cm.EINVALID, "%s:%d: cannot read the CSV header: %s", name, pe.StartLine, u.parseMsg(pe))
		}
		return res, cm.Errorf(cm.EINVALID, "%s:1: cannot read the CSV header: %v", name, err)
	}
	cols := make([]column, len(header))
	var unknown, problems []string
	byKey := map[string]int{}
	colName := map[string]string{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			p := u.find(cr, i)
			return res, cm.Errorf(cm.EINVALID, "%s:%d: column %d: %s", name, p.line, i+1, utf8Msg(p.b, p.col))
		}
		h = strings.TrimSpace(h)
		col, problem := csvColumn(h)
		cols[i] = col
		switch {
		case problem == "unknown":
			unknown = append(unknown, fmt.Sprintf("%q (column %d)", h, i+1))
		case problem != "":
			problems = append(problems, fmt.Sprintf("%q (column %d): %s", h, i+1, problem))
		case col.key != "":
			if prev, dup := byKey[col.key]; dup {
				problems = append(problems, fmt.Sprintf("%q (column %d) and %q (column %d) both set %s", cols[prev].header, prev+1, h, i+1, col.key))
				continue
			}
			byKey[col.key] = i
			colName[strings.ToLower(col.key)] = h
		}
	}
	if len(unknown) > 0 {
		problems = append([]string{"unknown column(s) " + strings.Join(unknown, ", ")}, problems...)
	}
	if len(problems) > 0 {
		return res, cm.Errorf(cm.EINVALID, "%s:1: %s", name, strings.Join(problems, "; "))
	}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			res.Invalid = append(res.Invalid, LineError{File: name, Line: pe.StartLine, Msg: u.parseMsg(pe)})
			continue
		}
		if err != nil {
			// Not the file's content: reading it failed.
			return res, cm.Errorf(cm.EINVALID, "%s: %v", name, err)
		}
		line, _ := cr.FieldPos(0)
		u.forget(line)
		if len(rec) != len(header) {
			res.Invalid = append(res.Invalid, LineError{File: name, Line: line, Msg: fmt.Sprintf("%d fields, the header has %d", len(rec), len(header))})
			continue
		}
		var c cm.Contact
		var errs []LineError
		for i, v := range rec {
			if !utf8.ValidString(v) {
				p := u.find(cr, i)
				errs = append(errs, LineError{File: name, Line: p.line, Field: cols[i].header, Msg: utf8Msg(p.b, p.col)})
				continue
			}
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			if err := cols[i].set(&c, v); err != nil {
				errs = append(errs, LineError{File: name, Line: line, Field: cols[i].header, Msg: err.Error()})
			}
		}
		errs = append(errs, validate(&c, name, line, seen, colName)...)
		if len(errs) > 0 {
			res.Invalid = append(res.Invalid, errs...)
			continue
		}
		res.Contacts = append(res.Contacts, c)
	}
	return res, nil
}
