package match

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"

	cm "github.com/contactmerge/contactmerge"
)

// Survive picks the survivor of a group and computes the merged record sent
// as valueOverride. The survivor is the first member under pol.Order
// (default: best type, then most complete, then oldest; ties on the smallest
// id). The merged record starts from the survivor's values; its empty
// fields are filled from the other members (most recently modified first
// unless pol.FillFrom is "oldest"); with pol.PackContacts the other members'
// distinct emails and phone numbers go into free slots, and those that fit
// no slot (and external ids beyond the platform's 10) are returned as
// unkept. The merged record has no id, no read-only fields (phone e164,
// countryCode, userInput; merge fields; dates; type) and carries the schema
// when it has custom fields.
func Survive(members []cm.Contact, pol SurvivorPolicy) (survivorID string, merged *cm.Contact, unkept []cm.UnkeptValue) {
	if len(members) == 0 {
		return "", nil, nil
	}
	pol = pol.withDefaults()
	ms := slices.Clone(members)
	typeRank := func(t string) int {
		if i := slices.Index(pol.TypeOrder, t); i >= 0 {
			return len(pol.TypeOrder) - i
		}
		return 0
	}
	slices.SortStableFunc(ms, func(a, b cm.Contact) int {
		for _, o := range pol.Order {
			var c int
			switch o {
			case "type":
				c = cmp.Compare(typeRank(b.Type), typeRank(a.Type))
			case "complete":
				c = cmp.Compare(completeness(&b), completeness(&a))
			case "oldest":
				c = a.CreateDate.Compare(b.CreateDate)
			case "newest":
				c = b.ModifyDate.Compare(a.ModifyDate)
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.ID, b.ID)
	})
	return SurviveWith(members, ms[0].ID, pol)
}

func (pol SurvivorPolicy) withDefaults() SurvivorPolicy {
	if len(pol.Order) == 0 {
		pol.Order = []string{"type", "complete", "oldest"}
	}
	if len(pol.TypeOrder) == 0 {
		pol.TypeOrder = []string{cm.TypeCurated, cm.TypeIdentified, cm.TypeEphemeral}
	}
	return pol
}

// SurviveWith computes the merged record like Survive, with survivorID as
// the survivor (a reviewer's choice). An id that is not a member falls back
// to Survive's choice.
func SurviveWith(members []cm.Contact, survivorID string, pol SurvivorPolicy) (survivor string, merged *cm.Contact, unkept []cm.UnkeptValue) {
	i := slices.IndexFunc(members, func(c cm.Contact) bool { return c.ID == survivorID })
	if i < 0 {
		return Survive(members, pol)
	}
	pol = pol.withDefaults()
	surv := &members[i]
	others := slices.Clone(members)
	others = slices.Delete(others, i, i+1)
	slices.SortStableFunc(others, func(a, b cm.Contact) int {
		c := b.ModifyDate.Compare(a.ModifyDate)
		if pol.FillFrom == "oldest" {
			c = a.ModifyDate.Compare(b.ModifyDate)
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	order := append([]*cm.Contact{surv}, ptrs(others)...)

	m := &cm.Contact{}
	str := func(get func(*cm.Contact) string) string {
		for _, c := range order {
			if v := strings.TrimSpace(get(c)); v != "" {
				return v
			}
		}
		return ""
	}
	m.FirstName = str(func(c *cm.Contact) string { return c.FirstName })
	m.MiddleName = str(func(c *cm.Contact) string { return c.MiddleName })
	m.LastName = str(func(c *cm.Contact) string { return c.LastName })
	m.Salutation = str(func(c *cm.Contact) string { return c.Salutation })
	m.Title = str(func(c *cm.Contact) string { return c.Title })
	m.ExternalSystemURL = str(func(c *cm.Contact) string { return c.ExternalSystemURL })
	raw := func(get func(*cm.Contact) json.RawMessage) json.RawMessage {
		for _, c := range order {
			if v := get(c); len(v) > 0 && string(v) != "null" {
				return slices.Clone(v)
			}
		}
		return nil
	}
	m.TwitterID = raw(func(c *cm.Contact) json.RawMessage { return c.TwitterID })
	m.LineID = raw(func(c *cm.Contact) json.RawMessage { return c.LineID })
	m.WhatsAppID = raw(func(c *cm.Contact) json.RawMessage { return c.WhatsAppID })
	m.FacebookID = raw(func(c *cm.Contact) json.RawMessage { return c.FacebookID })
	m.InstagramID = raw(func(c *cm.Contact) json.RawMessage { return c.InstagramID })
	m.AppleOpaqueIDs = raw(func(c *cm.Contact) json.RawMessage { return c.AppleOpaqueIDs })
	m.ExternalOrganization = raw(func(c *cm.Contact) json.RawMessage { return c.ExternalOrganization })
	for _, c := range order {
		if c.SurveyOptOut != nil {
			v := *c.SurveyOptOut
			m.SurveyOptOut = &v
			break
		}
	}
	// The address is taken whole from one member: mixing lines of two
	// addresses would invent an address nobody has.
	for _, c := range order {
		if !c.Address.IsZero() {
			a := *c.Address
			m.Address = &a
			break
		}
	}

	nz := newNormalizerRules("US", defaultEmailRules())
	// Emails.
	var emails [3]string
	type val struct {
		owner, field, value, key string
	}
	var pending []val
	emailFields := [3]string{"workEmail", "personalEmail", "otherEmail"}
	seen := map[string]bool{}
	for slot, e := range surv.Emails() {
		if k := nz.email(e); k != "" && !seen[k] {
			seen[k] = true
			emails[slot] = strings.TrimSpace(e)
		}
	}
	for _, c := range order[1:] {
		for slot, e := range c.Emails() {
			k := nz.email(e)
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			pending = append(pending, val{c.ID, emailFields[slot], strings.TrimSpace(e), k})
		}
	}
	for _, p := range pending {
		slot := slices.Index(emailFields[:], p.field)
		if emails[slot] == "" {
			emails[slot] = p.value
			continue
		}
		if !pol.PackContacts {
			unkept = append(unkept, cm.UnkeptValue{ContactID: p.owner, Field: p.field, Value: p.value})
			continue
		}
		if free := slices.Index(emails[:], ""); free >= 0 {
			emails[free] = p.value
			continue
		}
		unkept = append(unkept, cm.UnkeptValue{ContactID: p.owner, Field: p.field, Value: p.value})
	}
	m.SetEmails(emails)

	// Phones.
	var phones [4]*cm.PhoneNumber
	phoneFields := [4]string{"workPhone", "cellPhone", "homePhone", "otherPhone"}
	type pval struct {
		owner, field string
		p            *cm.PhoneNumber
	}
	var ppending []pval
	pseen := map[string]bool{}
	for slot, p := range surv.Phones() {
		if k := nz.phone(p); k != "" && !pseen[k] {
			pseen[k] = true
			phones[slot] = mergedPhone(p)
		}
	}
	for _, c := range order[1:] {
		for slot, p := range c.Phones() {
			k := nz.phone(p)
			if k == "" || pseen[k] {
				continue
			}
			pseen[k] = true
			ppending = append(ppending, pval{c.ID, phoneFields[slot], p})
		}
	}
	for _, p := range ppending {
		slot := slices.Index(phoneFields[:], p.field)
		if phones[slot] == nil {
			phones[slot] = mergedPhone(p.p)
			continue
		}
		if pol.PackContacts {
			if free := slices.Index(phones[:], nil); free >= 0 {
				phones[free] = mergedPhone(p.p)
				continue
			}
		}
		unkept = append(unkept, cm.UnkeptValue{ContactID: p.owner, Field: p.field, Value: phoneText(p.p)})
	}
	m.SetPhones(phones)

	// External ids: the union, at most 10 (the platform's limit).
	eseen := map[string]bool{}
	for _, c := range order {
		for _, e := range c.ExternalIDs {
			k := strings.ToLower(e.SourceName()) + "\x00" + strings.ToLower(strings.TrimSpace(e.Value))
			if strings.TrimSpace(e.Value) == "" || eseen[k] {
				continue
			}
			eseen[k] = true
			if len(m.ExternalIDs) >= 10 {
				unkept = append(unkept, cm.UnkeptValue{ContactID: c.ID, Field: "externalIds", Value: e.SourceName() + ":" + e.Value})
				continue
			}
			x := cm.ExternalID{Value: e.Value}
			if e.ExternalSource != nil {
				src := *e.ExternalSource
				x.ExternalSource = &src
			}
			m.ExternalIDs = append(m.ExternalIDs, x)
		}
	}

	// Custom fields: per key, the first non-empty value in order; the schema
	// of the first member that has custom fields under one.
	for _, c := range order {
		for _, k := range slices.Sorted(maps.Keys(c.CustomFields)) {
			v := c.CustomFields[k]
			if v == nil {
				continue
			}
			if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
				continue
			}
			if m.CustomFields == nil {
				m.CustomFields = map[string]any{}
			}
			if _, ok := m.CustomFields[k]; !ok {
				m.CustomFields[k] = v
			}
		}
	}
	if m.CustomFields != nil {
		for _, c := range order {
			if c.Schema != nil && (c.Schema.ID != "" || c.Schema.Name != "") {
				m.Schema = &cm.Schema{ID: c.Schema.ID, Name: c.Schema.Name, Version: c.Schema.Version}
				break
			}
		}
	}
	return surv.ID, m, unkept
}

func ptrs(cs []cm.Contact) []*cm.Contact {
	out := make([]*cm.Contact, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	return out
}

// mergedPhone copies the writable fields of p; the display becomes the
// international format of its E.164 number when it has one.
func mergedPhone(p *cm.PhoneNumber) *cm.PhoneNumber {
	out := &cm.PhoneNumber{Display: p.Display, NormalizationCountryCode: p.NormalizationCountryCode}
	if p.Extension != nil {
		e := *p.Extension
		out.Extension = &e
	}
	if p.AcceptsSMS != nil {
		a := *p.AcceptsSMS
		out.AcceptsSMS = &a
	}
	if isE164(p.E164) {
		if num, err := phonenumbers.Parse(p.E164, ""); err == nil {
			out.Display = phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
		}
	}
	if out.Display == "" {
		out.Display = p.UserInput
	}
	return out
}

func phoneText(p *cm.PhoneNumber) string {
	if p.E164 != "" {
		return p.E164
	}
	if p.Display != "" {
		return p.Display
	}
	return p.UserInput
}

// completeness counts a contact's non-empty matchable fields.
func completeness(c *cm.Contact) int {
	n := 0
	for _, s := range []string{c.FirstName, c.MiddleName, c.LastName, c.Salutation, c.Title, c.WorkEmail, c.PersonalEmail, c.OtherEmail, c.ExternalSystemURL} {
		if strings.TrimSpace(s) != "" {
			n++
		}
	}
	for _, p := range c.Phones() {
		if p != nil && phoneText(p) != "" {
			n++
		}
	}
	if a := c.Address; !a.IsZero() {
		for _, s := range []string{a.Address1, a.Address2, a.City, a.State, a.PostalCode, a.CountryCode} {
			if s != "" {
				n++
			}
		}
	}
	n += len(c.ExternalIDs) + len(c.CustomFields)
	return n
}
