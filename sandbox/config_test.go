package sandbox

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Values `contactmerge sandbox` flags could pass that mean nothing used to
// be accepted (or silently replaced by a default); New refuses them naming
// the field.
func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Contacts = -5 }, "sandbox: Contacts -5 is negative"},
		{func(c *Config) { c.ActivityRate = 2 }, "sandbox: ActivityRate 2 is not a fraction in [0,1]"},
		{func(c *Config) { c.ActivityRate = -0.1 }, "sandbox: ActivityRate -0.1 is not a fraction in [0,1]"},
		{func(c *Config) { c.ActivityRate = math.NaN() }, "sandbox: ActivityRate NaN is not a fraction in [0,1]"},
		{func(c *Config) { c.DupRate = 1.5 }, "sandbox: DupRate 1.5 is more than 1 (it is a fraction)"},
		{func(c *Config) { c.TokenTTL = -5 * time.Second }, "sandbox: TokenTTL -5s is negative"},
		{func(c *Config) { c.GatewayTimeout = -time.Second }, "sandbox: GatewayTimeout -1s is negative"},
		{func(c *Config) { c.MergeLatency = -time.Millisecond }, "sandbox: MergeLatency -1ms is negative"},
		{func(c *Config) { c.Faults = Faults{FaultError500: 2} }, `sandbox: fault "error500": probability 2 is not in [0,1]`},
	} {
		cfg := DefaultConfig()
		c.mod(&cfg)
		if _, err := New(cfg); err == nil || err.Error() != c.want {
			t.Errorf("err = %v, want %s", err, c.want)
		}
	}
	// Zero still means the default, and the edges are valid.
	sb, err := New(Config{ActivityRate: 1, DupRate: -1, Contacts: 10})
	if err != nil || sb.cfg.TokenTTL != 24*time.Hour || sb.cfg.GatewayTimeout != 60*time.Second || sb.cfg.RateLimit != 300 {
		t.Fatalf("defaults: %v %+v", err, sb)
	}
}

// --load and --activity errors used to say "sandbox: load: line 2: ..."
// without the file; they name it (an *os.File's path) and the line, once
// prefixed with "sandbox: ".
func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) *os.File {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	_, err := New(Config{Load: write("c.jsonl", `{"id":"a"}`+"\n"+`{"id":"b","workEmail":"x"}`)})
	if want := "sandbox: " + filepath.Join(dir, "c.jsonl") + `:2: workEmail: "x" is not a valid email address`; err == nil || err.Error() != want {
		t.Errorf("load: %v\nwant %s", err, want)
	}
	_, err = New(Config{Load: write("ok.jsonl", `{"id":"a"}`), Activity: write("a.jsonl", `{"externalContactId":"a"}`)})
	if want := "sandbox: " + filepath.Join(dir, "a.jsonl") + ":1: need a conversationId or a caseId"; err == nil || err.Error() != want {
		t.Errorf("activity: %v\nwant %s", err, want)
	}
	_, err = New(Config{Load: strings.NewReader(`{"id":"a","bogus":1}`)})
	if want := `sandbox: contacts:1: bogus: unknown field (a typo, or another kind of file?)`; err == nil || err.Error() != want {
		t.Errorf("reader without a name: %v\nwant %s", err, want)
	}
}

// A file to load used to accept unknown fields (a wrong file loaded as
// nothing); DecodeContact, which reads request bodies, still ignores them.
func TestLoadRejectsUnknownFields(t *testing.T) {
	if _, err := LoadContacts(strings.NewReader(`{"id":"a","fristName":"Ann"}`), "c.jsonl"); err == nil || err.Error() != `c.jsonl:1: fristName: unknown field (a typo, or another kind of file?)` {
		t.Errorf("contacts: %v", err)
	}
	if _, err := LoadActivity(strings.NewReader(`{"externalContactId":"a","conversationId":"v","ended":"x"}`), "a.jsonl"); err == nil || err.Error() != `a.jsonl:1: ended: unknown field (a typo, or another kind of file?)` {
		t.Errorf("activity: %v", err)
	}
	if c, err := DecodeContact([]byte(`{"id":"a","fristName":"Ann"}`)); err != nil || c.ID != "a" {
		t.Errorf("DecodeContact: %v", err)
	}
}

