package restore

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// Removal is one value the restore takes off the canonical contact.
type Removal struct {
	Member string `json:"memberId"` // the restored member it came from
	Field  string `json:"field"`
	Value  string `json:"value"`
	// Replacement is what the field holds afterwards: the value of the most
	// recently modified staying member, or "" (the field is emptied).
	Replacement string `json:"replacement,omitempty"`
}

// Conflict is a field the restore would change that was edited after the
// merge: the canonical contact as contactmerge last knew it (AsMerged)
// differs from the one read now (Now). It is never overwritten.
type Conflict struct {
	Member   string `json:"memberId"`
	Field    string `json:"field"`
	Value    string `json:"value"` // the member's value
	AsMerged string `json:"asMerged"`
	Now      string `json:"now"`
}

// String describes c in one line.
func (c Conflict) String() string {
	return fmt.Sprintf("%s: the member's %q; after the merge %q, now %q (edited since)", c.Field, c.Value, show(c.AsMerged), show(c.Now))
}

func show(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}

// single is a single-valued field: its comparison key and display of a
// contact, and how to copy it from one contact to another.
type single struct {
	name string
	key  func(*cm.Contact) string
	disp func(*cm.Contact) string
	copy func(dst, src *cm.Contact) // src nil: clear
}

func textSingle(name string, p func(*cm.Contact) *string) single {
	return single{name: name,
		key:  func(c *cm.Contact) string { return strings.ToLower(strings.TrimSpace(*p(c))) },
		disp: func(c *cm.Contact) string { return *p(c) },
		copy: func(dst, src *cm.Contact) {
			if src == nil {
				*p(dst) = ""
				return
			}
			*p(dst) = *p(src)
		}}
}

func singles() []single {
	addrKey := func(c *cm.Contact) string {
		if c.Address.IsZero() {
			return ""
		}
		a := c.Address
		return strings.ToLower(strings.Join([]string{a.Address1, a.Address2, a.City, a.State, a.PostalCode, a.CountryCode}, "|"))
	}
	return []single{
		textSingle("firstName", func(c *cm.Contact) *string { return &c.FirstName }),
		textSingle("middleName", func(c *cm.Contact) *string { return &c.MiddleName }),
		textSingle("lastName", func(c *cm.Contact) *string { return &c.LastName }),
		textSingle("salutation", func(c *cm.Contact) *string { return &c.Salutation }),
		textSingle("title", func(c *cm.Contact) *string { return &c.Title }),
		textSingle("externalSystemUrl", func(c *cm.Contact) *string { return &c.ExternalSystemURL }),
		{name: "address", key: addrKey,
			disp: func(c *cm.Contact) string {
				if c.Address.IsZero() {
					return ""
				}
				a := c.Address
				var parts []string
				for _, p := range []string{a.Address1, a.Address2, a.City, a.State, a.PostalCode, a.CountryCode} {
					if p != "" {
						parts = append(parts, p)
					}
				}
				return strings.Join(parts, ", ")
			},
			copy: func(dst, src *cm.Contact) {
				if src == nil || src.Address.IsZero() {
					dst.Address = nil
					return
				}
				a := *src.Address
				dst.Address = &a
			}},
	}
}

