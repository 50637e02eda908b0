package sandbox

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/nyaruka/phonenumbers"
)

func TestGenerateDeterministic(t *testing.T) {
	cfg := GenConfig{Contacts: 3000, Seed: 99, ActivityRate: 0.02}
	a, b := Generate(cfg), Generate(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same config, different organizations")
	}
	cfg.Seed = 100
	if c := Generate(cfg); reflect.DeepEqual(a.Contacts, c.Contacts) {
		t.Fatal("different seeds, same organization")
	}
}

func TestGenerateShape(t *testing.T) {
	org := Generate(GenConfig{Contacts: 20000, Seed: 1})
	if len(org.Contacts) != 20000 {
		t.Fatalf("%d contacts", len(org.Contacts))
	}
	byID := map[string]*cm.Contact{}
	types := map[string]int{}
	for i := range org.Contacts {
		c := &org.Contacts[i]
		if byID[c.ID] != nil {
			t.Fatalf("duplicate id %s", c.ID)
		}
		byID[c.ID] = c
		types[c.Type]++
		if c.CreateDate.IsZero() || c.ModifyDate.Before(c.CreateDate) || c.Division == nil {
			t.Fatalf("dates or division: %+v", c)
		}
	}
	if types[cm.TypeCurated] < 15000 || types[cm.TypeIdentified] == 0 || types[cm.TypeEphemeral] == 0 {
		t.Fatalf("types %v", types)
	}
	inCluster := map[string]bool{}
	for _, cl := range org.Truth {
		if len(cl) < 2 || !slices.IsSorted(cl) {
			t.Fatalf("cluster %v", cl)
		}
		for _, id := range cl {
			if byID[id] == nil || inCluster[id] {
				t.Fatalf("cluster member %s unknown or in two clusters", id)
			}
			inCluster[id] = true
		}
	}
	if frac := float64(len(inCluster)) / 20000; frac < 0.19 || frac > 0.21 {
		t.Fatalf("%.3f of contacts in clusters, want 0.2", frac)
	}
	none := Generate(GenConfig{Contacts: 1000, Seed: 1, DupRate: -1, NoIdentifiers: true})
	if len(none.Truth) != 0 {
		t.Fatalf("DupRate<0 gave %d clusters", len(none.Truth))
	}
	for _, c := range none.Contacts {
		if c.ExternalIDs != nil || c.CustomFields != nil {
			t.Fatal("NoIdentifiers contact has identifiers")
		}
	}
}

// clusterOf maps contact ids to their truth cluster index.
func clusterOf(org Org) map[string]int {
	m := map[string]int{}
	for i, cl := range org.Truth {
		for _, id := range cl {
			m[id] = i + 1
		}
	}
	return m
}

func sameCluster(m map[string]int, a, b string) bool { return m[a] != 0 && m[a] == m[b] }

func TestGenerateTraps(t *testing.T) {
	checkTraps(t, Generate(GenConfig{Contacts: 20000, Seed: 4}))
}

// checkTraps asserts the look-alikes that are not duplicates: families,
// switchboards and namesakes.
func checkTraps(t *testing.T, org Org) {
	t.Helper()
	cl := clusterOf(org)
	// Families: same home phone, last name and address, different first
	// names, not duplicates.
	byHome := map[string][]*cm.Contact{}
	byWork := map[string][]*cm.Contact{}
	byName := map[string][]*cm.Contact{}
	for i := range org.Contacts {
		c := &org.Contacts[i]
		if c.HomePhone != nil && c.HomePhone.E164 != "" {
			byHome[c.HomePhone.E164] = append(byHome[c.HomePhone.E164], c)
		}
		if c.WorkPhone != nil && c.WorkPhone.E164 != "" {
			byWork[c.WorkPhone.E164] = append(byWork[c.WorkPhone.E164], c)
		}
		if c.Address != nil && c.FirstName != "" {
			k := c.FirstName + "|" + c.LastName + "|" + c.Address.City
			byName[k] = append(byName[k], c)
		}
	}
	families := 0
	for _, cs := range byHome {
		for i := range cs {
			for j := i + 1; j < len(cs); j++ {
				a, b := cs[i], cs[j]
				if a.LastName == b.LastName && a.FirstName != b.FirstName && a.Address != nil && b.Address != nil &&
					a.Address.Address1 == b.Address.Address1 && !sameCluster(cl, a.ID, b.ID) {
					families++
				}
			}
		}
	}
	if families < 100 {
		t.Fatalf("%d family look-alike pairs", families)
	}
	switchboard := 0
	for _, cs := range byWork {
		if len(cs) >= 100 {
			switchboard++
		}
	}
	if switchboard == 0 {
		t.Fatal("no switchboard number shared by 100+ contacts")
	}
	namesakes := 0
	for _, cs := range byName {
		for i := range cs {
			for j := i + 1; j < len(cs); j++ {
				if !sameCluster(cl, cs[i].ID, cs[j].ID) {
					namesakes++
				}
			}
		}
	}
	if namesakes < 50 {
		t.Fatalf("%d namesake pairs in one city", namesakes)
	}
}

