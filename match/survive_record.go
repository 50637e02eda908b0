package match

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// builder computes one merged record and the fate of every value.
type builder struct {
	pol    SurvivorPolicy
	nz     *normalizer
	surv   *cm.Contact
	order  []*cm.Contact // survivor first, then fill order
	take   map[string]*cm.Contact
	m      *cm.Contact
	unkept []cm.UnkeptValue
	fates  []ValueFate
}

func (b *builder) fate(c *cm.Contact, field, value string, f Fate, to string, of *cm.Contact, why string) {
	v := ValueFate{ContactID: c.ID, Field: field, Value: value, Fate: f, To: to, Why: why}
	if of != nil {
		v.Of = of.ID
	}
	b.fates = append(b.fates, v)
	if f == FateUnkept {
		b.unkept = append(b.unkept, cm.UnkeptValue{ContactID: c.ID, Field: field, Value: value})
	}
}

// orderFor is the order in which members give field: the member a
// reviewer took it from first.
func (b *builder) orderFor(field string) []*cm.Contact {
	t, ok := b.take[field]
	if !ok {
		return b.order
	}
	out := []*cm.Contact{t}
	for _, c := range b.order {
		if c != t {
			out = append(out, c)
		}
	}
	return out
}

// why says why src's value of field won over the others'.
func (b *builder) why(field string, src *cm.Contact) string {
	switch {
	case b.take[field] == src:
		return "a reviewer took " + field + " from " + src.ID
	case src == b.surv:
		return "the survivor's value wins"
	case b.pol.FillFrom == "oldest":
		return "the survivor has none; " + src.ID + " is the least recently modified member with one"
	}
	return "the survivor has none; " + src.ID + " is the most recently modified member with one"
}

func (b *builder) build() {
	b.typ()
	b.m.FirstName = b.text("firstName", func(c *cm.Contact) string { return c.FirstName })
	b.m.MiddleName = b.text("middleName", func(c *cm.Contact) string { return c.MiddleName })
	b.m.LastName = b.text("lastName", func(c *cm.Contact) string { return c.LastName })
	b.m.Salutation = b.text("salutation", func(c *cm.Contact) string { return c.Salutation })
	b.m.Title = b.text("title", func(c *cm.Contact) string { return c.Title })
	b.emails()
	b.phones()
	b.address()
	b.externalIDs()
	b.customFields()
	b.m.ExternalSystemURL = b.text("externalSystemUrl", func(c *cm.Contact) string { return c.ExternalSystemURL })
	if v := b.text("surveyOptOut", func(c *cm.Contact) string {
		if c.SurveyOptOut == nil {
			return ""
		}
		return strconv.FormatBool(*c.SurveyOptOut)
	}); v != "" {
		opt := v == "true"
		b.m.SurveyOptOut = &opt
	}
	b.m.TwitterID = b.raw("twitterId", func(c *cm.Contact) json.RawMessage { return c.TwitterID })
	b.m.LineID = b.raw("lineId", func(c *cm.Contact) json.RawMessage { return c.LineID })
	b.m.WhatsAppID = b.raw("whatsAppId", func(c *cm.Contact) json.RawMessage { return c.WhatsAppID })
	b.m.FacebookID = b.raw("facebookId", func(c *cm.Contact) json.RawMessage { return c.FacebookID })
	b.m.InstagramID = b.raw("instagramId", func(c *cm.Contact) json.RawMessage { return c.InstagramID })
	b.m.AppleOpaqueIDs = b.raw("appleOpaqueIds", func(c *cm.Contact) json.RawMessage { return c.AppleOpaqueIDs })
	b.m.ExternalOrganization = b.raw("externalOrganization", func(c *cm.Contact) json.RawMessage { return c.ExternalOrganization })
}

// typ sets the merged type: the member a reviewer took it from, else the
// best-ranked type of the members (the first such member in order), so
// that merging a Curated contact never yields one that ages out.
func (b *builder) typ() {
	src := b.take["type"]
	if src == nil {
		for _, c := range b.order {
			if c.Type != "" && (src == nil || b.pol.typeRank(c.Type) > b.pol.typeRank(src.Type)) {
				src = c
			}
		}
	}
	if src == nil {
		return
	}
	b.m.Type = src.Type
	for _, c := range b.order {
		switch {
		case c.Type == "":
		case c == src:
			b.fate(c, "type", c.Type, FateKept, "type", nil, "")
		case c.Type == src.Type:
			b.fate(c, "type", c.Type, FateDuplicate, "type", src, "")
		case b.take["type"] == src:
			b.fate(c, "type", c.Type, FateOverridden, "type", src, "a reviewer took type from "+src.ID)
		default:
			b.fate(c, "type", c.Type, FateOverridden, "type", src, src.Type+" ranks above "+c.Type)
		}
	}
}

