package sandbox

import (
	"strconv"
	"strings"
)

// retype changes the name of the record just emitted for p the way people
// retype names past what typo and nickname tables recognize (about 9% of
// variant records): given and family names swapped, the given name cut to
// an initial, a nickname that no common table lists, two typos in the
// given name, or another given name altogether (the customer goes by a
// middle name, or an agent typed a relative's). The family name and every
// other field keep what emit gave them.
func (g *gen) retype(p *person) {
	c := &g.out[len(g.out)-1]
	if c.FirstName == "" || c.LastName == "" {
		return
	}
	switch u := g.r.Float64(); {
	case u < 0.02:
		c.FirstName, c.LastName = c.LastName, c.FirstName
	case u < 0.04:
		c.FirstName = c.FirstName[:1]
		if g.chance(0.5) {
			c.FirstName += "."
		}
	case u < 0.055:
		if n := g.rareNicks[p.first]; len(n) > 0 {
			c.FirstName = n[g.r.IntN(len(n))]
		}
	case u < 0.075:
		c.FirstName = g.typo(g.typo(p.first))
	case u < 0.09:
		other := g.firsts[g.r.IntN(len(g.firsts))]
		if other != p.first {
			c.FirstName = other
		}
	}
}

// mailbox returns the mailbox an address delivers to: lower case, and for
// Gmail without dots and +tags.
func mailbox(e string) string {
	local, domain, ok := strings.Cut(strings.ToLower(e), "@")
	if !ok {
		return e
	}
	if domain == "gmail.com" || domain == "googlemail.com" {
		local, _, _ = strings.Cut(local, "+")
		local = strings.ReplaceAll(local, ".", "")
		domain = "gmail.com"
	}
	return local + "@" + domain
}

// distinctMailboxes renumbers the addresses of a person whose mailbox
// another person already has (john.smith@gmail.com and johnsmith@gmail.com
// are one Gmail mailbox): two different people never share a mailbox.
func (g *gen) distinctMailboxes() {
	entity := make(map[string]int, len(g.out)/4)
	for e, ids := range g.truth {
		for _, id := range ids {
			entity[id] = e + 1
		}
	}
	owner := make(map[string]string, len(g.out))
	renamed := map[[2]string]string{} // (person, mailbox) → new local part suffix
	for i := range g.out {
		c := &g.out[i]
		who := c.ID
		if e := entity[c.ID]; e != 0 {
			who = "cluster" + strconv.Itoa(e)
		}
		for _, addr := range []*string{&c.PersonalEmail, &c.WorkEmail} {
			if *addr == "" {
				continue
			}
			box := mailbox(*addr)
			if suffix, ok := renamed[[2]string{who, box}]; ok {
				*addr = withSuffix(*addr, suffix)
				continue
			}
			if o, ok := owner[box]; !ok || o == who {
				owner[box] = who
				continue
			}
			for n := 2; ; n++ {
				suffix := strconv.Itoa(n)
				if nb := mailbox(withSuffix(*addr, suffix)); owner[nb] == "" {
					owner[nb] = who
					renamed[[2]string{who, box}] = suffix
					*addr = withSuffix(*addr, suffix)
					break
				}
			}
		}
	}
}

// withSuffix appends suffix to the local part of an address, before a
// +tag.
func withSuffix(addr, suffix string) string {
	local, domain, _ := strings.Cut(addr, "@")
	base, tag, hasTag := strings.Cut(local, "+")
	if hasTag {
		return base + suffix + "+" + tag + "@" + domain
	}
	return local + suffix + "@" + domain
}
