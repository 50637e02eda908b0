package sandbox

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"

	cm "github.com/contactmerge/contactmerge"
)

// streamUnits is how many generation units (a single, a cluster, a family,
// ...) GenerateStream generates before it hands their contacts on.
const streamUnits = 4096

// GenerateStream generates the organization Generate(cfg) builds, contact
// for contact and in the same order, without holding it: it calls contact
// for every contact and cluster for every duplicate cluster (sorted ids,
// after its contacts), stopping at the first error either returns. The
// contact passed is only valid during the call. Memory grows with the
// number of distinct mailboxes (to keep them distinct between people), not
// with the contacts: it is how a bench writes an organization of ten million
// contacts. Activity is not generated: cfg.ActivityRate must be 0 and
// cfg.History false.
func GenerateStream(cfg GenConfig, contact func(*cm.Contact) error, cluster func(ids []string) error) error {
	if cfg.ActivityRate != 0 || cfg.History {
		return errors.New("GenerateStream generates no activity: ActivityRate must be 0 and History false")
	}
	g := newGen(cfg)
	g.out = make([]cm.Contact, 0, 4*streamUnits)
	mb := newMailboxes()
	flush := func() error {
		mb.distinct(g.out, g.truth)
		for i := range g.out {
			if err := contact(&g.out[i]); err != nil {
				return err
			}
		}
		if cluster != nil {
			for _, ids := range g.truth {
				if err := cluster(ids); err != nil {
					return err
				}
			}
		}
		clear(g.out)
		g.out, g.truth = g.out[:0], g.truth[:0]
		return nil
	}
	units := g.plan()
	for i, u := range units {
		g.unit(u)
		if (i+1)%streamUnits == 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	g.autoCreated()
	return flush()
}

// newGen is the generator Generate sets up for cfg (the same random
// streams, division, CRM source and schema), with no output buffer.
func newGen(cfg GenConfig) *gen {
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
		rareNicks: rareNicknames(),
		us:        usCities(),
		uk:        ukCities(),
		streets:   streetNames(),
		stypes:    streetTypes(),
		companies: companies(),
		domains:   emailDomains(),
		titles:    titles(),
		areaCtr:   map[string]*areaSeq{},
		exch:      usExchanges(),
		usedEmail: make(map[string]struct{}, max(cfg.Contacts, 0)),
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
	return g
}

// genUnit is one planned unit: its kind (uSingle, uCluster, ...) and size.
type genUnit struct{ kind, size int }

// plan is the shuffled unit plan of (*gen).run for cfg.Contacts records:
// duplicate clusters, switchboards (one company number shared by many
// contacts), families (a home phone and an address), namesakes (different
// people with a common name in the same city), then singles.
func (g *gen) plan() []genUnit {
	n := g.cfg.Contacts
	if n <= 0 {
		return nil
	}
	var units []genUnit
	left := n
	take := func(kind, size int) {
		size = min(size, left)
		if size <= 0 {
			return
		}
		if size == 1 && kind != uSingle {
			kind = uSingle
		}
		units = append(units, genUnit{kind, size})
		left -= size
	}
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
	if n >= 200 {
		sw := max(5, n/100)
		for sw > 0 && left > 0 {
			size := min(sw, 150+g.r.IntN(250))
			take(uSwitchboard, size)
			sw -= size
		}
	}
	for fam := n * 6 / 100; fam >= 2 && left >= 2; {
		size := 2 + g.r.IntN(3)
		take(uFamily, size)
		fam -= size
	}
	for ns := n * 3 / 100; ns >= 2 && left >= 2; {
		take(uNamesake, 2)
		ns -= 2
	}
	for left > 0 {
		take(uSingle, 1)
	}
	g.r.Shuffle(len(units), func(i, j int) { units[i], units[j] = units[j], units[i] })
	return units
}

// unit generates the records of one planned unit.
func (g *gen) unit(u genUnit) {
	switch u.kind {
	case uSingle:
		p := g.newPerson(nil, "")
		typ := cm.TypeCurated
		if !g.cfg.CuratedDuplicates {
			typ = g.singleType()
		}
		g.emit(p, typ, false)
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

// autoCreated generates, with CuratedDuplicates, the contacts the platform
// created from interactions of customers with no duplicate: mostly
// Identified (a name and a channel), some Ephemeral (a cookie or nothing).
func (g *gen) autoCreated() {
	if !g.cfg.CuratedDuplicates || g.cfg.Contacts <= 0 {
		return
	}
	for range int(math.Round(float64(g.cfg.Contacts)*autoCreatedRate)) - g.autoExtra {
		typ := cm.TypeIdentified
		if g.chance(0.25) {
			typ = cm.TypeEphemeral
		}
		g.emit(g.newPerson(nil, ""), typ, false)
	}
}

// mailboxes is (*gen).distinctMailboxes run piece by piece: the owner of
// every mailbox seen so far and the renumberings made.
type mailboxes struct {
	owner    map[string]string
	renamed  map[[2]string]string
	clusters int // clusters seen before the current piece
}

func newMailboxes() *mailboxes {
	return &mailboxes{owner: map[string]string{}, renamed: map[[2]string]string{}}
}

// distinct renumbers, as distinctMailboxes does, the addresses of the
// contacts out (whose duplicate clusters, complete, are truth) that another
// person's earlier contact has.
func (m *mailboxes) distinct(out []cm.Contact, truth [][]string) {
	entity := make(map[string]int, len(out)/4)
	for e, ids := range truth {
		for _, id := range ids {
			entity[id] = m.clusters + e + 1
		}
	}
	m.clusters += len(truth)
	for i := range out {
		c := &out[i]
		who := c.ID
		if e := entity[c.ID]; e != 0 {
			who = "cluster" + strconv.Itoa(e)
		}
		for _, addr := range []*string{&c.PersonalEmail, &c.WorkEmail} {
			if *addr == "" {
				continue
			}
			box := mailbox(*addr)
			if suffix, ok := m.renamed[[2]string{who, box}]; ok {
				*addr = withSuffix(*addr, suffix)
				continue
			}
			if o, ok := m.owner[box]; !ok || o == who {
				m.owner[box] = who
				continue
			}
			for n := 2; ; n++ {
				suffix := strconv.Itoa(n)
				if nb := mailbox(withSuffix(*addr, suffix)); m.owner[nb] == "" {
					m.owner[nb] = who
					m.renamed[[2]string{who, box}] = suffix
					*addr = withSuffix(*addr, suffix)
					break
				}
			}
		}
	}
}