func TestGenerateDuplicateVariations(t *testing.T) {
	org := Generate(GenConfig{Contacts: 20000, Seed: 8})
	byID := map[string]*cm.Contact{}
	for i := range org.Contacts {
		byID[org.Contacts[i].ID] = &org.Contacts[i]
	}
	nick, firstDiff, emailVariant, phoneReformat, shareCRM, moved := 0, 0, 0, 0, 0, 0
	nicks := nicknames()
	for _, cl := range org.Truth {
		for i := range cl {
			for j := i + 1; j < len(cl); j++ {
				a, b := byID[cl[i]], byID[cl[j]]
				if a.FirstName != b.FirstName {
					firstDiff++
				}
				if slices.Contains(nicks[a.FirstName], b.FirstName) || slices.Contains(nicks[b.FirstName], a.FirstName) {
					nick++
				}
				if a.PersonalEmail != "" && b.PersonalEmail != "" && a.PersonalEmail != b.PersonalEmail {
					emailVariant++
				}
				if a.CellPhone != nil && b.CellPhone != nil && a.CellPhone.E164 == b.CellPhone.E164 && a.CellPhone.Display != b.CellPhone.Display {
					phoneReformat++
				}
				if len(a.ExternalIDs) > 0 && len(b.ExternalIDs) > 0 && a.ExternalIDs[0].Value == b.ExternalIDs[0].Value {
					shareCRM++
				}
				if a.Address != nil && b.Address != nil && a.Address.City != b.Address.City {
					moved++
				}
			}
		}
	}
	for name, n := range map[string]int{"first name differs": firstDiff, "nickname": nick, "email variant": emailVariant,
		"phone reformatted": phoneReformat, "shared crm id": shareCRM, "moved": moved} {
		if n < 20 {
			t.Errorf("%s: only %d duplicate pairs", name, n)
		}
	}
}

// TestGeneratedPhonesParse checks the generator's own formatting against
// libphonenumber: every e164 it sets is what the platform would compute.
func TestGeneratedPhonesParse(t *testing.T) {
	org := Generate(GenConfig{Contacts: 3000, Seed: 12})
	checked, noE164 := 0, 0
	for _, c := range org.Contacts {
		for _, p := range c.Phones() {
			if p == nil {
				continue
			}
			region := p.NormalizationCountryCode
			if region == "" {
				region = "US"
			}
			n, err := phonenumbers.Parse(p.Display, region)
			if p.E164 == "" {
				noE164++
				if err == nil && phonenumbers.IsValidNumber(n) {
					t.Fatalf("%q parses but has no e164", p.Display)
				}
				continue
			}
			if err != nil || !phonenumbers.IsValidNumber(n) || phonenumbers.Format(n, phonenumbers.E164) != p.E164 {
				t.Fatalf("%q (%s): e164 %s, libphonenumber %v valid=%v", p.Display, region, p.E164, err, err == nil && phonenumbers.IsValidNumber(n))
			}
			checked++
		}
	}
	if checked < 2000 || noE164 == 0 || noE164 > checked/10 {
		t.Fatalf("checked %d, without e164 %d", checked, noE164)
	}
}

func TestUSExchanges(t *testing.T) {
	ex := usExchanges()
	if len(ex) != 787 || slices.Contains(ex, 555) || slices.Contains(ex, 911) || ex[0] != 200 || ex[len(ex)-1] != 999 {
		t.Fatalf("%d exchanges", len(ex))
	}
}

func TestGeneratedEmailsAndCellsDistinctPerPerson(t *testing.T) {
	org := Generate(GenConfig{Contacts: 20000, Seed: 21, DupRate: -1})
	seen := map[string]bool{}
	for _, c := range org.Contacts {
		if c.CellPhone != nil && c.CellPhone.E164 != "" {
			if seen[c.CellPhone.E164] {
				t.Fatalf("two different people share the cell phone %s", c.CellPhone.E164)
			}
			seen[c.CellPhone.E164] = true
		}
		for _, e := range c.Emails() {
			if e == "" {
				continue
			}
			k := strings.ToLower(e)
			if seen[k] {
				t.Fatalf("two different people share %s", e)
			}
			seen[k] = true
		}
	}
}