func phoneKey(p *cm.PhoneNumber) string {
	if p == nil {
		return ""
	}
	if p.E164 != "" {
		return p.E164
	}
	var b strings.Builder
	for _, r := range p.Display {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func phoneName(k int) string {
	return [4]string{"workPhone", "cellPhone", "homePhone", "otherPhone"}[k]
}

func emailName(k int) string { return [3]string{"workEmail", "personalEmail", "otherEmail"}[k] }

func extKey(x cm.ExternalID) string { return strings.ToLower(x.SourceName()) + "|" + x.Value }

func extDisp(x cm.ExternalID) string { return x.SourceName() + ":" + x.Value }

func jsonKey(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// diff computes what removing the values only the restored members had
// does to current, the canonical contact read now. restored are the
// before-images of the members restored now, staying those of the members
// that stay merged (most recently modified first), baseline the canonical
// contact as contactmerge last knew it. It returns the removals (with
// their effect applied to a copy of current, target) and the conflicts.
func diff(restored, staying []cm.Contact, baseline, current *cm.Contact) ([]Removal, []Conflict, *cm.Contact) {
	target := clone(current)
	var rems []Removal
	var confs []Conflict
	conflict := func(m, field, v, merged, now string) {
		confs = append(confs, Conflict{Member: m, Field: field, Value: v, AsMerged: merged, Now: now})
	}
	for _, f := range singles() {
		var repl *cm.Contact
		for i := range staying {
			if f.key(&staying[i]) != "" {
				repl = &staying[i]
				break
			}
		}
		replKey := ""
		if repl != nil {
			replKey = f.key(repl)
		}
		for i := range restored {
			m := &restored[i]
			v := f.key(m)
			if v == "" || slices.ContainsFunc(staying, func(s cm.Contact) bool { return f.key(&s) == v }) {
				continue
			}
			baseHas, curHas := f.key(baseline) == v, f.key(current) == v
			switch {
			case curHas && baseHas:
				r := Removal{Member: m.ID, Field: f.name, Value: f.disp(m)}
				if repl != nil {
					r.Replacement = f.disp(repl)
				}
				f.copy(target, repl)
				rems = append(rems, r)
			case curHas:
				conflict(m.ID, f.name, f.disp(m), f.disp(baseline), f.disp(current))
			case baseHas && f.key(current) != replKey:
				conflict(m.ID, f.name, f.disp(m), f.disp(baseline), f.disp(current))
			}
		}
	}
	// Phones and emails: a value may sit in any slot (merges move them).
	stayPhones, stayEmails := map[string]bool{}, map[string]bool{}
	for i := range staying {
		for _, p := range staying[i].Phones() {
			if k := phoneKey(p); k != "" {
				stayPhones[k] = true
			}
		}
		for _, e := range staying[i].Emails() {
			if e != "" {
				stayEmails[strings.ToLower(e)] = true
			}
		}
	}
	for i := range restored {
		m := &restored[i]
		for _, mp := range m.Phones() {
			v := phoneKey(mp)
			if v == "" || stayPhones[v] {
				continue
			}
			bp, cp, tp := baseline.Phones(), current.Phones(), target.Phones()
			for k := range 4 {
				baseHas, curHas := phoneKey(bp[k]) == v, phoneKey(cp[k]) == v
				switch {
				case curHas && baseHas:
					tp[k] = nil
					rems = append(rems, Removal{Member: m.ID, Field: phoneName(k), Value: mp.String()})
				case curHas || baseHas && cp[k] != nil:
					conflict(m.ID, phoneName(k), mp.String(), bp[k].String(), cp[k].String())
				}
			}
			target.SetPhones(tp)
		}
		for _, me := range m.Emails() {
			v := strings.ToLower(me)
			if v == "" || stayEmails[v] {
				continue
			}
			be, ce, te := baseline.Emails(), current.Emails(), target.Emails()
			for k := range 3 {
				baseHas, curHas := strings.ToLower(be[k]) == v, strings.ToLower(ce[k]) == v
				switch {
				case curHas && baseHas:
					te[k] = ""
					rems = append(rems, Removal{Member: m.ID, Field: emailName(k), Value: me})
				case curHas || baseHas && ce[k] != "":
					conflict(m.ID, emailName(k), me, be[k], ce[k])
				}
			}
			target.SetEmails(te)
		}
	}
	// External ids: a set.
	stayExt := map[string]bool{}
	for i := range staying {
		for _, x := range staying[i].ExternalIDs {
			stayExt[extKey(x)] = true
		}
	}
	has := func(c *cm.Contact, k string) bool {
		return slices.ContainsFunc(c.ExternalIDs, func(x cm.ExternalID) bool { return extKey(x) == k })
	}
	for i := range restored {
		m := &restored[i]
		for _, x := range m.ExternalIDs {
			k := extKey(x)
			if stayExt[k] || x.SourceName() == MarkerSource {
				continue
			}
			baseHas, curHas := has(baseline, k), has(current, k)
			switch {
			case curHas && baseHas:
				target.ExternalIDs = slices.DeleteFunc(target.ExternalIDs, func(y cm.ExternalID) bool { return extKey(y) == k })
				rems = append(rems, Removal{Member: m.ID, Field: "externalIds", Value: extDisp(x)})
			case curHas:
				conflict(m.ID, "externalIds", extDisp(x), "(absent)", extDisp(x))
			}
		}
	}
	// Custom fields: one value per name.
	for i := range restored {
		m := &restored[i]
		for _, name := range slices.Sorted(maps.Keys(m.CustomFields)) {
			v := jsonKey(m.CustomFields[name])
			var repl any
			found := false
			shared := false
			for j := range staying {
				sv, ok := staying[j].CustomFields[name]
				if !ok {
					continue
				}
				if jsonKey(sv) == v {
					shared = true
					break
				}
				if !found {
					repl, found = sv, true
				}
			}
			if shared {
				continue
			}
			field := "customFields." + name
			bv, bok := baseline.CustomFields[name]
			cv, cok := current.CustomFields[name]
			baseHas, curHas := bok && jsonKey(bv) == v, cok && jsonKey(cv) == v
			curIsTarget := found && cok && jsonKey(cv) == jsonKey(repl) || !found && !cok
			disp := func(x any, ok bool) string {
				if !ok {
					return ""
				}
				return jsonKey(x)
			}
			switch {
			case curHas && baseHas:
				r := Removal{Member: m.ID, Field: field, Value: v}
				if found {
					r.Replacement = jsonKey(repl)
					target.CustomFields[name] = repl
				} else {
					delete(target.CustomFields, name)
				}
				rems = append(rems, r)
			case curHas, baseHas && !curIsTarget:
				conflict(m.ID, field, v, disp(bv, bok), disp(cv, cok))
			}
		}
	}
	if len(target.CustomFields) == 0 {
		target.CustomFields = nil
	}
	return rems, confs, target
}

// clone returns a deep copy of c.
func clone(c *cm.Contact) *cm.Contact {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // a decoded contact always encodes
	}
	var out cm.Contact
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}
