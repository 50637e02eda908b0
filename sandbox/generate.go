package sandbox

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

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
	// CuratedDuplicates builds the organization a real tenant's scan shows,
	// where automatically created contacts are hidden: Contacts counts the
	// Curated records, and every duplicate cluster and look-alike (families,
	// namesakes, switchboards) is among them. A cluster's other records are
	// the customer imported again from a spreadsheet (no external id, the
	// name and phones retyped) or synced again from a CRM under another
	// record id (a different externalIds value), besides the typos,
	// nicknames and reformatted values of every variant. On top of these
	// come Identified and Ephemeral records, about 12% of Contacts, as the
	// platform creates them from interactions; some are Identified records
	// of a clustered customer, so Truth holds them with the cluster's
	// Curated records. Default false: Contacts counts every record, and
	// singles and cluster variants are Curated, Identified or Ephemeral.
	CuratedDuplicates bool
	// History adds the ended conversations of the last 62 days before
	// GenEpoch to Activity, each naming its customer's contact id (see
	// history): every auto-created contact has at least one, as the
	// platform created it from an interaction. It changes no contact and
	// no other activity of the seed. Default false.
	History bool
}

// autoCreatedRate is the part of Contacts added as auto-created records
// with CuratedDuplicates.
const autoCreatedRate = 0.12

// Org is a generated organization: its contacts, the ground-truth duplicate
// clusters and the contacts' activity.
type Org struct {
	Contacts []cm.Contact
	// Truth lists the duplicate clusters: sorted contact ids, size ≥ 2 (with
	// CuratedDuplicates they include auto-created members, which a scan does
	// not list).
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
	rareNicks map[string][]string // nicknames no common table lists
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
	src       recordSource // where the next variant record comes from
	autoExtra int          // auto-created records added (CuratedDuplicates)
}

// recordSource is how a variant record of a customer came to exist.
type recordSource int

const (
	// srcAgent: typed again by an agent or another system (typos,
	// nicknames, reformatted phones, dropped fields).
	srcAgent recordSource = iota
	// srcCSV: imported again from a spreadsheet: no external id.
	srcCSV
	// srcCRM: synced again from a CRM record of its own: another external
	// id value.
	srcCRM
)

// Generate builds a synthetic contact-center organization with known
// duplicate clusters: typos, nicknames, reformatted phones, email case, dots
// and +tags, moved addresses and missing fields, records re-imported from a
// spreadsheet (no external id) or re-synced from a CRM under another
// external id, and names retyped past recognition (see retype: swapped
// given and family names, an initial, a nickname no table lists, two
// typos, another given name); and look-alikes that are not duplicates:
// family members sharing a home phone and address, people with common
// names in the same city, and company switchboard numbers shared by many
// contacts. Two different people never share a mailbox, also under Gmail's
// rules (dots and +tags ignored). It is deterministic for a config.
func Generate(cfg GenConfig) Org {
	g := newGen(cfg)
	// Sized for every record run makes (the auto-created ones too): growing
	// it would copy the organization, with both copies live.
	g.out = make([]cm.Contact, 0, g.records())
	g.run()
	g.distinctMailboxes()
	org := Org{Contacts: g.out, Truth: g.truth}
	org.Activity = g.activity()
	org.Activity = append(org.Activity, g.history()...)
	return org
}

// records returns how many records run generates: cfg.Contacts, and the
// auto-created records past them (autoCreated).
func (g *gen) records() int {
	n := max(g.cfg.Contacts, 0)
	if g.cfg.CuratedDuplicates && n > 0 {
		n += int(math.Round(float64(n) * autoCreatedRate))
	}
	return n
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
// for exactly cfg.Contacts records, shuffles them and generates them, then
// the auto-created records (GenerateStream does the same piece by piece).
func (g *gen) run() {
	for _, u := range g.plan() {
		g.unit(u)
	}
	g.autoCreated()
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

// cluster emits size records of one person and records the truth.
func (g *gen) cluster(size int) {
	p := g.newPerson(nil, "")
	ids := make([]string, 0, size)
	ids = append(ids, g.emit(p, cm.TypeCurated, false))
	for range size - 1 {
		if g.cfg.CuratedDuplicates {
			g.src = srcAgent
			switch u := g.r.Float64(); {
			case u < 0.4:
				g.src = srcCSV
			case u < 0.75:
				g.src = srcCRM
			}
			ids = append(ids, g.emit(p, cm.TypeCurated, true))
			g.retype(p)
			g.src = srcAgent
			continue
		}
		typ := cm.TypeCurated
		if g.chance(0.2) {
			typ = cm.TypeIdentified
		}
		// Some variants come from a spreadsheet import (no external id) or
		// a CRM re-sync under a record id of their own.
		switch u := g.r.Float64(); {
		case u < 0.1:
			g.src = srcCSV
		case u < 0.2:
			g.src = srcCRM
		}
		ids = append(ids, g.emit(p, typ, true))
		g.retype(p)
		g.src = srcAgent
	}
	if g.cfg.CuratedDuplicates && g.chance(0.3) {
		// An interaction of the customer created an Identified contact.
		ids = append(ids, g.emit(p, cm.TypeIdentified, true))
		g.retype(p)
		g.autoExtra++
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
