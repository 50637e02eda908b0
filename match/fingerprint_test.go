package match

import (
	"context"
	"encoding/binary"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

func TestNormFingerprint(t *testing.T) {
	def := DefaultConfig()
	fp := NormFingerprint(def)
	if NormFingerprint(DefaultConfig()) != fp {
		t.Fatal("fingerprint of the default config is not stable")
	}
	with := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	// Settings that normalize alike share the fingerprint.
	for name, c := range map[string]Config{
		"lower-case region":     with(func(c *Config) { c.DefaultRegion = "us" }),
		"empty region (= US)":   with(func(c *Config) { c.DefaultRegion = "" }),
		"domains in any order":  with(func(c *Config) { slices.Reverse(c.Email.PlusTagDomains) }),
		"upper-case domains":    with(func(c *Config) { c.Email.DotInsensitiveDomains = []string{"GMail.com"} }),
		"nicknames (not norms)": with(func(c *Config) { c.Nicknames = map[string][]string{"wolfgang": {"wolf"}} }),
		"matching settings":     with(func(c *Config) { c.MatchThreshold, c.MaxBlockSize, c.IgnoreCustomFields = 0.9, 10, []string{"x"} }),
	} {
		if got := NormFingerprint(c); got != fp {
			t.Errorf("%s: fingerprint %x, want the default's %x", name, got, fp)
		}
	}
	// Settings that change a norm change the fingerprint.
	seen := map[uint64]string{fp: "default"}
	for name, c := range map[string]Config{
		"region GB":    with(func(c *Config) { c.DefaultRegion = "GB" }),
		"no plus tags": with(func(c *Config) { c.Email.PlusTagDomains = nil }),
		"plus tags moved": with(func(c *Config) {
			c.Email.DotInsensitiveDomains, c.Email.PlusTagDomains = c.Email.PlusTagDomains, c.Email.DotInsensitiveDomains
		}),
		"no dotless domains": with(func(c *Config) { c.Email.DotInsensitiveDomains = nil }),
		"another alias":      with(func(c *Config) { c.Email.DomainAliases = map[string]string{"googlemail.com": "example.com"} }),
		"an alias added": with(func(c *Config) {
			c.Email.DomainAliases = map[string]string{"googlemail.com": "gmail.com", "hotmail.co.uk": "outlook.com"}
		}),
	} {
		got := NormFingerprint(c)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: fingerprint %x equals that of %s", name, got, prev)
		}
		seen[got] = name
	}

	// The encoding carries the fingerprint after the version byte; a norm
	// is usable only under its own fingerprint and version.
	c := cm.Contact{ID: "c1", FirstName: "Ann", CellPhone: &cm.PhoneNumber{Display: "020 7946 0958"}, WorkEmail: "a.b+x@gmail.com"}
	gb := with(func(c *Config) { c.DefaultRegion = "GB" })
	b := NormalizerFunc(def)(&c)
	if b[0] != NormVersion || binary.LittleEndian.Uint64(b[1:normHeader]) != fp {
		t.Fatalf("header % x, want version %d and fingerprint %x", b[:normHeader], NormVersion, fp)
	}
	if !usableNorm(b, fp) || usableNorm(b, NormFingerprint(gb)) {
		t.Error("usableNorm does not follow the fingerprint")
	}
	bgb := NormalizerFunc(gb)(&c)
	if !usableNorm(bgb, NormFingerprint(gb)) || usableNorm(bgb, fp) {
		t.Error("usableNorm does not follow the fingerprint (GB)")
	}
	for _, enc := range [][]byte{b, bgb} {
		if _, err := DecodeNorm(enc); err != nil {
			t.Errorf("DecodeNorm of a norm with another fingerprint: %v", err)
		}
	}
	if nm, _ := DecodeNorm(bgb); !slices.Equal(nm.Phones, []string{"+442079460958"}) {
		t.Errorf("GB norm phones %v", nm.Phones)
	}
	if nm, _ := DecodeNorm(b); slices.ContainsFunc(nm.Phones, func(p string) bool { return strings.HasPrefix(p, "+44") }) {
		t.Errorf("US norm phones %v", nm.Phones)
	}
	// Version 1 (no fingerprint: the version byte, then the fields) is
	// never read, whatever follows the version byte.
	v1 := append([]byte{1}, b[normHeader:]...)
	if usableNorm(v1, fp) {
		t.Error("version 1 norm usable")
	}
	if _, err := DecodeNorm(v1); err == nil {
		t.Error("version 1 norm decoded")
	}
	for _, short := range [][]byte{nil, {NormVersion}, b[:normHeader-1]} {
		if usableNorm(short, fp) {
			t.Errorf("% x usable", short)
		}
		if _, err := DecodeNorm(short); err == nil {
			t.Errorf("% x decoded", short)
		}
	}
	// A version-1 norm read by Run is re-normalized, not misread.
	in := NewMemoryInput([]cm.Contact{c}, def)
	in.norms[0] = v1
	res, err := Run(context.Background(), in, def)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Normalized != 1 || res.Stats.Contacts != 1 {
		t.Errorf("version-1 norm: normalized %d of %d contacts", res.Stats.Normalized, res.Stats.Contacts)
	}
}