// text fills a one-value text field and records every member's fate.
func (b *builder) text(field string, get func(*cm.Contact) string) string {
	order := b.orderFor(field)
	var src *cm.Contact
	val := ""
	for _, c := range order {
		if v := strings.TrimSpace(get(c)); v != "" {
			src, val = c, v
			break
		}
	}
	for _, c := range order {
		v := strings.TrimSpace(get(c))
		switch {
		case v == "":
		case c == src:
			b.fate(c, field, v, FateKept, field, nil, "")
		case strings.EqualFold(v, val):
			b.fate(c, field, v, FateDuplicate, field, src, "")
		default:
			b.fate(c, field, v, FateOverridden, field, src, b.why(field, src))
		}
	}
	return val
}

// raw fills a field held as raw JSON (social ids, the organization).
func (b *builder) raw(field string, get func(*cm.Contact) json.RawMessage) json.RawMessage {
	var src *cm.Contact
	var val json.RawMessage
	compact := func(v json.RawMessage) string {
		if len(v) == 0 || string(v) == "null" {
			return ""
		}
		var out bytes.Buffer
		if json.Compact(&out, v) != nil {
			return string(v)
		}
		return out.String()
	}
	for _, c := range b.order {
		if v := compact(get(c)); v != "" {
			src, val = c, slices.Clone(get(c))
			break
		}
	}
	for _, c := range b.order {
		v := compact(get(c))
		switch {
		case v == "":
		case c == src:
			b.fate(c, field, v, FateKept, field, nil, "")
		case v == compact(val):
			b.fate(c, field, v, FateDuplicate, field, src, "")
		default:
			b.fate(c, field, v, FateOverridden, field, src, b.why(field, src))
		}
	}
	return val
}

// address takes the address whole from one member: mixing lines of two
// addresses would invent an address nobody has.
func (b *builder) address() {
	var src *cm.Contact
	for _, f := range []string{"address1", "address2", "city", "state", "postalCode", "countryCode"} {
		if t := b.take[f]; t != nil && src == nil {
			src = t
		}
	}
	if src == nil {
		for _, c := range b.order {
			if !c.Address.IsZero() {
				src = c
				break
			}
		}
	}
	if src == nil {
		return
	}
	a := *src.Address
	b.m.Address = &a
	why := b.why("address", src)
	for _, f := range []string{"address1", "address2", "city", "state", "postalCode", "countryCode"} {
		if b.take[f] == src {
			why = b.why(f, src)
		}
	}
	why += "; the address is taken whole from one member"
	parts := func(c *cm.Contact) [6]string {
		a := c.Address
		return [6]string{a.Address1, a.Address2, a.City, a.State, a.PostalCode, a.CountryCode}
	}
	names := [6]string{"address1", "address2", "city", "state", "postalCode", "countryCode"}
	kept := parts(src)
	for _, c := range b.order {
		if c.Address.IsZero() {
			continue
		}
		for i, v := range parts(c) {
			v = strings.TrimSpace(v)
			switch {
			case v == "":
			case c == src:
				b.fate(c, names[i], v, FateKept, names[i], nil, "")
			case strings.EqualFold(v, strings.TrimSpace(kept[i])):
				b.fate(c, names[i], v, FateDuplicate, names[i], src, "")
			default:
				b.fate(c, names[i], v, FateOverridden, names[i], src, why)
			}
		}
	}
}

// externalIDs keeps the union, at most 10 (the platform's limit).
func (b *builder) externalIDs() {
	first := map[string]*cm.Contact{}
	for _, c := range b.order {
		for _, e := range c.ExternalIDs {
			v := strings.TrimSpace(e.Value)
			if v == "" {
				continue
			}
			text := e.SourceName() + ":" + e.Value
			k := strings.ToLower(e.SourceName()) + "\x00" + strings.ToLower(v)
			if f := first[k]; f != nil {
				b.fate(c, "externalIds", text, FateDuplicate, "externalIds", f, "")
				continue
			}
			first[k] = c
			if len(b.m.ExternalIDs) >= 10 {
				b.fate(c, "externalIds", text, FateUnkept, "", nil, "the platform keeps at most 10 external ids")
				continue
			}
			x := cm.ExternalID{Value: e.Value}
			if e.ExternalSource != nil {
				src := *e.ExternalSource
				x.ExternalSource = &src
			}
			b.m.ExternalIDs = append(b.m.ExternalIDs, x)
			b.fate(c, "externalIds", text, FateKept, "externalIds", nil, "")
		}
	}
}