// Load files may start with a byte order mark; bytes that are not UTF-8 are
// an error naming the byte (they used to become U+FFFD).
func TestLoadEncoding(t *testing.T) {
	cs, err := LoadContacts(strings.NewReader("\ufeff{\"id\":\"a\"}\n"), "c.jsonl")
	if err != nil || len(cs) != 1 {
		t.Fatalf("BOM: %v", err)
	}
	acts, err := LoadActivity(strings.NewReader("\ufeff{\"externalContactId\":\"a\",\"caseId\":\"k\"}\n"), "a.jsonl")
	if err != nil || len(acts) != 1 {
		t.Fatalf("BOM: %v", err)
	}
	_, err = LoadContacts(strings.NewReader("{\"id\":\"a\"}\n{\"id\":\"b\",\"lastName\":\"Ren\xe9\"}\n"), "c.jsonl")
	if err == nil || err.Error() != "c.jsonl:2: invalid UTF-8 at byte 26 of the line (0xe9)" {
		t.Errorf("contacts: %v", err)
	}
	_, err = LoadActivity(strings.NewReader("{\"externalContactId\":\"\xff\",\"caseId\":\"k\"}\n"), "a.jsonl")
	if err == nil || err.Error() != "a.jsonl:1: invalid UTF-8 at byte 23 of the line (0xff)" {
		t.Errorf("activity: %v", err)
	}
	if _, err := DecodeContact([]byte("{\"id\":\"\xff\"}")); err == nil || err.Error() != "invalid UTF-8 at byte 8 (0xff)" {
		t.Errorf("DecodeContact: %v", err)
	}
}

// DecodeContact's rules are (*cm.Contact).Validate's: the ones it used to
// lack (title, salutation, externalSystemUrl) apply too, and the error names
// the field as Validate does.
func TestDecodeContactValidates(t *testing.T) {
	for in, want := range map[string]string{
		`{"title":"` + strings.Repeat("x", 1001) + `"}`:             "title: longer than 1000 characters",
		`{"salutation":"` + strings.Repeat("x", 1001) + `"}`:        "salutation: longer than 1000 characters",
		`{"externalSystemUrl":"` + strings.Repeat("x", 1001) + `"}`: "externalSystemUrl: longer than 1000 characters",
		`{"type":"Archived"}`:                                       `type: "Archived" is not Curated, Identified or Ephemeral`,
		`{"personalEmail":" a@b@c "}`:                               `personalEmail: "a@b@c" is not a valid email address`,
		`{"modifyDate":"0000-01-01T00:00:00+01:00"}`:                "modifyDate: -0001-12-31T23:00:00Z is outside the years 0000 to 9999 in UTC",
	} {
		if _, err := DecodeContact([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("%.60s: %v, want %s", in, err, want)
		}
	}
	// Names are trimmed before their length is measured.
	c, err := DecodeContact([]byte(`{"firstName":"  ` + strings.Repeat("x", 1000) + `  ","modifyDate":"2025-07-24T18:53:06.0609Z"}`))
	if err != nil || len(c.FirstName) != 1000 || c.ModifyDate.Nanosecond() != 60_000_000 {
		t.Errorf("%v %d %v", err, len(c.FirstName), c.ModifyDate)
	}
}

// The fidelity fields default to the platform's behaviour.
func TestFidelityDefaults(t *testing.T) {
	for name, c := range map[string]Config{"zero": {}, "DefaultConfig": DefaultConfig()} {
		d := c.WithDefaults()
		if d.CursorTTL != 24*time.Hour || d.MaxBulkIDs != 100 || d.MaxAnalyticsPredicates != 100 ||
			d.MaxAnalyticsInterval != 31*24*time.Hour || d.MaxAnalyticsIntervalUnfiltered != 7*24*time.Hour ||
			d.ShowAutoCreated || d.LegacyMergeErrors || d.URLDecodeCredentials || d.Permissions != nil || d.Clients != nil {
			t.Errorf("%s: %+v", name, d)
		}
	}
}