// ukPairs are duplicates whose phones are written in UK national format on
// at least one side: only a GB default region turns them into +44 numbers.
var ukPairs = []struct {
	first, last string
	a, b        string // the two records' phone displays
	e164        string // the number under region GB
}{
	{"Imogen", "Featherstonehaugh", "020 7946 0958", "+44 20 7946 0958", "+442079460958"},
	{"Rhodri", "Llewellyn-Pryce", "07700 900123", "+44 7700 900123", "+447700900123"},
	{"Siobhan", "Ravenscroft", "0161 496 0471", "01614960471", "+441614960471"},
	{"Alistair", "Quarrington", "07700 900456", "07700900456", "+447700900456"},
}

// TestStoredNormsFollowConfig is the regression test for stored norms made
// under another matcher config: contacts with UK numbers in national format
// are written to a real store opened with the default (US) normalizer, and
// match with defaultRegion GB re-normalizes them from the contact JSON: the
// numbers become +44 and the UK duplicates match on them. With the default
// config the stored norms are used and no number becomes +44.
func TestStoredNormsFollowConfig(t *testing.T) {
	ctx := context.Background()
	def := DefaultConfig()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "cm.db"), store.Options{
		Normalizer: NormalizerFunc(def),
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	cs := sandbox.Generate(sandbox.GenConfig{Contacts: 1500, Seed: 11}).Contacts
	when := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var want [][]string // the UK pairs' ids
	for i, p := range ukPairs {
		ids := []string{"uk-" + p.last + "-a", "uk-" + p.last + "-b"}
		for k, display := range []string{p.a, p.b} {
			cs = append(cs, cm.Contact{
				ID: ids[k], Division: &cm.Ref{ID: cs[i].DivisionID()}, FirstName: p.first, LastName: p.last,
				CellPhone: &cm.PhoneNumber{Display: display}, Type: cm.TypeCurated,
				CreateDate: when, ModifyDate: when,
			})
		}
		want = append(want, ids)
	}
	if err := st.UpsertContacts(ctx, cs); err != nil {
		t.Fatal(err)
	}
	n, err := st.CountContacts(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The store's norms are the default config's: no +44 for national
	// numbers.
	stored := map[string][]string{}
	if err := st.EachNorm(ctx, func(id string, b []byte) error {
		if strings.HasPrefix(id, "uk-") {
			if !usableNorm(b, NormFingerprint(def)) {
				t.Errorf("%s: stored norm not usable under the default config", id)
			}
			nm, err := DecodeNorm(b)
			if err != nil {
				return err
			}
			stored[id] = nm.Phones
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range ukPairs {
		for k, written := range []string{p.a, p.b} {
			id := "uk-" + p.last + "-" + string(rune('a'+k))
			got := stored[id]
			if strings.HasPrefix(written, "0") && (len(got) != 1 || strings.HasPrefix(got[0], "+44")) {
				t.Errorf("%s: stored default-config phones %v for %q", id, got, written)
			}
		}
	}

	display := map[string]string{} // id → phone as written
	for _, c := range cs {
		if c.CellPhone != nil {
			display[c.ID] = c.CellPhone.Display
		}
	}
	// phoneEvidence returns the link of the group holding ids and its phone
	// comparison.
	phoneEvidence := func(res *Result, ids []string) (cm.PairEvidence, cm.FieldEvidence, bool) {
		for _, g := range res.Groups {
			if !slices.Contains(g.Members, ids[0]) {
				continue
			}
			if !slices.Equal(g.Members, ids) || g.Explanation == nil {
				t.Errorf("group %s members %v, want %v", g.ID, g.Members, ids)
				break
			}
			for _, l := range g.Explanation.Links {
				for _, f := range l.Fields {
					if f.Field == "phone" {
						return l, f, true
					}
				}
			}
		}
		return cm.PairEvidence{}, cm.FieldEvidence{}, false
	}

	gb := DefaultConfig()
	gb.DefaultRegion = "GB"
	res, err := Run(ctx, st, gb)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GB: %v; normalized %d of %d", res.Stats, res.Stats.Normalized, res.Stats.Contacts)
	if res.Stats.Normalized != int(n) || res.Stats.Contacts != int(n) {
		t.Errorf("GB config: normalized %d of %d contacts, want all %d (stored norms are the default config's)", res.Stats.Normalized, res.Stats.Contacts, n)
	}
	for i, p := range ukPairs {
		_, f, ok := phoneEvidence(res, want[i])
		if !ok {
			t.Errorf("GB config: %s %s not matched", p.first, p.last)
			continue
		}
		if f.Level != "exact" || f.A != p.e164 || f.B != p.e164 {
			t.Errorf("GB config: %s phone evidence %+v, want exact on %s", p.last, f, p.e164)
		}
	}

	res, err = Run(ctx, st, def)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default: %v; normalized %d of %d", res.Stats, res.Stats.Normalized, res.Stats.Contacts)
	if res.Stats.Normalized != 0 || res.Stats.Contacts != int(n) {
		t.Errorf("default config: normalized %d of %d contacts, want 0 (the stored norms are usable)", res.Stats.Normalized, res.Stats.Contacts)
	}
	for i, p := range ukPairs {
		l, f, ok := phoneEvidence(res, want[i])
		if !ok {
			t.Logf("default config: %s %s not matched", p.first, p.last)
			continue // whether names alone match is not this test's question
		}
		t.Logf("default config: %s %s matched, phone %s %q ~ %q", p.first, p.last, f.Level, f.A, f.B)
		for id, v := range map[string]string{l.A: f.A, l.B: f.B} {
			if strings.HasPrefix(display[id], "0") && strings.HasPrefix(v, "+44") {
				t.Errorf("default config: %s phone %q became %s", id, display[id], v)
			}
		}
	}
}
