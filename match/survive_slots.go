package match

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"

	cm "github.com/contactmerge/contactmerge"
)

// Email and phone slots of the merged record: each value keeps its own slot
// kind where that slot is free, the rest are packed into free slots.

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
	if intl, ok := internationalNANP(e164); ok {
		out.Display = intl
	} else if isE164(e164) {
		if num, err := phonenumbers.Parse(e164, ""); err == nil {
			out.Display = phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
		}
	}
	if out.Display == "" {
		out.Display = p.UserInput
	}
	return out
}

// internationalNANP returns the international format phonenumbers gives a
// North American (+1) E.164 number of ten national digits whose area code
// starts with 2-9, "+1 201-555-0123", without parsing it (parsing costs
// ~20 µs, most of survivorship's time); ok is false for any other number,
// which mergedPhone parses. Checked against phonenumbers for every area
// code and exchange (TestInternationalNANP samples them).
func internationalNANP(e164 string) (string, bool) {
	if len(e164) != 12 || e164[0] != '+' || e164[1] != '1' || e164[2] < '2' || e164[2] > '9' {
		return "", false
	}
	for i := 3; i < len(e164); i++ {
		if e164[i] < '0' || e164[i] > '9' {
			return "", false
		}
	}
	return "+1 " + e164[2:5] + "-" + e164[5:8] + "-" + e164[8:], true
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
