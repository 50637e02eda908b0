// Package importer reads contacts from files: JSONL of Genesys Cloud
// ExternalContact objects, or a CSV export with one column per field. Every
// line is validated before anything is returned, and every problem is
// reported with its file, line and field, so that a caller can import all or
// nothing.
package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
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
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return ReadCSV(f, name)
	}
	return ReadJSONL(f, name)
}

// ReadJSONL reads one ExternalContact JSON object per line (blank lines are
// skipped). Unknown fields are errors: they are usually a wrong file.
func ReadJSONL(r io.Reader, name string) (Result, error) {
	var res Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	seen := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var c cm.Contact
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			res.Invalid = append(res.Invalid, LineError{File: name, Line: line, Msg: "not an ExternalContact JSON object: " + jsonMsg(err)})
			continue
		}
		if dec.More() {
			res.Invalid = append(res.Invalid, LineError{File: name, Line: line, Msg: "more than one JSON value on the line"})
			continue
		}
		if errs := validate(&c, name, line, seen); len(errs) > 0 {
			res.Invalid = append(res.Invalid, errs...)
			continue
		}
		res.Contacts = append(res.Contacts, c)
	}
	if err := sc.Err(); err != nil {
		return res, cm.Errorf(cm.EINVALID, "%s:%d: %v", name, line+1, err)
	}
	return res, nil
}

