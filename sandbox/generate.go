package sandbox

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	cm "github.com/contactmerge/contactmerge"
)

// GenConfig configures Generate.
type GenConfig struct {
	// Contacts is the number of contacts to generate.
	Contacts int
	// Seed makes the output deterministic: the same config gives the same
	// organization.
	Seed int64
	// DupRate is the fraction of contacts that belong to a duplicate
	// cluster (default 0.2 when zero; negative = no duplicates).
	DupRate float64
	// ActivityRate is the fraction of contacts with an active conversation
	// or an open case (default 0).
	ActivityRate float64
	// NoIdentifiers omits custom fields (customFields.loyaltyId) and
	// external ids (externalIds with source "crm").
	NoIdentifiers bool
}

// Org is a generated organization: its contacts, the ground-truth duplicate
// clusters and the contacts' activity.
type Org struct {
	Contacts []cm.Contact
	// Truth lists the duplicate clusters: sorted contact ids, size ≥ 2.
	Truth [][]string
	// Activity holds conversations (active and ended) and cases (open and
	// closed), dated just before GenEpoch.
	Activity []Activity
}

// GenEpoch is the generator's "now": record dates spread over the six years
// before it and activity happens just before it. The sandbox shifts
// generated activity to its own clock.
func GenEpoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// phoneNum is a generated phone number: country calling code and national
// significant number.
type phoneNum struct {
	cc, nat string
}

func (p phoneNum) e164() string { return "+" + p.cc + p.nat }

// person is one real-world customer; each of their records derives from it.
type person struct {
	first, middle, last string
	personalEmail       string
	workEmail           string
	cell, home, work    phoneNum
	workExt             int
	addr                cm.Address
	title               string
	crmID, loyaltyID    string
	uk                  bool
	division            *cm.Ref
}

// gen holds the generator's state.
type gen struct {
	r         *rand.Rand
	cfg       GenConfig
	epoch     time.Time
	firsts    []string
	lasts     []string
	nicks     map[string][]string
	us, uk    []city
	streets   []string
	stypes    [][2]string
	companies []string
	domains   []string
	titles    []string
	divisions [2]*cm.Ref
	crm       *cm.ExternalSource
	schema    *cm.Schema
	areaCtr   map[string]*areaSeq
	exch      []uint16
	usedEmail map[string]struct{}
	crmCtr    int
	phSlab    []cm.PhoneNumber // records' phones and addresses are cut from
	adSlab    []cm.Address     // slabs: fewer, larger allocations
	xSlab     []cm.ExternalID
	out       []cm.Contact
	truth     [][]string
}

// Generate builds a synthetic contact-center organization with known
// duplicate clusters: typos, nicknames, reformatted phones, email case, dots
// and +tags, moved addresses and missing fields; and look-alikes that are not
// duplicates: family members sharing a home phone and address, people with
// common names in the same city, and company switchboard numbers shared by
// many contacts. It is deterministic for a config.
func Generate(cfg GenConfig) Org {
	if cfg.DupRate == 0 {
		cfg.DupRate = 0.2
	}
	if cfg.DupRate < 0 {
		cfg.DupRate = 0
	}
	cfg.DupRate = min(cfg.DupRate, 1)
	seed := uint64(cfg.Seed)
	g := &gen{
		r:         rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		cfg:       cfg,
		epoch:     GenEpoch(),
		firsts:    firstNames(),
		lasts:     lastNames(),
		nicks:     nicknames(),
		us:        usCities(),
		uk:        ukCities(),
		streets:   streetNames(),
		stypes:    streetTypes(),
		companies: companies(),
		domains:   emailDomains(),
		titles:    titles(),
		areaCtr:   map[string]*areaSeq{},
		exch:      usExchanges(),
		usedEmail: make(map[string]struct{}, cfg.Contacts),
		out:       make([]cm.Contact, 0, cfg.Contacts),
	}
	idr := rand.New(rand.NewPCG(seed, 0xd1d))
	g.divisions[0] = &cm.Ref{ID: newUUID(idr), Name: "Home", SelfURI: ""}
	g.divisions[1] = &cm.Ref{ID: newUUID(idr), Name: "EMEA Support"}
	for _, d := range g.divisions {
		d.SelfURI = "/api/v2/authorization/divisions/" + d.ID
	}
	g.crm = &cm.ExternalSource{ID: newUUID(idr), Name: "crm"}
	g.schema = &cm.Schema{ID: newUUID(idr), Name: "contact-loyalty", Version: 1}
	g.schema.SelfURI = "/api/v2/externalcontacts/contacts/schemas/" + g.schema.ID + "/versions/1"
	g.run()
	org := Org{Contacts: g.out, Truth: g.truth}
	org.Activity = g.activity()
	return org
}

