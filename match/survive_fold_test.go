package match

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

// TestFoldSpaceCase checks foldSpaceCase against the definition it
// shortcuts (lower case, white space runs as one space, trimmed).
func TestFoldSpaceCase(t *testing.T) {
	for _, s := range []string{
		"", " ", "a", "ab c", "Ab c", "ab  c", " ab", "ab ", "a\tb", "a\nb", "a\u00a0b", "ÄB", "é x",
		"123 main st", "123 Main St", "x@y.com", "a \u2003b", "\u0085", "a b c d", "a b  c",
	} {
		want := strings.ToLower(strings.Join(strings.Fields(s), " "))
		if got := foldSpaceCase(s); got != want {
			t.Errorf("foldSpaceCase(%q) = %q, want %q", s, got, want)
		}
	}
}

// conflictsByValueSets is the definition conflicts implements: a field
// conflicts when its keys hold two distinct values.
func conflictsByValueSets(order []*cm.Contact, nz *normalizer) []string {
	keys := map[string]map[string]bool{}
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

// TestConflictsMatchesValueSets compares conflicts with its definition on
// random groups whose members draw each field from a few spellings of
// the same or different values.
func TestConflictsMatchesValueSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	nz := newNormalizer(DefaultConfig())
	for range 2000 {
		n := 1 + rng.IntN(4)
		members := make([]cm.Contact, n)
		for i := range members {
			c := &members[i]
			c.ID = fmt.Sprint("c", i)
			c.FirstName = pick("", "Ann", "ann", " Ann ", "Anne", "ANN")
			c.LastName = pick("Smith", "smith", "Smith  Jr", "smith jr", "Smyth")
			c.Title = pick("", "Dr", "dr", "Dr.")
			c.WorkEmail = pick("", "a@x.com", "A@X.com", "b@x.com")
			if rng.IntN(2) == 0 {
				c.CellPhone = &cm.PhoneNumber{Display: pick("+1 201 555 0100", "(201) 555-0100", "201 555 0199"), E164: pick("", "+12015550100")}
			}
			if rng.IntN(2) == 0 {
				c.ExternalIDs = []cm.ExternalID{{ExternalSource: &cm.ExternalSource{Name: pick("CRM", "crm")}, Value: pick("1", "2", " 1")}}
			}
			if rng.IntN(2) == 0 {
				c.CustomFields = map[string]any{pick("tier", "region"): pick("gold", "Gold", "silver")}
			}
		}
		order := ptrs(members)
		if got, want := conflicts(order, nz), conflictsByValueSets(order, nz); !slices.Equal(got, want) {
			t.Fatalf("conflicts = %v, want %v", got, want)
		}
	}
}
