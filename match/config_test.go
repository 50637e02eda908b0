package match

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "match.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultConfigValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxGroupSize != 25 || cfg.MaxBlockSize != 100 || cfg.DefaultRegion != "US" || cfg.CrossDivision || cfg.MatchThreshold != 0.99 {
		t.Errorf("defaults changed: %+v", cfg)
	}
}

func TestLoadConfigOverlay(t *testing.T) {
	p := writeFile(t, `{
		"matchThreshold": 0.995,
		"maxGroupSize": 10,
		"comparisons": {
			"custom.accountNo": {"levels": [{"name": "exact", "kind": "exact"}], "termFrequency": true},
			"phone": {"levels": [{"name": "exact", "kind": "exact"}], "weights": {"different": -2}}
		}
	}`)
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MatchThreshold != 0.995 || cfg.MaxGroupSize != 10 || cfg.MaxBlockSize != 100 {
		t.Errorf("overlay: %+v", cfg)
	}
	if _, ok := cfg.Comparisons["firstName"]; !ok {
		t.Error("comparisons overlay dropped the default firstName comparison")
	}
	if got := cfg.Comparisons["phone"]; len(got.Levels) != 1 || got.Weights["different"] != -2 {
		t.Errorf("phone comparison %+v", got)
	}
	if _, ok := cfg.Comparisons["custom.accountNo"]; !ok {
		t.Error("custom comparison not added")
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"matchTreshold": 0.9}`, `unknown field "matchTreshold"`},
		{`{"comparisons": {"phone": {"levls": []}}}`, `comparisons.phone.levls: unknown field "levls"`},
		{`{"maxGroupSize": 60}`, "maxGroupSize: 60 must be in [2,52]"},
		{`{"comparisons": {"shoeSize": {"levels": []}}}`, `unknown field "shoeSize"`},
		{`{"comparisons": {"phone": {"levels": [{"name": "x", "kind": "fuzzy"}]}}}`, `unknown kind "fuzzy"`},
		{`{"blocking": [{"name": "b", "keys": ["zodiac"]}]}`, `unknown key "zodiac"`},
		{`{"survivor": {"order": ["tallest"]}}`, `unknown criterion "tallest"`},
		{`{"matchThreshold": 1.5}`, "matchThreshold: 1.5 must be in (0,1)"},
		{`not json`, "invalid character"},
	} {
		p := writeFile(t, tc.body)
		_, err := LoadConfig(p)
		if err == nil {
			t.Errorf("%s: no error", tc.body)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name %q and the file", tc.body, err, tc.want)
		}
		if cm.ErrorCode(err) != cm.EINVALID {
			t.Errorf("%s: code %s", tc.body, cm.ErrorCode(err))
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.json")); cm.ErrorCode(err) != cm.EINVALID {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadExampleConfig(t *testing.T) {
	cfg, err := LoadConfig("testdata/example-config.json")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MatchThreshold != 0.995 || cfg.MaxBlockSize != 200 || len(cfg.Blocking) != 3 || cfg.Blocking[2].MaxBlockSize != 20 {
		t.Errorf("%+v", cfg)
	}
	if cfg.Survivor.Order[1] != "newest" || cfg.Nicknames["wolfgang"][0] != "wolf" {
		t.Errorf("survivor/nicknames: %+v %+v", cfg.Survivor, cfg.Nicknames)
	}
}

// badConfigs is the corpus testdata/badconfig: one file per rule of
// LoadConfig, with the exact error after "testdata/badconfig/NAME:".
var badConfigs = map[string]string{
	// JSON syntax: the position of the offending byte (or of the end).
	"syntax-trailing-comma.json": `4:1: invalid character '}' looking for beginning of object key string`,
	"syntax-nested.json":         `4:35: comparisons.phone.levels[0]: invalid character '"' after object key:value pair`,
	"syntax-truncated.json":      `4:1: survivor.order: unexpected end of JSON input`,
	"syntax-empty.json":          `1:1: unexpected end of JSON input`,
	"syntax-trailing-data.json":  `2:1: invalid character '{' after top-level value`,
	// Types, at the value's first byte.
	"not-an-object.json":          `1:1: want an object, got an array`,
	"type-string-for-number.json": `2:19: maxGroupSize: want a whole number, got string "25"`,
	"type-in-array.json":          `6:60: comparisons.lastName.levels[1].threshold: want a number, got string "high"`,
	"type-fraction-for-int.json":  `2:19: maxBlockSize: want a whole number, got number 150.5`,
	"type-null.json":              `2:21: matchThreshold: want a number, got null (leave the key out to keep the default)`,
	// Keys, at the key.
	"unknown-key.json":          `2:3: matchTreshold: unknown field "matchTreshold" (did you mean "matchThreshold"?)`,
	"unknown-key-case.json":     `2:3: MatchThreshold: unknown field "MatchThreshold" (did you mean "matchThreshold"?)`,
	"unknown-nested-key.json":   `3:15: comparisons.phone.levls: unknown field "levls" (did you mean "levels"?)`,
	"duplicate-key.json":        `4:3: maxBlockSize: duplicate key "maxBlockSize" (first at 2:3)`,
	"duplicate-nested-key.json": `4:5: comparisons.phone: duplicate key "phone" (first at 3:5)`,
	"comparison-unknown-field.json": `3:17: comparisons.shoeSize: unknown field "shoeSize" (known: firstName, middleName, lastName, email, phone, address, ` +
		`address1, address2, city, state, postalCode, country, custom.<field>, externalId.<source>)`,
	// Values, at the value (or the nearest enclosing value the file sets).
	"region-unknown.json":              `3:20: defaultRegion: "ZZ" is not a region phone numbers are known for (a two-letter ISO 3166 code such as "US" or "GB")`,
	"levels-empty.json":                `3:25: comparisons.phone.levels: no levels (give at least one, or "disabled": true)`,
	"levels-missing.json":              `3:14: comparisons.email.levels: no levels (give at least one, or "disabled": true)`,
	"match-threshold-negative.json":    `2:21: matchThreshold: -0.5 must be in (0,1)`,
	"match-threshold-above-one.json":   `2:21: matchThreshold: 1.5 must be in (0,1)`,
	"approve-threshold-negative.json":  `2:23: approveThreshold: -0.1 must be in [0,1]`,
	"approve-threshold-above-one.json": `2:23: approveThreshold: 1.01 must be in [0,1]`,
	"max-group-size-zero.json":         `2:19: maxGroupSize: 0 must be in [2,52] (52 is the platform's merge-set limit)`,
	"max-group-size-over-limit.json":   `2:19: maxGroupSize: 60 must be in [2,52] (52 is the platform's merge-set limit)`,
	"max-block-size-negative.json":     `2:19: maxBlockSize: -5 must be at least 2`,
	"block-max-size-negative.json":     `4:60: blocking[1].maxBlockSize: -1 must be 0 (the global limit) or at least 2`,
	"blocking-empty.json":              `2:15: blocking: at least one rule is needed`,
	"blocking-unknown-key.json":        `2:51: blocking[0].keys[1]: unknown key "zodiac"`,
	"level-kind-unknown.json":          `3:88: comparisons.phone.levels[1].kind: unknown kind "fuzzy"`,
	"level-name-twice.json":            `3:71: comparisons.phone.levels[1].name: "exact" names two levels`,
	"level-threshold-fraction.json":    `3:75: comparisons.phone.levels[0].threshold: 7.5 must be a whole number of characters, 1 or more, for kind suffix`,
	"level-threshold-above-one.json":   `3:80: comparisons.lastName.levels[0].threshold: 1.2 must be in (0,1] for kind jaroWinkler`,
	"weights-unknown-level.json":       `5:18: comparisons.phone.weights: no level named "last7"`,
	"survivor-order-unknown.json":      `2:34: survivor.order[1]: unknown criterion "tallest" (type, complete, oldest or newest)`,
	"survivor-order-twice.json":        `2:44: survivor.order[2]: "type" is listed twice`,
	"survivor-fill-unknown.json":       `2:28: survivor.fillFrom: "random" must be newest or oldest`,
}

func TestLoadConfigBadCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/badconfig/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, ok := badConfigs[filepath.Base(f)]; !ok {
			t.Errorf("%s has no case in badConfigs", f)
		}
	}
	for name, want := range badConfigs {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			path := "testdata/badconfig/" + name
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatalf("%s loaded", path)
			}
			if got := err.Error(); got != path+":"+want {
				t.Errorf("error\n got %s\nwant %s:%s", got, path, want)
			}
			if cm.ErrorCode(err) != cm.EINVALID {
				t.Errorf("code %s", cm.ErrorCode(err))
			}
		})
	}
}