func jsonMsg(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: expected %s, got a JSON %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

// validate checks what the platform would refuse, and duplicate ids.
func validate(c *cm.Contact, name string, line int, seen map[string]int) []LineError {
	var errs []LineError
	add := func(field, msg string) {
		errs = append(errs, LineError{File: name, Line: line, Field: field, Msg: msg})
	}
	if c.ID == "" {
		add("id", "missing (every contact needs its Genesys Cloud id)")
	} else if prev, ok := seen[c.ID]; ok {
		add("id", fmt.Sprintf("duplicate of line %d", prev))
	} else {
		seen[c.ID] = line
	}
	for field, v := range map[string]string{"workEmail": c.WorkEmail, "personalEmail": c.PersonalEmail, "otherEmail": c.OtherEmail} {
		if v == "" {
			continue
		}
		if a, err := mail.ParseAddress(v); err != nil || a.Address != strings.TrimSpace(v) {
			add(field, fmt.Sprintf("%q is not a valid email address", v))
		}
	}
	for field, v := range map[string]string{"firstName": c.FirstName, "lastName": c.LastName, "middleName": c.MiddleName} {
		if len(v) > 1000 {
			add(field, "longer than 1000 characters")
		}
	}
	if c.Type != "" && cm.TypeRank(c.Type) == 0 {
		add("type", fmt.Sprintf("%q is not Curated, Identified or Ephemeral", c.Type))
	}
	return errs
}

// csvFields maps CSV column names (case-insensitive) to setters.
var csvFields = map[string]func(c *cm.Contact, v string) error{ //nolint:gochecknoglobals // immutable table
	"id":                func(c *cm.Contact, v string) error { c.ID = v; return nil },
	"firstname":         func(c *cm.Contact, v string) error { c.FirstName = v; return nil },
	"middlename":        func(c *cm.Contact, v string) error { c.MiddleName = v; return nil },
	"lastname":          func(c *cm.Contact, v string) error { c.LastName = v; return nil },
	"salutation":        func(c *cm.Contact, v string) error { c.Salutation = v; return nil },
	"title":             func(c *cm.Contact, v string) error { c.Title = v; return nil },
	"workphone":         phone(func(c *cm.Contact) **cm.PhoneNumber { return &c.WorkPhone }),
	"cellphone":         phone(func(c *cm.Contact) **cm.PhoneNumber { return &c.CellPhone }),
	"homephone":         phone(func(c *cm.Contact) **cm.PhoneNumber { return &c.HomePhone }),
	"otherphone":        phone(func(c *cm.Contact) **cm.PhoneNumber { return &c.OtherPhone }),
	"workemail":         func(c *cm.Contact, v string) error { c.WorkEmail = v; return nil },
	"personalemail":     func(c *cm.Contact, v string) error { c.PersonalEmail = v; return nil },
	"otheremail":        func(c *cm.Contact, v string) error { c.OtherEmail = v; return nil },
	"address1":          addr(func(a *cm.Address, v string) { a.Address1 = v }),
	"address2":          addr(func(a *cm.Address, v string) { a.Address2 = v }),
	"city":              addr(func(a *cm.Address, v string) { a.City = v }),
	"state":             addr(func(a *cm.Address, v string) { a.State = v }),
	"postalcode":        addr(func(a *cm.Address, v string) { a.PostalCode = v }),
	"countrycode":       addr(func(a *cm.Address, v string) { a.CountryCode = v }),
	"type":              func(c *cm.Contact, v string) error { c.Type = v; return nil },
	"divisionid":        func(c *cm.Contact, v string) error { c.Division = &cm.Ref{ID: v}; return nil },
	"externalsystemurl": func(c *cm.Contact, v string) error { c.ExternalSystemURL = v; return nil },
	"modifydate":        date(func(c *cm.Contact) *time.Time { return &c.ModifyDate }),
	"createdate":        date(func(c *cm.Contact) *time.Time { return &c.CreateDate }),
	"surveyoptout": func(c *cm.Contact, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		c.SurveyOptOut = &b
		return nil
	},
}

func phone(slot func(*cm.Contact) **cm.PhoneNumber) func(*cm.Contact, string) error {
	return func(c *cm.Contact, v string) error {
		p := slot(c)
		if *p == nil {
			*p = &cm.PhoneNumber{}
		}
		(*p).Display = v
		if strings.HasPrefix(v, "+") && isDigits(v[1:]) {
			(*p).E164 = v
		}
		return nil
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func addr(set func(*cm.Address, string)) func(*cm.Contact, string) error {
	return func(c *cm.Contact, v string) error {
		if c.Address == nil {
			c.Address = &cm.Address{}
		}
		set(c.Address, v)
		return nil
	}
}

func date(field func(*cm.Contact) *time.Time) func(*cm.Contact, string) error {
	return func(c *cm.Contact, v string) error {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				*field(c) = t.UTC()
				return nil
			}
		}
		return fmt.Errorf("%q is not an ISO-8601 date", v)
	}
}

// ReadCSV reads a CSV export with a header row. Columns are the
// ExternalContact field names (case-insensitive; phones take the display
// value; address fields by their own names, optionally prefixed "address.").
// Columns named "customFields.X" become custom fields and
// "externalIds.SOURCE" external ids of that source. An unknown column is an
// error naming it.
func ReadCSV(r io.Reader, name string) (Result, error) {
	var res Result
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return res, cm.Errorf(cm.EINVALID, "%s:1: cannot read the CSV header: %v", name, err)
	}
	setters := make([]func(*cm.Contact, string) error, len(header))
	var bad []string
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		key := strings.ToLower(strings.TrimPrefix(strings.ToLower(h), "address."))
		key = strings.TrimSuffix(key, ".display")
		switch {
		case csvFields[key] != nil:
			setters[i] = csvFields[key]
		case strings.HasPrefix(strings.ToLower(h), "customfields."):
			field := h[len("customFields."):]
			setters[i] = func(c *cm.Contact, v string) error {
				if c.CustomFields == nil {
					c.CustomFields = map[string]any{}
				}
				c.CustomFields[field] = v
				return nil
			}
		case strings.HasPrefix(strings.ToLower(h), "externalids."):
			source := h[len("externalIds."):]
			setters[i] = func(c *cm.Contact, v string) error {
				c.ExternalIDs = append(c.ExternalIDs, cm.ExternalID{ExternalSource: &cm.ExternalSource{Name: source}, Value: v})
				return nil
			}
		default:
			bad = append(bad, fmt.Sprintf("%q (column %d)", h, i+1))
		}
	}
	if len(bad) > 0 {
		return res, cm.Errorf(cm.EINVALID, "%s:1: unknown column(s) %s", name, strings.Join(bad, ", "))
	}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			res.Invalid = append(res.Invalid, LineError{File: name, Line: line, Msg: err.Error()})
			continue
		}
		if len(rec) != len(header) {
			res.Invalid = append(res.Invalid, LineError{File: name, Line: line, Msg: fmt.Sprintf("%d fields, the header has %d", len(rec), len(header))})
			continue
		}
		var c cm.Contact
		var errs []LineError
		for i, v := range rec {
			if v = strings.TrimSpace(v); v == "" {
				continue
			}
			if err := setters[i](&c, v); err != nil {
				errs = append(errs, LineError{File: name, Line: line, Field: header[i], Msg: err.Error()})
			}
		}
		errs = append(errs, validate(&c, name, line, seen)...)
		if len(errs) > 0 {
			res.Invalid = append(res.Invalid, errs...)
			continue
		}
		res.Contacts = append(res.Contacts, c)
	}
	return res, nil
}