// unit kinds of the generation plan.
const (
	uSingle = iota
	uCluster
	uFamily
	uNamesake
	uSwitchboard
)

// run plans the units (clusters, families, namesakes, switchboards, singles)
// for exactly cfg.Contacts records, shuffles them and generates them.
func (g *gen) run() {
	n := g.cfg.Contacts
	if n <= 0 {
		return
	}
	type unit struct{ kind, size int }
	var units []unit
	left := n
	take := func(kind, size int) {
		size = min(size, left)
		if size <= 0 {
			return
		}
		if size == 1 && kind != uSingle {
			kind = uSingle
		}
		units = append(units, unit{kind, size})
		left -= size
	}
	// Duplicate clusters.
	dup := int(math.Round(float64(n) * g.cfg.DupRate))
	for dup >= 2 && left >= 2 {
		size := 2
		switch u := g.r.Float64(); {
		case u < 0.65:
		case u < 0.85:
			size = 3
		case u < 0.95:
			size = 4
		default:
			size = 5 + g.r.IntN(4)
		}
		size = min(size, dup)
		if dup-size == 1 {
			size++
		}
		take(uCluster, size)
		dup -= size
	}
	// Switchboards: one company number shared by many contacts.
	if n >= 200 {
		sw := max(5, n/100)
		for sw > 0 && left > 0 {
			size := min(sw, 150+g.r.IntN(250))
			take(uSwitchboard, size)
			sw -= size
		}
	}
	// Families sharing a home phone and an address.
	for fam := n * 6 / 100; fam >= 2 && left >= 2; {
		size := 2 + g.r.IntN(3)
		take(uFamily, size)
		fam -= size
	}
	// Namesakes: different people with a common name in the same city.
	for ns := n * 3 / 100; ns >= 2 && left >= 2; {
		take(uNamesake, 2)
		ns -= 2
	}
	for left > 0 {
		take(uSingle, 1)
	}
	g.r.Shuffle(len(units), func(i, j int) { units[i], units[j] = units[j], units[i] })
	for _, u := range units {
		switch u.kind {
		case uSingle:
			p := g.newPerson(nil, "")
			g.emit(p, g.singleType(), false)
		case uCluster:
			g.cluster(u.size)
		case uFamily:
			g.family(u.size)
		case uNamesake:
			g.namesakes(u.size)
		case uSwitchboard:
			g.switchboard(u.size)
		}
	}
}

func (g *gen) singleType() string {
	switch u := g.r.Float64(); {
	case u < 0.88:
		return cm.TypeCurated
	case u < 0.97:
		return cm.TypeIdentified
	}
	return cm.TypeEphemeral
}

