package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/jsonerr"
	"github.com/contactmerge/contactmerge/internal/textutil"
	"github.com/nyaruka/phonenumbers"
)

// Activity is a conversation or a case of an external contact. A
// conversation (ConversationID set) is active while End is zero or in the
// future; a case (CaseID set) is open unless Status is Closed, Terminated or
// Failed.
type Activity struct {
	ExternalContactID string    `json:"externalContactId"`
	ConversationID    string    `json:"conversationId,omitempty"`
	Start             time.Time `json:"start,omitzero"`
	End               time.Time `json:"end,omitzero"`
	CaseID            string    `json:"caseId,omitempty"`
	Status            string    `json:"status,omitempty"`
}

// DecodeContact decodes one ExternalContact (Genesys JSON names) the way the
// platform accepts it: names and emails are trimmed, then the contact must
// pass (*cm.Contact).Validate (the first refused field is the error); the
// input must be valid UTF-8; dates are kept in UTC to the millisecond, as
// the platform stores them; a phone without e164 gets one when its display
// parses (default country US, or its normalizationCountryCode). Unknown
// fields are ignored, as the platform ignores them in a request body.
func DecodeContact(data []byte) (cm.Contact, error) {
	return decodeContact(data, false)
}

// decodeContact is DecodeContact; strict refuses unknown fields (a file to
// load is more likely wrong than new).
func decodeContact(data []byte, strict bool) (cm.Contact, error) {
	var c cm.Contact
	if i := textutil.InvalidUTF8(data); i >= 0 {
		return c, fmt.Errorf("invalid UTF-8 at byte %d (0x%02x)", i+1, data[i])
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return c, fmt.Errorf("a contact must be a JSON object")
	}
	if err := decodeJSON(data, &c, strict, "modifyDate", "createDate"); err != nil {
		return cm.Contact{}, err
	}
	for _, v := range []*string{&c.FirstName, &c.MiddleName, &c.LastName, &c.Salutation, &c.Title, &c.WorkEmail, &c.PersonalEmail, &c.OtherEmail} {
		*v = strings.TrimSpace(*v)
	}
	var ve cm.ValidationErrors
	if err := c.Validate(); errors.As(err, &ve) && len(ve) > 0 {
		return cm.Contact{}, ve[0]
	} else if err != nil {
		return cm.Contact{}, err
	}
	for _, p := range c.Phones() {
		if p != nil {
			normalizePhone(p)
		}
	}
	for _, d := range []struct {
		name string
		t    *time.Time
	}{{"modifyDate", &c.ModifyDate}, {"createDate", &c.CreateDate}} {
		if d.t.IsZero() {
			continue
		}
		*d.t = d.t.UTC().Truncate(time.Millisecond)
		if y := d.t.Year(); y < 0 || y > 9999 {
			return cm.Contact{}, fmt.Errorf("%s: %s is outside the years 0000 to 9999 in UTC", d.name, d.t.Format(time.RFC3339))
		}
	}
	return c, nil
}

// decodeJSON decodes the JSON object data into v; strict refuses unknown
// fields. Its errors name the field to blame where there is one, including
// the date fields (times) whose values do not parse, which encoding/json
// does not name.
func decodeJSON(data []byte, v any, strict bool, times ...string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil {
		if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
			return errors.New("more than one JSON value on the line")
		}
		return nil
	}
	p := jsonerr.Explain(err, data, times...)
	switch p.Kind {
	case jsonerr.UnknownField:
		return fmt.Errorf("%s: unknown field (a typo, or another kind of file?)", p.Field)
	case jsonerr.Syntax:
		return fmt.Errorf("%w (byte %d of the object)", err, p.Offset)
	case jsonerr.Truncated:
		return errors.New("the line ends inside the JSON object")
	case jsonerr.WrongType, jsonerr.BadTime:
		return fmt.Errorf("%s: %s", p.Field, p.Msg)
	}
	return err
}

// normalizePhone fills e164 and countryCode when the display parses, as the
// platform does on write; userInput keeps the display as given.
func normalizePhone(p *cm.PhoneNumber) {
	if p.UserInput == "" {
		p.UserInput = p.Display
	}
	if p.E164 != "" || p.Display == "" {
		return
	}
	region := strings.ToUpper(strings.TrimSpace(p.NormalizationCountryCode))
	if region == "" || len(region) != 2 {
		region = "US"
	}
	if len(p.Display) > 64 {
		return
	}
	n, err := phonenumbers.Parse(p.Display, region)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return
	}
	p.E164 = phonenumbers.Format(n, phonenumbers.E164)
	p.CountryCode = phonenumbers.GetRegionCodeForNumber(n)
}

// bom is the UTF-8 byte order mark some tools write at the start of a file.
const bom = "\ufeff"

// jsonLines calls fn with each non-blank line of r (a UTF-8 byte order mark
// before the first line is ignored) and its number, and stops at the first
// error, which it prefixes with name and the line number ("name:3: "). A
// line that is not valid UTF-8 is an error naming the byte.
// max is the longest line accepted.
func jsonLines(r io.Reader, name string, max int, fn func(line int, b []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), max)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if i := textutil.InvalidUTF8(b); i >= 0 {
			return fmt.Errorf("%s:%d: invalid UTF-8 at byte %d of the line (0x%02x)", name, line, i+1, b[i])
		}
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte(bom))
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := fn(line, b); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return nil
}

// LoadContacts reads JSONL: one ExternalContact per line (blank lines are
// skipped), decoded as DecodeContact does but refusing unknown fields (they
// usually mean a wrong file). Every contact needs an id and ids must be
// distinct. Errors start with name and the line number
// ("contacts.jsonl:3: ..."), then the field when one is to blame.
func LoadContacts(r io.Reader, name string) ([]cm.Contact, error) {
	var out []cm.Contact
	seen := map[string]int{}
	err := jsonLines(r, name, 16<<20, func(line int, b []byte) error {
		c, err := decodeContact(b, true)
		if err != nil {
			return err
		}
		if c.ID == "" {
			return errors.New("contact has no id")
		}
		if prev, dup := seen[c.ID]; dup {
			return fmt.Errorf("contact id %s already appeared on line %d", c.ID, prev)
		}
		seen[c.ID] = line
		c.SelfURI = ""
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LoadActivity reads JSONL activity: {"externalContactId","conversationId",
// "start","end"} or {"externalContactId","caseId","status"} per line (blank
// lines are skipped; unknown fields are errors). Errors start with name and
// the line number ("activity.jsonl:3: ...").
func LoadActivity(r io.Reader, name string) ([]Activity, error) {
	var out []Activity
	err := jsonLines(r, name, 1<<20, func(_ int, b []byte) error {
		var a Activity
		if b = bytes.TrimSpace(b); b[0] != '{' {
			return errors.New("an activity must be a JSON object")
		}
		if err := decodeJSON(b, &a, true, "start", "end"); err != nil {
			return err
		}
		switch {
		case a.ExternalContactID == "":
			return errors.New("externalContactId is missing")
		case a.ConversationID == "" && a.CaseID == "":
			return errors.New("need a conversationId or a caseId")
		case a.ConversationID != "" && a.CaseID != "":
			return errors.New("a line is either a conversation or a case, not both")
		case a.CaseID != "" && a.Status == "":
			a.Status = "Open"
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
