package sandbox

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	cm "github.com/contactmerge/contactmerge"
)

// newPerson makes a person; c and last, when set, fix the city and the last
// name.
func (g *gen) newPerson(c *city, last string) *person {
	p := &person{}
	if c == nil {
		p.uk = g.chance(0.05)
		if p.uk {
			c = &g.uk[g.r.IntN(len(g.uk))]
		} else {
			c = &g.us[g.pick(len(g.us), 1.3)]
		}
	}
	p.uk = c.country == "GB"
	p.first = g.firsts[g.pick(len(g.firsts), 1.7)]
	if last != "" {
		p.last = last
	} else {
		p.last = g.lasts[g.pick(len(g.lasts), 1.5)]
	}
	if g.chance(0.25) {
		p.middle = string(rune('A' + g.r.IntN(26)))
	}
	p.division = g.divisions[0]
	if p.uk && g.chance(0.8) || !p.uk && g.chance(0.07) {
		p.division = g.divisions[1]
	}
	p.addr = g.address(c)
	if g.chance(0.9) {
		p.cell = g.phone(c, true)
	}
	if g.chance(0.35) {
		p.home = g.phone(c, false)
	}
	if g.chance(0.8) {
		p.personalEmail = g.email(p.first, p.last, g.domains[g.r.IntN(len(g.domains))])
	}
	if g.chance(0.2) {
		co := g.companies[g.r.IntN(len(g.companies))]
		p.workEmail = g.email(p.first, p.last, companyDomain(co))
		p.work = g.phone(c, false)
		p.title = g.titles[g.r.IntN(len(g.titles))]
	}
	if !g.cfg.NoIdentifiers {
		if g.chance(0.4) {
			g.crmCtr++
			p.crmID = "CRM-" + pad(g.crmCtr, 7)
		}
		if g.chance(0.3) {
			p.loyaltyID = "LY" + pad(int(g.r.Uint32()%100000000), 8)
		}
	}
	return p
}