// pick returns an index into a list of n, favouring the start (common names).
func (g *gen) pick(n int, skew float64) int {
	return min(n-1, int(float64(n)*math.Pow(g.r.Float64(), skew)))
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

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

// cluster emits size records of one person and records the truth.
func (g *gen) cluster(size int) {
	p := g.newPerson(nil, "")
	ids := make([]string, 0, size)
	ids = append(ids, g.emit(p, cm.TypeCurated, false))
	for range size - 1 {
		typ := cm.TypeCurated
		if g.chance(0.2) {
			typ = cm.TypeIdentified
		}
		ids = append(ids, g.emit(p, typ, true))
	}
	slices.Sort(ids)
	g.truth = append(g.truth, ids)
}

// family emits size people with one last name, home phone and address.
func (g *gen) family(size int) {
	head := g.newPerson(nil, "")
	if head.home.nat == "" {
		head.home = g.phone(g.cityOf(head), false)
	}
	used := map[string]bool{head.first: true}
	g.emit(head, cm.TypeCurated, false)
	for range size - 1 {
		m := g.newPerson(g.cityOf(head), head.last)
		for used[m.first] {
			m.first = g.firsts[g.r.IntN(len(g.firsts))]
		}
		used[m.first] = true
		m.home, m.addr, m.division, m.uk = head.home, head.addr, head.division, head.uk
		g.emit(m, cm.TypeCurated, false)
	}
}

func (g *gen) cityOf(p *person) *city {
	for _, list := range [][]city{g.us, g.uk} {
		for i := range list {
			if list[i].name == p.addr.City {
				return &list[i]
			}
		}
	}
	return &g.us[0]
}

// namesakes emits different people sharing a common name and city.
func (g *gen) namesakes(size int) {
	c := &g.us[g.r.IntN(5)]
	first := g.firsts[g.r.IntN(10)]
	last := g.lasts[g.r.IntN(10)]
	for range size {
		p := g.newPerson(c, last)
		p.first = first
		g.emit(p, cm.TypeCurated, false)
	}
}

// switchboard emits size employees of one company who all list its main
// number as their work phone.
func (g *gen) switchboard(size int) {
	c := &g.us[g.r.IntN(len(g.us))]
	co := g.companies[g.r.IntN(len(g.companies))]
	main := g.phone(c, false)
	addr := g.address(c)
	for range size {
		p := g.newPerson(c, "")
		p.work = main
		p.workExt = 0
		if g.chance(0.5) {
			p.workExt = 100 + g.r.IntN(900)
		}
		p.workEmail = g.email(p.first, p.last, companyDomain(co))
		p.title = g.titles[g.r.IntN(len(g.titles))]
		if g.chance(0.6) {
			p.cell = phoneNum{}
		}
		if g.chance(0.7) {
			p.personalEmail = ""
		}
		p.addr = addr
		g.emit(p, cm.TypeCurated, false)
	}
}

// activity generates conversations and cases: ActivityRate of the contacts
// get an active conversation (85%) or an open case (15%); as many again get
// ended conversations or closed cases.
func (g *gen) activity() []Activity {
	rate := g.cfg.ActivityRate
	if rate <= 0 || len(g.out) == 0 {
		return nil
	}
	var acts []Activity
	r := rand.New(rand.NewPCG(uint64(g.cfg.Seed), 0xac7))
	for i := range g.out {
		c := &g.out[i]
		u := r.Float64()
		switch {
		case u < rate:
			if r.Float64() < 0.85 {
				start := g.epoch.Add(-time.Duration(r.Int64N(int64(2 * time.Hour))))
				acts = append(acts, Activity{ExternalContactID: c.ID, ConversationID: newUUID(r), Start: start})
			} else {
				acts = append(acts, Activity{ExternalContactID: c.ID, CaseID: newUUID(r), Status: []string{"Open", "InProgress"}[r.IntN(2)]})
			}
		case u < 2*rate:
			if r.Float64() < 0.8 {
				start := g.epoch.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour))))
				end := start.Add(time.Minute + time.Duration(r.Int64N(int64(time.Hour))))
				acts = append(acts, Activity{ExternalContactID: c.ID, ConversationID: newUUID(r), Start: start, End: end})
			} else {
				acts = append(acts, Activity{ExternalContactID: c.ID, CaseID: newUUID(r), Status: "Closed"})
			}
		}
	}
	return acts
}
