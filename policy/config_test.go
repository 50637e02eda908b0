package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
)

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	body := `{
  "minConfidence": 0.999,
  "maxGroupSize": 4,
  "maxMergesPerCycle": 200,
  "uniqueCustomFields": ["loyaltyId"],
  "typeRule": "intoCurated"
}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{Path: path, Mode: Shadow, MinConfidence: 0.999, MaxGroupSize: 4, MaxMergesPerCycle: 200,
		UniqueCustomFields: []string{"loyaltyId"}, BirthDateFields: DefaultBirthDateFields(), TypeRule: TypeIntoCurated}
	if d := cmp.Diff(want, p); d != "" {
		t.Fatalf("Load (-want +got):\n%s", d)
	}
	// Everything explicitly allowed, enforce, no birth date fields.
	p, err = Parse("all.json", []byte(`{"mode": "enforce", "allowEverything": true, "birthDateFields": []}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != Enforce || p.MinConfidence != 0 || p.MaxMergesPerCycle != 0 || len(p.BirthDateFields) != 0 || p.TypeRule != TypeAny {
		t.Fatalf("allowEverything policy = %+v", p)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"everything", `{"mode": "enforce"}`,
			`p.json:1:1: minConfidence: missing: without a threshold the policy approves every group; set it, or set "allowEverything": true to mean it`},
		{"no cap", "{\n  \"minConfidence\": 0.99\n}",
			`p.json:1:1: maxMergesPerCycle: missing: without a cap one cycle may approve every group`},
		{"range", "{\n  \"minConfidence\": 2,\n  \"maxMergesPerCycle\": 10\n}", `p.json:2:20: minConfidence: 2 must be in (0,1]`},
		{"cap zero", `{"minConfidence": 0.9, "maxMergesPerCycle": 0}`, `p.json:1:45: maxMergesPerCycle: 0 must be at least 1`},
		{"mode", "{\"minConfidence\": 0.9, \"maxMergesPerCycle\": 1,\n \"mode\": \"on\"}", `p.json:2:10: mode: "on" is not "shadow" or "enforce"`},
		{"type", `{"minConfidence": 0.9, "maxMergesPerCycle": 1, "maxGroupSize": "4"}`, `p.json:1:64: maxGroupSize: want a whole number, got string`},
		{"unknown", "{\n \"minConfidense\": 0.9}", `p.json:2:2: minConfidense: unknown field "minConfidense" (did you mean "minConfidence"?)`},
		{"duplicate", `{"minConfidence": 0.9, "minConfidence": 0.8}`, `p.json:1:24: minConfidence: given twice (first at 1:19)`},
		{"null", `{"uniqueCustomFields": null}`, `p.json:1:24: uniqueCustomFields: want an array of strings, got null`},
		{"empty field", `{"minConfidence": 0.9, "maxMergesPerCycle": 1, "uniqueCustomFields": ["a", " "]}`, `p.json:1:70: uniqueCustomFields: entry 1 is empty`},
		{"typeRule", `{"minConfidence": 0.9, "maxMergesPerCycle": 1, "typeRule": "curated"}`, `p.json:1:60: typeRule: "curated" is not "any" or "intoCurated"`},
		{"size one", `{"minConfidence": 0.9, "maxMergesPerCycle": 1, "maxGroupSize": 1}`, `maxGroupSize: 1 must be at least 2`},
		{"syntax", "{\"minConfidence\": 0.9,\n  \"maxMergesPerCycle\" 3}", `p.json:2:23: maxMergesPerCycle: invalid character '3' after object key`},
		{"truncated", `{"minConfidence": 0.9`, `p.json:1:22: unexpected end of JSON input`},
		{"not an object", `[1]`, `p.json:1:1: want an object, got an array`},
		{"trailing", `{"allowEverything": true} {}`, `p.json:1:27: unexpected data after the policy object`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("p.json", []byte(tc.body))
			if cm.ErrorCode(err) != cm.EINVALID || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %+v, %v; want EINVALID %q", p, err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); cm.ErrorCode(err) != cm.EINVALID || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("Load of a missing file = %v", err)
	}
}
