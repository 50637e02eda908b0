package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	cm "github.com/contactmerge/contactmerge"
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
// platform accepts it: names are trimmed and at most 1000 characters, emails
// at most 256 characters with one @, phone displays at most 512 characters,
// type one of Curated, Identified, Ephemeral (or absent); dates are kept in
// UTC; a phone without e164 gets one when its display parses (default
// country US, or its normalizationCountryCode).
func DecodeContact(data []byte) (cm.Contact, error) {
	var c cm.Contact
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return c, fmt.Errorf("a contact must be a JSON object")
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return cm.Contact{}, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"firstName", &c.FirstName}, {"middleName", &c.MiddleName}, {"lastName", &c.LastName}, {"salutation", &c.Salutation}, {"title", &c.Title}} {
		*f.v = strings.TrimSpace(*f.v)
		if utf8.RuneCountInString(*f.v) > 1000 {
			return cm.Contact{}, fmt.Errorf("%s is longer than 1000 characters", f.name)
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"workEmail", &c.WorkEmail}, {"personalEmail", &c.PersonalEmail}, {"otherEmail", &c.OtherEmail}} {
		*f.v = strings.TrimSpace(*f.v)
		if *f.v == "" {
			continue
		}
		if utf8.RuneCountInString(*f.v) > 256 {
			return cm.Contact{}, fmt.Errorf("%s is longer than 256 characters", f.name)
		}
		local, domain, ok := strings.Cut(*f.v, "@")
		if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsAny(*f.v, " \t\r\n") {
			return cm.Contact{}, fmt.Errorf("%s %q is not a valid email address", f.name, *f.v)
		}
	}
	for i, p := range c.Phones() {
		if p == nil {
			continue
		}
		if utf8.RuneCountInString(p.Display) > 512 {
			return cm.Contact{}, fmt.Errorf("%s display is longer than 512 characters", [4]string{"workPhone", "cellPhone", "homePhone", "otherPhone"}[i])
		}
		normalizePhone(p)
	}
	switch c.Type {
	case "", cm.TypeCurated, cm.TypeIdentified, cm.TypeEphemeral:
	default:
		return cm.Contact{}, fmt.Errorf("type %q is not one of Curated, Identified, Ephemeral", c.Type)
	}
	if !c.ModifyDate.IsZero() {
		c.ModifyDate = c.ModifyDate.UTC()
	}
	if !c.CreateDate.IsZero() {
		c.CreateDate = c.CreateDate.UTC()
	}
	return c, nil
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

// LoadContacts reads JSONL: one ExternalContact per line (blank lines are
// skipped). Errors name the line number; every contact needs an id and ids
// must be distinct.
func LoadContacts(r io.Reader) ([]cm.Contact, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var out []cm.Contact
	seen := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		c, err := DecodeContact(b)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if c.ID == "" {
			return nil, fmt.Errorf("line %d: contact has no id", line)
		}
		if prev, dup := seen[c.ID]; dup {
			return nil, fmt.Errorf("line %d: contact id %s already appeared on line %d", line, c.ID, prev)
		}
		seen[c.ID] = line
		c.SelfURI = ""
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}

// LoadActivity reads JSONL activity: {"externalContactId","conversationId",
// "start","end"} or {"externalContactId","caseId","status"} per line. Errors
// name the line number.
func LoadActivity(r io.Reader) ([]Activity, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var out []Activity
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var a Activity
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		switch {
		case a.ExternalContactID == "":
			return nil, fmt.Errorf("line %d: externalContactId is missing", line)
		case a.ConversationID == "" && a.CaseID == "":
			return nil, fmt.Errorf("line %d: need a conversationId or a caseId", line)
		case a.ConversationID != "" && a.CaseID != "":
			return nil, fmt.Errorf("line %d: a line is either a conversation or a case, not both", line)
		case a.CaseID != "" && a.Status == "":
			a.Status = "Open"
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}
