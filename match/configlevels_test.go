package match

import (
	"strings"
	"testing"
)

// TestConfigNewKeys: the keys and level kinds of issue 15 load from a
// configuration file, with their range checks.
func TestConfigNewKeys(t *testing.T) {
	cfg, err := parseConfig("c.json", []byte(`{"reportPairs": true, "learnFromDecisions": true,
		"household": {"keepWithIdentifiers": false},
		"dateFieldComparison": {"levels": [{"name": "exact", "kind": "exact"}, {"name": "swap", "kind": "transposedDate"}, {"name": "week", "kind": "withinDays", "threshold": 7}]},
		"comparisons": {"address": {"levels": [{"name": "exact", "kind": "sameAddress"}, {"name": "line", "kind": "sameLine", "threshold": 0.9},
			{"name": "sn", "kind": "sameStreetName", "threshold": 0.9}, {"name": "pp", "kind": "postalPrefix", "threshold": 3}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ReportPairs || !cfg.LearnFromDecisions || cfg.Household.KeepWithIdentifiers || len(cfg.DateFieldComparison.Levels) != 3 || len(cfg.Comparisons["address"].Levels) != 4 {
		t.Errorf("config %+v", cfg)
	}
	if !DefaultConfig().Household.KeepWithIdentifiers || DefaultConfig().LearnFromDecisions || DefaultConfig().ReportPairs {
		t.Error("defaults")
	}
	for _, tc := range []struct{ file, want string }{
		{`{"dateFieldComparison": {"levels": [{"name": "w", "kind": "withinDays", "threshold": 1.5}]}}`, "dateFieldComparison.levels[0].threshold: 1.5 must be a whole number of days"},
		{`{"dateFieldComparison": {"levels": []}}`, "dateFieldComparison.levels: no levels"},
		{`{"comparisons": {"address": {"levels": [{"name": "p", "kind": "postalPrefix", "threshold": 0}]}}}`, "must be a whole number of characters, 1 or more, for kind postalPrefix"},
		{`{"comparisons": {"address": {"levels": [{"name": "s", "kind": "sameStreetName", "threshold": 2}]}}}`, "must be in (0,1] for kind sameStreetName"},
		{`{"blocking": [{"name": "s", "keys": ["nameSets"]}]}`, `unknown key "nameSets"`},
	} {
		_, err := parseConfig("c.json", []byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.file, err, tc.want)
		}
	}
}
