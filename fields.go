package contactmerge

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Field is one field of an ExternalContact as a person sees it: its
// Genesys JSON name, its value as text, and how to set it from text. The
// table ContactFields is the one place that lists the fields: CSV import,
// the review screens (`plan show`, `plan export`, the console) and the
// sandbox all read it, so adding a field means adding a row.
type Field struct {
	// Name is the Genesys JSON name ("firstName", "cellPhone"); address
	// parts use their own names ("city").
	Name string
	// Review marks the fields a steward compares side by side.
	Review bool
	// Get returns the value as text ("" when absent).
	Get func(*Contact) string
	// Set parses text into the field; nil when the field cannot be written
	// from one text value.
	Set func(*Contact, string) error
}

// String returns the number as a person reads it: the display, followed by
// the E.164 form when that differs.
func (p *PhoneNumber) String() string {
	if p == nil {
		return ""
	}
	if p.E164 != "" && p.E164 != p.Display {
		if p.Display == "" {
			return p.E164
		}
		return p.Display + " (" + p.E164 + ")"
	}
	return p.Display
}

// ContactFields lists every field of an ExternalContact that contactmerge
// reads or writes as text, in display order. The multi-valued fields
// externalIds and customFields have a Get (for display) but no Set: CSV
// import takes them as "externalIds.SOURCE" and "customFields.NAME" columns.
var ContactFields = []Field{ //nolint:gochecknoglobals // immutable table
	{Name: "id", Get: func(c *Contact) string { return c.ID }, Set: func(c *Contact, v string) error { c.ID = v; return nil }},
	{Name: "type", Review: true, Get: func(c *Contact) string { return c.Type }, Set: func(c *Contact, v string) error { c.Type = v; return nil }},
	{Name: "divisionId", Get: (*Contact).DivisionID, Set: func(c *Contact, v string) error { c.Division = &Ref{ID: v}; return nil }},
	textField("firstName", true, func(c *Contact) *string { return &c.FirstName }),
	textField("middleName", true, func(c *Contact) *string { return &c.MiddleName }),
	textField("lastName", true, func(c *Contact) *string { return &c.LastName }),
	textField("salutation", false, func(c *Contact) *string { return &c.Salutation }),
	textField("title", true, func(c *Contact) *string { return &c.Title }),
	textField("workEmail", true, func(c *Contact) *string { return &c.WorkEmail }),
	textField("personalEmail", true, func(c *Contact) *string { return &c.PersonalEmail }),
	textField("otherEmail", true, func(c *Contact) *string { return &c.OtherEmail }),
	phoneField("workPhone", func(c *Contact) **PhoneNumber { return &c.WorkPhone }),
	phoneField("cellPhone", func(c *Contact) **PhoneNumber { return &c.CellPhone }),
	phoneField("homePhone", func(c *Contact) **PhoneNumber { return &c.HomePhone }),
	phoneField("otherPhone", func(c *Contact) **PhoneNumber { return &c.OtherPhone }),
	addressField("address1", func(a *Address) *string { return &a.Address1 }),
	addressField("address2", func(a *Address) *string { return &a.Address2 }),
	addressField("city", func(a *Address) *string { return &a.City }),
	addressField("state", func(a *Address) *string { return &a.State }),
	addressField("postalCode", func(a *Address) *string { return &a.PostalCode }),
	addressField("countryCode", func(a *Address) *string { return &a.CountryCode }),
	{Name: "externalIds", Review: true, Get: func(c *Contact) string {
		parts := make([]string, 0, len(c.ExternalIDs))
		for _, e := range c.ExternalIDs {
			parts = append(parts, e.SourceName()+":"+e.Value)
		}
		return strings.Join(parts, " ")
	}},
	{Name: "customFields", Review: true, Get: func(c *Contact) string {
		if len(c.CustomFields) == 0 {
			return ""
		}
		b, err := json.Marshal(c.CustomFields)
		if err != nil {
			return fmt.Sprint(c.CustomFields)
		}
		return string(b)
	}},
	textField("externalSystemUrl", false, func(c *Contact) *string { return &c.ExternalSystemURL }),
	{Name: "surveyOptOut", Get: func(c *Contact) string {
		if c.SurveyOptOut == nil {
			return ""
		}
		return strconv.FormatBool(*c.SurveyOptOut)
	}, Set: func(c *Contact, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		c.SurveyOptOut = &b
		return nil
	}},
	dateField("modifyDate", true, func(c *Contact) *time.Time { return &c.ModifyDate }),
	dateField("createDate", false, func(c *Contact) *time.Time { return &c.CreateDate }),
}

// LookupField returns the field named name (case-insensitive).
func LookupField(name string) (Field, bool) {
	i := slices.IndexFunc(ContactFields, func(f Field) bool { return strings.EqualFold(f.Name, name) })
	if i < 0 {
		return Field{}, false
	}
	return ContactFields[i], true
}

// ReviewFields returns the fields a steward compares, in display order.
func ReviewFields() []Field {
	var out []Field
	for _, f := range ContactFields {
		if f.Review {
			out = append(out, f)
		}
	}
	return out
}