func (g *gen) anyCity(uk bool) *city {
	if uk {
		return &g.uk[g.r.IntN(len(g.uk))]
	}
	return &g.us[g.r.IntN(len(g.us))]
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

func companyDomain(co string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(co) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String() + ".com"
}

func (g *gen) address(c *city) cm.Address {
	st := g.stypes[g.r.IntN(len(g.stypes))]
	a := cm.Address{
		Address1: strconv.Itoa(1+g.r.IntN(9899)) + " " + g.streets[g.r.IntN(len(g.streets))] + " " + st[0],
		City:     c.name,
		State:    c.state,
	}
	if c.country == "GB" {
		a.PostalCode = c.zip + " " + strconv.Itoa(1+g.r.IntN(9)) + string(rune('A'+g.r.IntN(26))) + string(rune('A'+g.r.IntN(26)))
		a.CountryCode = "GB"
	} else {
		a.PostalCode = c.zip + pad(g.r.IntN(100), 2)
		a.CountryCode = "US"
		if g.chance(0.15) {
			a.Address2 = "Apt " + strconv.Itoa(1+g.r.IntN(40))
		}
	}
	return a
}

// areaSeq numbers the subscriber numbers handed out under one prefix.
type areaSeq struct {
	ctr, off uint64
}

// nextSub returns the next subscriber index under prefix, in [0, space):
// the prefix's counter multiplied by a constant coprime with space (a
// permutation, so numbers never repeat) plus a random per-prefix offset, so
// that sequences look random and differ between prefixes.
func (g *gen) nextSub(prefix string, space uint64) uint64 {
	st := g.areaCtr[prefix]
	if st == nil {
		st = &areaSeq{off: g.r.Uint64N(space)}
		g.areaCtr[prefix] = st
	}
	mult := uint64(float64(space) * 0.6180339887)
	for gcd(mult, space) != 1 {
		mult++
	}
	v := (st.ctr*mult + st.off) % space
	st.ctr++
	return v
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// usExchanges lists the usable NXX exchanges: 200-999 minus N11, 555,
// 950, 958, 959 and 976.
func usExchanges() []uint16 {
	var out []uint16
	for n := uint16(200); n < 1000; n++ {
		if !(n%100 == 11 || n == 555 || n == 950 || n == 958 || n == 959 || n == 976) {
			out = append(out, n)
		}
	}
	return out
}

// phone returns a new distinct number in city c (a mobile when mobile and
// the city is in the UK). Distinctness comes from a per-prefix counter
// passed through a bijection of the subscriber space.
func (g *gen) phone(c *city, mobile bool) phoneNum {
	if c.country == "GB" {
		prefix := c.areaCodes[g.r.IntN(len(c.areaCodes))]
		if mobile {
			prefix = "77" + strconv.Itoa(1+g.r.IntN(7))
		}
		const space = 4000000 // first digit 2-5 (allocated in every prefix used), then 6 digits
		v := g.nextSub(prefix, space)
		sub := strconv.Itoa(int(2000000 + v))
		return phoneNum{"44", prefix + sub}
	}
	area := c.areaCodes[g.r.IntN(len(c.areaCodes))]
	if g.chance(0.1) {
		oc := g.us[g.r.IntN(len(g.us))]
		area = oc.areaCodes[g.r.IntN(len(oc.areaCodes))]
	}
	space := uint64(len(g.exch)) * 10000
	v := g.nextSub(area, space)
	exch := g.exch[v/10000]
	return phoneNum{"1", area + strconv.Itoa(int(exch)) + pad(int(v%10000), 4)}
}

// display formats p the way people type numbers; the platform rewrites an
// E.164 input to international format. broken formats do not parse.
func (g *gen) display(p phoneNum, allowBroken bool) cm.PhoneNumber {
	out := cm.PhoneNumber{}
	if p.cc == "44" {
		out.NormalizationCountryCode = "GB"
		nat := p.nat
		var area, rest string
		switch {
		case strings.HasPrefix(nat, "20"):
			area, rest = nat[:2], nat[2:6]+" "+nat[6:]
		case strings.HasPrefix(nat, "7"):
			area, rest = nat[:4], nat[4:]
		default:
			area, rest = nat[:3], nat[3:6]+" "+nat[6:]
		}
		switch g.r.IntN(4) {
		case 0:
			out.Display = "0" + area + " " + rest
		case 1:
			out.Display = "+44 " + area + " " + rest
		case 2:
			out.Display = "0" + nat
		default:
			out.UserInput = p.e164()
			out.Display = "+44 " + area + " " + rest
		}
	} else {
		a, x, l := p.nat[:3], p.nat[3:6], p.nat[6:]
		if allowBroken && g.chance(0.03) {
			out.Display = x + "-" + l // no area code: does not parse
			out.UserInput = out.Display
			return out
		}
		switch g.r.IntN(8) {
		case 0:
			out.Display = "(" + a + ") " + x + "-" + l
		case 1:
			out.Display = a + "-" + x + "-" + l
		case 2:
			out.Display = a + "." + x + "." + l
		case 3:
			out.Display = "+1 " + a + "-" + x + "-" + l
		case 4:
			out.UserInput = p.e164()
			out.Display = "+1 " + a + "-" + x + "-" + l
		case 5:
			out.Display = p.nat
		case 6:
			out.Display = "1-" + a + "-" + x + "-" + l
		default:
			out.Display = a + " " + x + " " + l
		}
	}
	if out.UserInput == "" {
		out.UserInput = out.Display
	}
	out.E164 = p.e164()
	if p.cc == "44" {
		out.CountryCode = "GB"
	} else {
		out.CountryCode = "US"
	}
	return out
}

// email returns a distinct email address for first/last at domain.
func (g *gen) email(first, last, domain string) string {
	f := asciiLower(first)
	l := asciiLower(last)
	var local string
	switch g.r.IntN(6) {
	case 0, 1:
		local = f + "." + l
	case 2:
		local = f + l
	case 3:
		local = f[:1] + l
	case 4:
		local = f + "_" + l
	default:
		local = l + "." + f
	}
	if g.chance(0.4) {
		local += strconv.Itoa(g.r.IntN(100))
	}
	e := local + "@" + domain
	for i := 2; ; i++ {
		if _, used := g.usedEmail[e]; !used {
			break
		}
		e = local + strconv.Itoa(i) + "@" + domain
	}
	g.usedEmail[e] = struct{}{}
	return e
}

func asciiLower(s string) string {
	var b strings.Builder
	for _, r := range s {
		r = unicode.ToLower(r)
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// dates returns a createDate/modifyDate pair spread over six years.
func (g *gen) dates() (time.Time, time.Time) {
	span := int64(6 * 365 * 24 * time.Hour)
	created := g.epoch.Add(-time.Duration(g.r.Int64N(span)))
	modified := created.Add(time.Duration(g.r.Int64N(int64(g.epoch.Sub(created)) + 1)))
	return created.Truncate(time.Millisecond), modified.Truncate(time.Millisecond)
}

func (g *gen) newID() string { return newUUID(g.r) }

// emit appends the master record of p (variant = false) or a variation of
// it, and returns its id.
func (g *gen) emit(p *person, typ string, variant bool) string {
	c := cm.Contact{ID: g.newID(), Division: p.division, Type: typ}
	c.CreateDate, c.ModifyDate = g.dates()
	if typ == cm.TypeEphemeral {
		g.out = append(g.out, c)
		return c.ID
	}
	c.FirstName, c.MiddleName, c.LastName = p.first, p.middle, p.last
	c.Title = p.title
	var cell, home, work *cm.PhoneNumber
	if p.cell.nat != "" {
		cell = g.phoneRec(g.display(p.cell, true))
	}
	if p.home.nat != "" {
		home = g.phoneRec(g.display(p.home, true))
	}
	if p.work.nat != "" {
		d := g.display(p.work, false)
		if p.workExt > 0 {
			ext := p.workExt
			d.Extension = &ext
		}
		work = g.phoneRec(d)
	}
	pe, we := p.personalEmail, p.workEmail
	addr := p.addr
	hasAddr := g.chance(0.75)
	crm, loyalty := p.crmID, p.loyaltyID
	if variant {
		c.FirstName, c.MiddleName, c.LastName = g.varyName(p)
		pe, we = g.varyEmail(pe), g.varyEmail(we)
		if g.chance(0.15) {
			cell = nil
		}
		if g.chance(0.5) {
			home = nil
		}
		if cell != nil && g.chance(0.1) {
			// The cell number typed into the other slot.
			c.OtherPhone, cell = cell, nil
		}
		switch u := g.r.Float64(); {
		case u < 0.15:
			// Moved house (possibly to another city) since the other record.
			addr = g.address(g.anyCity(p.uk))
		case u < 0.3:
			addr.Address1 = abbreviate(addr.Address1, g.stypes)
		case u < 0.4:
			addr.PostalCode = ""
		}
		if crm != "" && g.chance(0.25) {
			crm = ""
		}
		if loyalty != "" && g.chance(0.3) {
			loyalty = ""
		}
		switch g.src {
		case srcCSV:
			// A spreadsheet has no CRM record id, and often shouts.
			crm = ""
			if g.chance(0.15) {
				c.FirstName, c.LastName = strings.ToUpper(c.FirstName), strings.ToUpper(c.LastName)
			}
		case srcCRM:
			// Its own CRM record id, set below: none in common.
			crm = ""
		}
		// Keep at least one identifier in common with the person.
		if cell == nil && c.OtherPhone == nil && home == nil && pe == "" && we == "" && crm == "" && loyalty == "" {
			if p.cell.nat != "" {
				cell = g.phoneRec(g.display(p.cell, false))
			} else if p.personalEmail != "" {
				pe = p.personalEmail
			} else {
				hasAddr, addr = true, p.addr
			}
		}
		if g.src == srcCRM && !g.cfg.NoIdentifiers {
			g.crmCtr++
			crm = "CRM-" + pad(g.crmCtr, 7)
		}
	}
	if typ == cm.TypeIdentified {
		// Created automatically from an interaction: a name and one channel.
		c.MiddleName, c.Title = "", ""
		home, work, we, hasAddr = nil, nil, "", false
		if cell != nil && pe != "" && g.chance(0.5) {
			pe = ""
		}
	}
	c.CellPhone, c.HomePhone, c.WorkPhone = cell, home, work
	c.PersonalEmail, c.WorkEmail = pe, we
	if hasAddr && addr.Address1 != "" {
		if len(g.adSlab) == 0 {
			g.adSlab = make([]cm.Address, 1024)
		}
		g.adSlab[0] = addr
		c.Address = &g.adSlab[0]
		g.adSlab = g.adSlab[1:]
	}
	if crm != "" {
		if len(g.xSlab) == 0 {
			g.xSlab = make([]cm.ExternalID, 1024)
		}
		g.xSlab[0] = cm.ExternalID{ExternalSource: g.crm, Value: crm}
		c.ExternalIDs = g.xSlab[0:1:1]
		g.xSlab = g.xSlab[1:]
	}
	if loyalty != "" {
		c.Schema = g.schema
		c.CustomFields = map[string]any{"loyaltyId": loyalty}
	}
	g.out = append(g.out, c)
	return c.ID
}

// phoneRec stores p in the phone slab and returns its address.
func (g *gen) phoneRec(p cm.PhoneNumber) *cm.PhoneNumber {
	if len(g.phSlab) == 0 {
		g.phSlab = make([]cm.PhoneNumber, 1024)
	}
	g.phSlab[0] = p
	r := &g.phSlab[0]
	g.phSlab = g.phSlab[1:]
	return r
}

// varyName returns the person's name as another agent or system typed it.
func (g *gen) varyName(p *person) (first, middle, last string) {
	first, middle, last = p.first, p.middle, p.last
	if n := g.nicks[first]; len(n) > 0 && g.chance(0.25) {
		first = n[g.r.IntN(len(n))]
	}
	if g.chance(0.1) {
		first = g.typo(first)
	}
	if g.chance(0.1) {
		last = g.typo(last)
	}
	switch u := g.r.Float64(); {
	case u < 0.06:
		first, last = strings.ToUpper(first), strings.ToUpper(last)
	case u < 0.1:
		first, last = strings.ToLower(first), strings.ToLower(last)
	}
	if g.chance(0.3) {
		middle = ""
	}
	if g.chance(0.03) {
		first = ""
	}
	return first, middle, last
}

// typo transposes two adjacent letters, drops one or doubles one.
func (g *gen) typo(s string) string {
	r := []rune(s)
	if len(r) < 4 {
		return s
	}
	i := 1 + g.r.IntN(len(r)-2)
	switch g.r.IntN(3) {
	case 0:
		r[i], r[i+1] = r[i+1], r[i]
	case 1:
		r = slices.Delete(r, i, i+1)
	default:
		r = slices.Insert(r, i, r[i])
	}
	return string(r)
}

// varyEmail changes the case, gmail dots or +tag of an address, or drops it.
func (g *gen) varyEmail(e string) string {
	if e == "" || g.chance(0.2) {
		return ""
	}
	local, domain, _ := strings.Cut(e, "@")
	if domain == "gmail.com" {
		if g.chance(0.2) {
			if strings.Contains(local, ".") {
				local = strings.ReplaceAll(local, ".", "")
			} else if len(local) > 3 {
				k := 1 + g.r.IntN(len(local)-2)
				local = local[:k] + "." + local[k:]
			}
		}
		if g.chance(0.12) {
			local += "+" + []string{"shop", "news", "orders", "support"}[g.r.IntN(4)]
		}
	}
	if g.chance(0.2) {
		local = strings.ToUpper(local[:1]) + local[1:]
		domain = strings.ToUpper(domain[:1]) + domain[1:]
	}
	return local + "@" + domain
}

// abbreviate swaps "Street" for "St" (and back) in an address line.
func abbreviate(line string, types [][2]string) string {
	for _, t := range types {
		if strings.HasSuffix(line, " "+t[0]) {
			return strings.TrimSuffix(line, t[0]) + t[1] + "."
		}
		if strings.HasSuffix(line, " "+t[1]) {
			return strings.TrimSuffix(line, t[1]) + t[0]
		}
	}
	return line
}
