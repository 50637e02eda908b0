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

	"github.com/nyaruka/phonenumbers"

	cm "github.com/contactmerge/contactmerge"
)

// SurviveOptions are the settings of one survivorship computation
// (SurviveGroup).
type SurviveOptions struct {
	// Policy chooses the survivor and fills the merged record.
	Policy SurvivorPolicy
	// DefaultRegion parses phone numbers written without a country code
	// and Email holds the provider rules of email normalization: together
	// they decide when two members' numbers or addresses are one value. Pass
	// the run's (Config.SurviveOptions); "" is "US", nil Email is the email
	// rules of DefaultConfig.
	DefaultRegion string
	Email         *EmailRules
	// Survivor is a reviewer's choice of survivor; "" or an id that is not a
	// member leaves the choice to the policy.
	Survivor string
	// Take maps a field of cm.ContactFields that survivorship fills
	// (TakeFields) to the member whose value the merged record takes for
	// it, before the survivor's: a reviewer's per-field choice. For a phone
	// or email slot the taken value occupies the slot and the value it
	// displaces is packed like any other; an address part takes the whole
	// address (addresses are never mixed); customFields takes every custom
	// value the member has. An entry naming a non-member, or a member with
	// no value for the field, is ignored (callers check with CheckTakes).
	Take map[string]string
}

// SurviveOptions returns the survivorship settings of c: its survivor
// policy, default region and email rules.
func (c Config) SurviveOptions() SurviveOptions {
	e := c.Email
	return SurviveOptions{Policy: c.Survivor, DefaultRegion: c.DefaultRegion, Email: &e}
}

// Survival is the outcome of survivorship for one group.
type Survival struct {
	// SurvivorID is the member whose values win: the reviewer's choice
	// (SurviveOptions.Survivor) when it is a member, else PolicySurvivorID.
	SurvivorID string `json:"survivorId"`
	// PolicySurvivorID is the member the policy picks, and Rule says why:
	// one step per criterion of SurvivorPolicy.Order that ranked some
	// member below it, in that order.
	PolicySurvivorID string     `json:"policySurvivorId"`
	Rule             []RuleStep `json:"rule"`
	// Merged is the record sent as valueOverride. It has no id and no
	// read-only fields (phone e164, countryCode, userInput; merge fields;
	// dates); its type is the best-ranked type of the members
	// (SurvivorPolicy.TypeOrder) unless a reviewer took another, and it
	// carries the schema when it has custom fields.
	Merged *cm.Contact `json:"merged"`
	// Unkept lists the values that found no place in Merged: emails and
	// phone numbers that fit no free slot, external ids beyond the
	// platform's 10, and values that are not an email address or a phone
	// number.
	Unkept []cm.UnkeptValue `json:"unkept,omitempty"`
	// Fates says, for every member and every field it has a value in, what
	// became of that value: kept, moved to another slot, a duplicate of a
	// kept value, overridden by another member's value, or unkept (and
	// why). Survivor first, then the other members in fill order.
	Fates []ValueFate `json:"fates"`
	// Conflicts lists the fields (cm.ContactFields names) in which members
	// hold two or more different values after normalization: phone numbers
	// compared as E.164, emails normalized, text without case; for
	// externalIds two values of one source, for customFields two values of
	// one key.
	Conflicts []string `json:"conflicts,omitempty"`
}

// Chosen reports whether the survivor is a reviewer's choice that differs
// from the policy's.
func (s *Survival) Chosen() bool { return s.SurvivorID != s.PolicySurvivorID }

// Reason states why the survivor was chosen, for example "Curated over
// Identified (rule: type), then most complete: 12 fields over 9–11 (rule:
// complete)"; label turns a contact id into the text shown (nil: the id).
func (s *Survival) Reason(label func(string) string) string {
	if label == nil {
		label = func(id string) string { return id }
	}
	policy := "the only member"
	if len(s.Rule) > 0 {
		parts := make([]string, len(s.Rule))
		for i, st := range s.Rule {
			parts[i] = st.Text + " (rule: " + st.Rule + ")"
		}
		policy = strings.Join(parts, ", then ")
	}
	if s.Chosen() {
		return "chosen by a reviewer; the policy picks " + label(s.PolicySurvivorID) + ": " + policy
	}
	return policy
}

// RuleStep is one survivor criterion that decided: the policy's survivor
// ranks above the members Over by Rule, and tied with them on every
// criterion before it.
type RuleStep struct {
	// Rule is the criterion: "type", "complete", "oldest", "newest" (the
	// names of SurvivorPolicy.Order), or "id" (a tie on every criterion,
	// broken by the smallest id).
	Rule string `json:"rule"`
	// Text says how, e.g. "Curated over Identified", "most complete: 12
	// fields over 9–11", "oldest: created 2021-03-04".
	Text string   `json:"text"`
	Over []string `json:"over"`
}