// BenchmarkGenerate measures the generator at 100k and 1M contacts
// (go test ./sandbox/ -run '^$' -bench Generate -benchtime 1x).
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				Generate(GenConfig{Contacts: n, Seed: 1, ActivityRate: 0.01})
			}
		})
	}
}

// TestGenerateCuratedDuplicates: with CuratedDuplicates, Contacts counts
// the Curated records, every cluster is built from Curated records
// (spreadsheet re-imports without an external id, CRM re-syncs under
// another external id, retyped names and phones), the look-alike traps are
// there, and about 12% auto-created records come on top, some of them
// Identified members of a cluster.
func TestGenerateCuratedDuplicates(t *testing.T) {
	cfg := GenConfig{Contacts: 20000, Seed: 8, CuratedDuplicates: true, ActivityRate: 0.01}
	org := Generate(cfg)
	if !reflect.DeepEqual(org, Generate(cfg)) {
		t.Fatal("same config, different organizations")
	}
	byID := map[string]*cm.Contact{}
	types := map[string]int{}
	for i := range org.Contacts {
		c := &org.Contacts[i]
		byID[c.ID] = c
		types[c.Type]++
	}
	auto := types[cm.TypeIdentified] + types[cm.TypeEphemeral]
	if types[cm.TypeCurated] != 20000 || auto != 2400 || types[cm.TypeEphemeral] < 300 || len(byID) != len(org.Contacts) {
		t.Fatalf("types %v", types)
	}
	curatedIn, hiddenIn := 0, 0
	otherCRM, noCRM, phoneReformat, firstDiff, nick := 0, 0, 0, 0, 0
	nicks := nicknames()
	for _, cl := range org.Truth {
		var cur []*cm.Contact
		for _, id := range cl {
			if c := byID[id]; c.Type == cm.TypeCurated {
				cur = append(cur, c)
			} else if c.Type == cm.TypeIdentified {
				hiddenIn++
			} else {
				t.Fatalf("an Ephemeral member in cluster %v", cl)
			}
		}
		if len(cur) < 2 {
			t.Fatalf("cluster %v has %d Curated records", cl, len(cur))
		}
		curatedIn += len(cur)
		for i := range cur {
			for j := i + 1; j < len(cur); j++ {
				a, b := cur[i], cur[j]
				switch {
				case len(a.ExternalIDs) > 0 && len(b.ExternalIDs) > 0 && a.ExternalIDs[0].Value != b.ExternalIDs[0].Value:
					otherCRM++
				case len(a.ExternalIDs) != len(b.ExternalIDs):
					noCRM++
				}
				if a.CellPhone != nil && b.CellPhone != nil && a.CellPhone.E164 == b.CellPhone.E164 && a.CellPhone.Display != b.CellPhone.Display {
					phoneReformat++
				}
				if a.FirstName != b.FirstName {
					firstDiff++
				}
				if slices.Contains(nicks[a.FirstName], b.FirstName) || slices.Contains(nicks[b.FirstName], a.FirstName) {
					nick++
				}
			}
		}
	}
	if frac := float64(curatedIn) / 20000; frac < 0.19 || frac > 0.21 {
		t.Fatalf("%.3f of the Curated records in clusters, want 0.2", frac)
	}
	for name, n := range map[string]int{"another CRM id": otherCRM, "one without external id": noCRM, "phone reformatted": phoneReformat,
		"first name differs": firstDiff, "nickname": nick, "hidden Identified member": hiddenIn} {
		if n < 50 {
			t.Errorf("%s: only %d", name, n)
		}
	}
	checkTraps(t, org)
	if len(org.Activity) == 0 {
		t.Fatal("no activity")
	}
}

// TestGenerateSizesItsRecords: Generate allocates its records once, at the
// size it ends with (a slice grown at the end would hold the organization
// twice at the peak).
func TestGenerateSizesItsRecords(t *testing.T) {
	for _, gc := range []GenConfig{{Contacts: 0, Seed: 1}, {Contacts: 1, Seed: 1, CuratedDuplicates: true},
		{Contacts: 2000, Seed: 3}, {Contacts: 2000, Seed: 3, CuratedDuplicates: true}} {
		org := Generate(gc)
		if len(org.Contacts) != cap(org.Contacts) || len(org.Contacts) < gc.Contacts {
			t.Errorf("%+v: %d records in a slice of capacity %d", gc, len(org.Contacts), cap(org.Contacts))
		}
	}
}