// TestLoadConfigEdges checks values that look odd but are valid, and a
// byte-order mark, which is not JSON.
func TestLoadConfigEdges(t *testing.T) {
	for _, tc := range []struct {
		body  string
		check func(Config) bool
	}{
		{`{"defaultRegion": "gb"}`, func(c Config) bool {
			return c.DefaultRegion == "gb" && NormFingerprint(c) == NormFingerprint(Config{DefaultRegion: "GB", Email: c.Email})
		}},
		{`{"comparisons": null}`, func(c Config) bool { return len(c.Comparisons) == len(DefaultConfig().Comparisons) }},
		{`{"comparisons": {"phone": {"disabled": true}}}`, func(c Config) bool { return c.Comparisons["phone"].Disabled }},
		{`{"ignoreCustomFields": null, "nicknames": {}}`, func(c Config) bool { return c.IgnoreCustomFields == nil }},
		{`{"email": {"domainAliases": {"ymail.com": "yahoo.com"}}}`, func(c Config) bool {
			return c.Email.DomainAliases["ymail.com"] == "yahoo.com" && c.Email.DomainAliases["googlemail.com"] == "gmail.com" && len(c.Email.PlusTagDomains) > 0
		}},
		{"\ufeff{}", nil}, // a byte-order mark is bad JSON: see below
		{`{"seed": 18446744073709551615, "approveThreshold": 0, "matchThreshold": 1e-3}`, func(c Config) bool { return c.Seed == 1<<64-1 && c.MatchThreshold == 0.001 }},
	} {
		cfg, err := parseConfig("x.json", []byte(tc.body))
		if tc.check == nil {
			if err == nil || !strings.HasPrefix(err.Error(), "x.json:1:1: invalid character") {
				t.Errorf("%q: err %v", tc.body, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.body, err)
			continue
		}
		if !tc.check(cfg) {
			t.Errorf("%q: %+v", tc.body, cfg)
		}
	}
}

// TestConfigDecodeError covers the fallback for an error of encoding/json
// after the scan passed: UnmarshalTypeError.Offset gives the position.
func TestConfigDecodeError(t *testing.T) {
	data := []byte("{\n  \"a\": \"x\"\n}")
	err := json.Unmarshal(data, &struct {
		A int `json:"a"`
	}{})
	s := configScanner{data: data}
	got := s.decodeError("f.json", 0, "", err).Error()
	if want := `f.json:2:10: a: want a whole number, got string`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// FuzzLoadConfig: LoadConfig never panics, accepts only valid configs,
// and rejects with an EINVALID "NAME:LINE:COL: " error inside the file.
func FuzzLoadConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/badconfig/*.json")
	seeds = append(seeds, "testdata/example-config.json")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	lineCol := regexp.MustCompile(`^fuzz\.json:([0-9]+):([0-9]+): `)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig("fuzz.json", data)
		if err == nil {
			if err := cfg.Validate(); err != nil {
				t.Fatalf("accepted an invalid config: %v", err)
			}
			return
		}
		if cm.ErrorCode(err) != cm.EINVALID {
			t.Fatalf("code %s: %v", cm.ErrorCode(err), err)
		}
		m := lineCol.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("error without position: %v", err)
		}
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		lines := bytes.Split(data, []byte{'\n'})
		if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1])+1 {
			t.Fatalf("position %d:%d outside the file (%d lines): %v", line, col, len(lines), err)
		}
	})
}