// Fate is what survivorship did with one member's value.
type Fate string

// The fates of a value.
const (
	FateKept       Fate = "kept"       // the merged record holds it, in the same field
	FateMoved      Fate = "moved"      // the merged record holds it in another slot (To)
	FateDuplicate  Fate = "duplicate"  // equal, after normalization, to a value kept from Of (in To)
	FateOverridden Fate = "overridden" // a one-value field took Of's value instead
	FateUnkept     Fate = "unkept"     // no place for it (Why); it is in Survival.Unkept
)

// ValueFate is what became of one member's value of one field.
type ValueFate struct {
	ContactID string `json:"contactId"`
	// Field is the member's field: a cm.ContactFields name, a social id
	// field ("twitterId", ...), "externalOrganization", or
	// "customFields.KEY" for one custom field.
	Field string `json:"field"`
	Value string `json:"value"`
	Fate  Fate   `json:"fate"`
	// To is the merged record's field holding the value (kept, moved) or
	// the value it duplicates or lost to (duplicate, overridden).
	To string `json:"to,omitempty"`
	// Of is the member whose value is kept instead (duplicate,
	// overridden).
	Of string `json:"of,omitempty"`
	// Why explains a move, an override or an unkept value.
	Why string `json:"why,omitempty"`
}

// takeFields are the cm.ContactFields names a reviewer may take from one
// member, in ContactFields order.
var takeFields = []string{ //nolint:gochecknoglobals // immutable table
	"type", "firstName", "middleName", "lastName", "salutation", "title",
	"workEmail", "personalEmail", "otherEmail", "workPhone", "cellPhone", "homePhone", "otherPhone",
	"address1", "address2", "city", "state", "postalCode", "countryCode",
	"customFields", "externalSystemUrl", "surveyOptOut",
}

// TakeFields returns the fields SurviveOptions.Take accepts: the fields of
// cm.ContactFields that survivorship fills from one member.
func TakeFields() []string { return slices.Clone(takeFields) }

// TakeField returns the canonical name of a field a reviewer may take (the
// name is matched without case), or an error saying why it cannot be taken.
func TakeField(name string) (string, error) {
	f, ok := cm.LookupField(name)
	if !ok {
		return "", fmt.Errorf("no field %q (fields that can be taken: %s)", name, strings.Join(takeFields, ", "))
	}
	if slices.Contains(takeFields, f.Name) {
		return f.Name, nil
	}
	if f.Name == "externalIds" {
		return "", fmt.Errorf("externalIds cannot be taken from one member: the merged record keeps every member's external ids")
	}
	return "", fmt.Errorf("%s is not a field survivorship fills (fields that can be taken: %s)", f.Name, strings.Join(takeFields, ", "))
}

// CheckTakes checks a reviewer's per-field choices against a group's
// members: every field can be taken (TakeField, canonical names), every
// contact is a member and has a value for the field, and the address parts
// name one member (the address is taken whole). It returns the first
// problem.
func CheckTakes(members []cm.Contact, take map[string]string) error {
	address := ""
	for _, field := range slices.Sorted(maps.Keys(take)) {
		id := take[field]
		name, err := TakeField(field)
		if err != nil {
			return err
		}
		if name != field {
			return fmt.Errorf("field %q is spelled %s", field, name)
		}
		i := slices.IndexFunc(members, func(c cm.Contact) bool { return c.ID == id })
		if i < 0 {
			return fmt.Errorf("%s=%s: %s is not a member of the group", field, id, id)
		}
		if !hasValue(&members[i], field) {
			return fmt.Errorf("%s=%s: %s has no %s", field, id, id, field)
		}
		if isAddressPart(field) {
			if address != "" && address != id {
				return fmt.Errorf("%s=%s: the address is taken whole from one member, and another address part names %s", field, id, address)
			}
			address = id
		}
	}
	return nil
}

func isAddressPart(field string) bool {
	switch field {
	case "address1", "address2", "city", "state", "postalCode", "countryCode":
		return true
	}
	return false
}

// hasValue reports whether c has a value that taking field would use.
func hasValue(c *cm.Contact, field string) bool {
	switch {
	case isAddressPart(field):
		return !c.Address.IsZero()
	case field == "customFields":
		return len(c.CustomFields) > 0
	}
	f, ok := cm.LookupField(field)
	return ok && strings.TrimSpace(f.Get(c)) != ""
}