// customText is a custom field's value as text; "" when empty.
func customText(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(j)
}

// customFields fills the custom fields key by key (the member a reviewer
// took customFields from first); the schema is that of the first member
// with custom fields under one.
func (b *builder) customFields() {
	order := b.orderFor("customFields")
	src := map[string]*cm.Contact{}
	for _, c := range order {
		for _, k := range slices.Sorted(maps.Keys(c.CustomFields)) {
			v := c.CustomFields[k]
			if customText(v) == "" {
				continue
			}
			if b.m.CustomFields == nil {
				b.m.CustomFields = map[string]any{}
			}
			if _, ok := b.m.CustomFields[k]; !ok {
				b.m.CustomFields[k] = v
				src[k] = c
			}
		}
	}
	for _, c := range order {
		for _, k := range slices.Sorted(maps.Keys(c.CustomFields)) {
			v := customText(c.CustomFields[k])
			field := "customFields." + k
			switch {
			case v == "":
			case src[k] == c:
				b.fate(c, field, v, FateKept, field, nil, "")
			case strings.EqualFold(v, customText(b.m.CustomFields[k])):
				b.fate(c, field, v, FateDuplicate, field, src[k], "")
			default:
				b.fate(c, field, v, FateOverridden, field, src[k], b.why("customFields", src[k]))
			}
		}
	}
	if b.m.CustomFields != nil {
		for _, c := range order {
			if c.Schema != nil && (c.Schema.ID != "" || c.Schema.Name != "") {
				b.m.Schema = &cm.Schema{ID: c.Schema.ID, Name: c.Schema.Name, Version: c.Schema.Version}
				break
			}
		}
	}
}

// conflicts lists the fields in which members disagree (Survival.Conflicts).
func conflicts(order []*cm.Contact, nz *normalizer) []string {
	// A field disagrees when one of its values (under field, or
	// field\x00source/key) differs from the first one seen.
	first := map[string]string{}
	disagree := map[string]bool{}
	add := func(field, k string) {
		if k == "" {
			return
		}
		v, seen := first[field]
		switch {
		case !seen:
			first[field] = k
		case v != k:
			name, _, _ := strings.Cut(field, "\x00")
			disagree[name] = true
		}
	}
	fold := foldSpaceCase
	for _, c := range order {
		for _, f := range cm.ContactFields {
			switch f.Name {
			case "id", "divisionId", "modifyDate", "createDate", "externalIds", "customFields",
				"workPhone", "cellPhone", "homePhone", "otherPhone":
			case "workEmail", "personalEmail", "otherEmail":
				add(f.Name, cmp.Or(nz.email(f.Get(c)), fold(f.Get(c))))
			default:
				add(f.Name, fold(f.Get(c)))
			}
		}
		for i, p := range c.Phones() {
			if p != nil {
				add(phoneFields[i], cmp.Or(nz.phone(p), fold(phoneText(p))))
			}
		}
		for _, e := range c.ExternalIDs {
			add("externalIds\x00"+strings.ToLower(e.SourceName()), fold(e.Value))
		}
		for k, v := range c.CustomFields {
			add("customFields\x00"+k, fold(customText(v)))
		}
	}
	var out []string
	for _, f := range cm.ContactFields {
		if disagree[f.Name] {
			out = append(out, f.Name)
		}
	}
	return out
}

// foldSpaceCase lower-cases s and collapses its white space runs to one
// space, trimming both ends: strings.ToLower(strings.Join(strings.Fields(s),
// " ")), without allocating when s is already so (ASCII, no upper case,
// single inner spaces).
func foldSpaceCase(s string) string {
	folded := true
	for i := 0; i < len(s) && folded; i++ {
		c := s[i]
		switch {
		case c >= 0x80, 'A' <= c && c <= 'Z', c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			folded = false
		case c == ' ':
			folded = i > 0 && i < len(s)-1 && s[i-1] != ' '
		}
	}
	if folded {
		return s
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

func ptrs(cs []cm.Contact) []*cm.Contact {
	out := make([]*cm.Contact, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	return out
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
