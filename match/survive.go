package match

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

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