// Survive picks the survivor of a group and computes the merged record
// under pol, with the default region and email rules; see SurviveGroup,
// which also says why and accounts for every value.
func Survive(members []cm.Contact, pol SurvivorPolicy) (survivorID string, merged *cm.Contact, unkept []cm.UnkeptValue) {
	s := SurviveGroup(members, SurviveOptions{Policy: pol})
	return s.SurvivorID, s.Merged, s.Unkept
}

// SurviveWith computes the merged record like Survive, with survivorID as
// the survivor (a reviewer's choice). An id that is not a member falls back
// to Survive's choice.
func SurviveWith(members []cm.Contact, survivorID string, pol SurvivorPolicy) (survivor string, merged *cm.Contact, unkept []cm.UnkeptValue) {
	s := SurviveGroup(members, SurviveOptions{Policy: pol, Survivor: survivorID})
	return s.SurvivorID, s.Merged, s.Unkept
}

// SurviveGroup picks the survivor of a group, computes the merged record
// sent as valueOverride, and says why and what became of every member's
// values (Survival).
//
// The policy's survivor is the first member under o.Policy.Order (default:
// best type, then most complete, then oldest; ties on the smallest id);
// o.Survivor overrides it. The merged record takes, field by field, the
// value of the member o.Take names, else the survivor's, else the other
// members' (most recently modified first unless Policy.FillFrom is
// "oldest"). Its type is the best-ranked type among the members. The address
// comes whole from one member. Emails and phone numbers are pooled: values
// equal after normalization (o.DefaultRegion, o.Email) are one; the first
// three distinct emails and four distinct numbers in that order are kept
// (with Policy.PackContacts; without it, only values whose own slot is
// free); each stays in its own slot when that is free (a cell number stays
// a cell number), the others go to the free slots, the "other" slot first.
// External ids are the union, at most 10; custom fields are filled key by
// key.
func SurviveGroup(members []cm.Contact, o SurviveOptions) Survival {
	if len(members) == 0 {
		return Survival{}
	}
	pol := o.Policy.withDefaults()
	policy, rule := rank(members, pol)
	s := Survival{PolicySurvivorID: policy.ID, Rule: rule, SurvivorID: policy.ID}
	si := slices.IndexFunc(members, func(c cm.Contact) bool { return c.ID == policy.ID })
	if i := slices.IndexFunc(members, func(c cm.Contact) bool { return c.ID == o.Survivor }); o.Survivor != "" && i >= 0 {
		si, s.SurvivorID = i, o.Survivor
	}
	rules := defaultEmailRules()
	if o.Email != nil {
		rules = *o.Email
	}
	b := &builder{pol: pol, nz: newNormalizerRules(o.DefaultRegion, rules), m: &cm.Contact{}, take: map[string]*cm.Contact{}}
	b.surv = &members[si]
	others := slices.Clone(members)
	others = slices.Delete(others, si, si+1)
	slices.SortStableFunc(others, func(a, c cm.Contact) int {
		r := c.ModifyDate.Compare(a.ModifyDate)
		if pol.FillFrom == "oldest" {
			r = a.ModifyDate.Compare(c.ModifyDate)
		}
		if r != 0 {
			return r
		}
		return strings.Compare(a.ID, c.ID)
	})
	b.order = append([]*cm.Contact{b.surv}, ptrs(others)...)
	for _, field := range slices.Sorted(maps.Keys(o.Take)) {
		for _, c := range b.order {
			if c.ID == o.Take[field] && slices.Contains(takeFields, field) && hasValue(c, field) {
				b.take[field] = c
			}
		}
	}
	b.build()
	s.Merged, s.Unkept, s.Fates = b.m, b.unkept, b.fates
	s.Conflicts = conflicts(b.order, b.nz)
	return s
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

// typeRank ranks t under pol.TypeOrder: higher is better, 0 unranked.
func (pol SurvivorPolicy) typeRank(t string) int {
	if i := slices.Index(pol.TypeOrder, t); i >= 0 {
		return len(pol.TypeOrder) - i
	}
	return 0
}

// criterion compares a and b under one survivor criterion: negative when a
// ranks first.
func (pol SurvivorPolicy) criterion(o string, a, b *cm.Contact) int {
	switch o {
	case "type":
		return cmp.Compare(pol.typeRank(b.Type), pol.typeRank(a.Type))
	case "complete":
		return cmp.Compare(completeness(b), completeness(a))
	case "oldest":
		return a.CreateDate.Compare(b.CreateDate)
	case "newest":
		return b.ModifyDate.Compare(a.ModifyDate)
	}
	return 0
}

// rank returns the policy's survivor and the steps that put every other
// member below it.
func rank(members []cm.Contact, pol SurvivorPolicy) (cm.Contact, []RuleStep) {
	ms := slices.Clone(members)
	slices.SortStableFunc(ms, func(a, b cm.Contact) int {
		for _, o := range pol.Order {
			if c := pol.criterion(o, &a, &b); c != 0 {
				return c
			}
		}
		return strings.Compare(a.ID, b.ID)
	})
	s := ms[0]
	over := map[string][]*cm.Contact{}
	for i := range ms[1:] {
		m := &ms[i+1]
		decided := "id"
		for _, o := range pol.Order {
			if pol.criterion(o, &s, m) != 0 {
				decided = o
				break
			}
		}
		over[decided] = append(over[decided], m)
	}
	var steps []RuleStep
	for _, o := range append(slices.Clone(pol.Order), "id") {
		beaten := over[o]
		if len(beaten) == 0 {
			continue
		}
		delete(over, o) // an order naming a criterion twice explains it once
		st := RuleStep{Rule: o, Text: ruleText(o, &s, beaten, pol)}
		for _, m := range beaten {
			st.Over = append(st.Over, m.ID)
		}
		steps = append(steps, st)
	}
	return s, steps
}

// ruleText says how criterion o puts s above the members beaten.
func ruleText(o string, s *cm.Contact, beaten []*cm.Contact, pol SurvivorPolicy) string {
	switch o {
	case "type":
		var types []string
		for _, m := range beaten {
			types = append(types, cmp.Or(m.Type, "no type"))
		}
		slices.SortStableFunc(types, func(a, b string) int { return cmp.Compare(pol.typeRank(b), pol.typeRank(a)) })
		return cmp.Or(s.Type, "no type") + " over " + strings.Join(slices.Compact(types), ", ")
	case "complete":
		lo, hi := completeness(beaten[0]), completeness(beaten[0])
		for _, m := range beaten[1:] {
			lo, hi = min(lo, completeness(m)), max(hi, completeness(m))
		}
		others := strconv.Itoa(lo)
		if hi != lo {
			others += "–" + strconv.Itoa(hi)
		}
		return fmt.Sprintf("most complete: %d fields over %s", completeness(s), others)
	case "oldest":
		return "oldest: created " + dateOr(s.CreateDate.Format("2006-01-02"), s.CreateDate.IsZero())
	case "newest":
		return "most recently modified: " + dateOr(s.ModifyDate.Format("2006-01-02"), s.ModifyDate.IsZero())
	}
	return "smallest id, tied on every other rule"
}

func dateOr(s string, zero bool) string {
	if zero {
		return "unknown date"
	}
	return s
}

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

// slotValue is one member's email or phone number, a candidate for a slot.
type slotValue struct {
	owner *cm.Contact
	slot  int // the member's slot
	text  string
	key   string // normalized; "" when not a valid value
	phone *cm.PhoneNumber
	to    int // the merged slot it got; -1 none
}

// place distributes slot values over the merged record's slots. cands
// come in priority order (taken values, the survivor's, the other members'
// in fill order). Values with equal keys are one value: the first is the
// candidate, the others are its duplicates. With pack, the first
// len(names) distinct values are kept; without, those whose own slot is
// free. A kept value goes to its own slot when that is free (in priority
// order), the others to the free slots, the last ("other") slot first.
func (b *builder) place(names []string, kind string, cands []*slotValue, invalid string) []*slotValue {
	slots := make([]*slotValue, len(names))
	first := map[string]*slotValue{}
	var distinct, dups []*slotValue
	for _, v := range cands {
		v.to = -1
		switch {
		case v.key == "":
			b.fate(v.owner, names[v.slot], v.text, FateUnkept, "", nil, invalid)
		case first[v.key] != nil:
			dups = append(dups, v)
		default:
			first[v.key] = v
			distinct = append(distinct, v)
		}
	}
	candidates := distinct
	if b.pol.PackContacts && len(candidates) > len(names) {
		candidates = candidates[:len(names)]
	}
	var deferred []*slotValue
	for _, v := range candidates {
		if slots[v.slot] == nil {
			slots[v.slot], v.to = v, v.slot
		} else if b.pol.PackContacts {
			deferred = append(deferred, v)
		}
	}
	free := func() int {
		if slots[len(slots)-1] == nil {
			return len(slots) - 1
		}
		return slices.Index(slots, nil)
	}
	for _, v := range deferred {
		if i := free(); i >= 0 {
			slots[i], v.to = v, i
		}
	}
	for _, v := range distinct {
		switch {
		case v.to == v.slot:
			b.fate(v.owner, names[v.slot], v.text, FateKept, names[v.slot], nil, "")
		case v.to >= 0:
			holder := slots[v.slot]
			b.fate(v.owner, names[v.slot], v.text, FateMoved, names[v.to], nil,
				fmt.Sprintf("%s holds %s's %s", names[v.slot], holder.owner.ID, names[holder.slot]))
		case b.pol.PackContacts:
			b.fate(v.owner, names[v.slot], v.text, FateUnkept, "", nil, "no free "+kind+" slot")
		default:
			b.fate(v.owner, names[v.slot], v.text, FateUnkept, "", nil, names[v.slot]+" is taken and packContacts is off")
		}
	}
	for _, v := range dups {
		k := first[v.key]
		if k.to < 0 {
			b.fate(v.owner, names[v.slot], v.text, FateUnkept, "", k.owner, "the same "+kind+" as "+k.owner.ID+"'s "+names[k.slot]+", which found no slot")
			continue
		}
		b.fate(v.owner, names[v.slot], v.text, FateDuplicate, names[k.to], k.owner, "")
	}
	return slots
}

// candidates lists the slot values of every member in priority order:
// values a reviewer took (by slot), then each member's in b.order.
func (b *builder) candidates(names []string, values func(*cm.Contact) []*slotValue) []*slotValue {
	var out []*slotValue
	for i, name := range names {
		if t := b.take[name]; t != nil {
			for _, v := range values(t) {
				if v.slot == i {
					out = append(out, v)
				}
			}
		}
	}
	for _, c := range b.order {
		for _, v := range values(c) {
			if !slices.ContainsFunc(out, func(o *slotValue) bool { return o.owner == v.owner && o.slot == v.slot }) {
				out = append(out, v)
			}
		}
	}
	return out
}

var emailFields = []string{"workEmail", "personalEmail", "otherEmail"}          //nolint:gochecknoglobals // immutable table
var phoneFields = []string{"workPhone", "cellPhone", "homePhone", "otherPhone"} //nolint:gochecknoglobals // immutable table

func (b *builder) emails() {
	vals := func(c *cm.Contact) []*slotValue {
		var out []*slotValue
		for i, e := range c.Emails() {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, &slotValue{owner: c, slot: i, text: e, key: b.nz.email(e)})
			}
		}
		return out
	}
	slots := b.place(emailFields, "email", b.candidates(emailFields, vals), "not an email address")
	var emails [3]string
	for i, v := range slots {
		if v != nil {
			emails[i] = v.text
		}
	}
	b.m.SetEmails(emails)
}