func textField(name string, review bool, p func(*Contact) *string) Field {
	return Field{Name: name, Review: review,
		Get: func(c *Contact) string { return *p(c) },
		Set: func(c *Contact, v string) error { *p(c) = v; return nil }}
}

func phoneField(name string, slot func(*Contact) **PhoneNumber) Field {
	return Field{Name: name, Review: true,
		Get: func(c *Contact) string { return (*slot(c)).String() },
		Set: func(c *Contact, v string) error {
			p := slot(c)
			if *p == nil {
				*p = &PhoneNumber{}
			}
			(*p).Display = v
			if strings.HasPrefix(v, "+") && isDigits(v[1:]) {
				(*p).E164 = v
			}
			return nil
		}}
}

func addressField(name string, part func(*Address) *string) Field {
	return Field{Name: name, Review: name != "countryCode",
		Get: func(c *Contact) string {
			if c.Address == nil {
				return ""
			}
			return *part(c.Address)
		},
		Set: func(c *Contact, v string) error {
			if c.Address == nil {
				c.Address = &Address{}
			}
			*part(c.Address) = v
			return nil
		}}
}

// dateLayouts are the date forms CSV import accepts, most exact first.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05", "2006-01-02"} //nolint:gochecknoglobals // immutable table

func dateField(name string, review bool, p func(*Contact) *time.Time) Field {
	return Field{Name: name, Review: review,
		Get: func(c *Contact) string {
			if t := *p(c); !t.IsZero() {
				return t.UTC().Format("2006-01-02")
			}
			return ""
		},
		Set: func(c *Contact, v string) error {
			for _, layout := range dateLayouts {
				if t, err := time.Parse(layout, v); err == nil {
					*p(c) = t.UTC()
					return nil
				}
			}
			return fmt.Errorf("%q is not an ISO-8601 date", v)
		}}
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

// FieldError is one field value the platform would refuse.
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// ValidationErrors lists every refused field of one contact.
type ValidationErrors []FieldError

func (v ValidationErrors) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Limits of the platform's ExternalContact fields (GENESYS_API.md §2).
const (
	MaxNameLen  = 1000 // firstName, middleName, lastName, salutation, title (characters, trimmed)
	MaxEmailLen = 256  // each email (characters, trimmed)
	MaxPhoneLen = 512  // a phone's display (characters)
	MaxURLLen   = 1000 // externalSystemUrl
)

// Validate checks c against the platform's acceptance rules for a contact
// write: name fields at most MaxNameLen characters, emails valid and at most
// MaxEmailLen, phone displays at most MaxPhoneLen, externalSystemUrl at most
// MaxURLLen, type one of Curated, Identified, Ephemeral (or empty). Lengths
// are measured after trimming, as the platform trims. It returns nil or a
// ValidationErrors with every refused field (in ContactFields order), so an
// import can report them all. It does not check the id: a new contact has
// none.
func (c *Contact) Validate() error {
	var errs ValidationErrors
	for _, f := range []struct {
		name string
		v    string
	}{{"firstName", c.FirstName}, {"middleName", c.MiddleName}, {"lastName", c.LastName}, {"salutation", c.Salutation}, {"title", c.Title}} {
		if utf8.RuneCountInString(strings.TrimSpace(f.v)) > MaxNameLen {
			errs = append(errs, FieldError{f.name, fmt.Sprintf("longer than %d characters", MaxNameLen)})
		}
	}
	if c.Type != "" && TypeRank(c.Type) == 0 {
		errs = append(errs, FieldError{"type", fmt.Sprintf("%q is not Curated, Identified or Ephemeral", c.Type)})
	}
	for i, v := range c.Emails() {
		name := [3]string{"workEmail", "personalEmail", "otherEmail"}[i]
		if msg := emailProblem(strings.TrimSpace(v)); msg != "" {
			errs = append(errs, FieldError{name, msg})
		}
	}
	for i, p := range c.Phones() {
		if p != nil && utf8.RuneCountInString(p.Display) > MaxPhoneLen {
			errs = append(errs, FieldError{[4]string{"workPhone", "cellPhone", "homePhone", "otherPhone"}[i],
				fmt.Sprintf("display is longer than %d characters", MaxPhoneLen)})
		}
	}
	if utf8.RuneCountInString(c.ExternalSystemURL) > MaxURLLen {
		errs = append(errs, FieldError{"externalSystemUrl", fmt.Sprintf("longer than %d characters", MaxURLLen)})
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// emailProblem says why v is not an address the platform accepts, or "".
func emailProblem(v string) string {
	if v == "" {
		return ""
	}
	if utf8.RuneCountInString(v) > MaxEmailLen {
		return fmt.Sprintf("longer than %d characters", MaxEmailLen)
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsAny(v, " \t\r\n") {
		return fmt.Sprintf("%q is not a valid email address", v)
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
		return fmt.Sprintf("%q is not a valid email address", v)
	}
	return ""
}
