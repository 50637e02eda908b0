package match

import (
	"os"
	"path/filepath"
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
		{`{"comparisons": {"phone": {"levls": []}}}`, `comparisons.phone: json: unknown field "levls"`},
		{`{"maxGroupSize": 60}`, "maxGroupSize 60"},
		{`{"comparisons": {"shoeSize": {"levels": []}}}`, `unknown field "shoeSize"`},
		{`{"comparisons": {"phone": {"levels": [{"name": "x", "kind": "fuzzy"}]}}}`, `unknown kind "fuzzy"`},
		{`{"blocking": [{"name": "b", "keys": ["zodiac"]}]}`, `unknown key "zodiac"`},
		{`{"survivor": {"order": ["tallest"]}}`, `unknown criterion "tallest"`},
		{`{"matchThreshold": 1.5}`, "matchThreshold 1.5"},
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