func (b *builder) phones() {
	vals := func(c *cm.Contact) []*slotValue {
		var out []*slotValue
		for i, p := range c.Phones() {
			if p == nil || phoneText(p) == "" {
				continue
			}
			k := b.nz.phone(p)
			out = append(out, &slotValue{owner: c, slot: i, text: phoneText(p), key: k, phone: p})
		}
		return out
	}
	slots := b.place(phoneFields, "phone", b.candidates(phoneFields, vals), "not a phone number")
	var phones [4]*cm.PhoneNumber
	for i, v := range slots {
		if v != nil {
			phones[i] = mergedPhone(v.phone, v.key)
		}
	}
	b.m.SetPhones(phones)
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
	keys := map[string]map[string]bool{} // field, or field\x00source/key → distinct values
	add := func(field, k string) {
		if k == "" {
			return
		}
		if keys[field] == nil {
			keys[field] = map[string]bool{}
		}
		keys[field][k] = true
	}
	fold := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
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
	disagree := map[string]bool{}
	for field, ks := range keys {
		if len(ks) > 1 {
			name, _, _ := strings.Cut(field, "\x00")
			disagree[name] = true
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

func ptrs(cs []cm.Contact) []*cm.Contact {
	out := make([]*cm.Contact, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	return out
}

// mergedPhone copies the writable fields of p; the display becomes the
// international format of its number (key, its E.164 form under the run's
// region) when it has one, so the platform reads it as that number whatever
// its normalizationCountryCode.
func mergedPhone(p *cm.PhoneNumber, key string) *cm.PhoneNumber {
	out := &cm.PhoneNumber{Display: p.Display, NormalizationCountryCode: p.NormalizationCountryCode}
	if p.Extension != nil {
		e := *p.Extension
		out.Extension = &e
	}
	if p.AcceptsSMS != nil {
		a := *p.AcceptsSMS
		out.AcceptsSMS = &a
	}
	e164 := p.E164
	if !isE164(e164) {
		e164 = key
	}
	if isE164(e164) {
		if num, err := phonenumbers.Parse(e164, ""); err == nil {
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
