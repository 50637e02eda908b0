package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdMatch(t *testing.T) {
	o, code, msg := parse(t, map[string]string{"USER": "ann"}, newCmdMatch)
	if code != 0 || o.config != "" || o.autoApprove || o.asJSON || o.actor != "ann" || o.OpenStore == nil {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdMatch, "--config", "m.json", "--auto-approve", "--json", "--actor", "policy-bot")
	if o.config != "m.json" || !o.autoApprove || !o.asJSON || o.actor != "policy-bot" || o.full || o.reestimate {
		t.Errorf("flags: %+v", o)
	}
	o, _, _ = parse(t, nil, newCmdMatch, "--full")
	if !o.full || o.reestimate {
		t.Errorf("--full: %+v", o)
	}
	o, _, _ = parse(t, nil, newCmdMatch, "--reestimate")
	if o.full || !o.reestimate {
		t.Errorf("--reestimate: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdMatch, "extra")
	wantRefused(t, code, msg, exitUsage, "unknown command")
}

func TestLoadMatchConfig(t *testing.T) {
	if _, err := loadMatchConfig(""); err != nil {
		t.Errorf("no --config: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := loadMatchConfig(bad); reportError(&b, err) != exitUsage {
		t.Errorf("a bad --config file: %v (%s)", err, b.String())
	}
}

// TestMatchConfigRegionReachesStoredContacts is the house issue's regression:
// import stores norms of the default (US) configuration; `match --config`
// with defaultRegion GB must normalize the UK numbers to +44 anyway, so the
// two spellings of one number link.
func TestMatchConfigRegionReachesStoredContacts(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CONTACTMERGE_DB=" + filepath.Join(dir, "cm.db"), "USER=ann"}
	file := filepath.Join(dir, "uk.csv")
	rows := [][]string{
		{"id", "firstName", "lastName", "cellPhone", "city"},
		{"uk1", "Oliver", "Bennett", "07700 900123", "Leeds"},
		{"uk2", "Oliver", "Bennett", "+44 7700 900123", "Leeds"},
	}
	// A population of distinct people, so that the model has something to
	// learn what chance agreement looks like from.
	first := []string{"Amelia", "Harry", "Isla", "Jack", "Ava", "George", "Mia", "Noah", "Ivy", "Leo", "Freya", "Oscar"}
	last := []string{"Hughes", "Patel", "Wright", "Khan", "Evans", "Clarke", "Walsh", "Begum", "Price", "Lloyd", "Moss", "Reid", "Shaw", "Webb"}
	cities := []string{"London", "Leeds", "York", "Bath", "Hull"}
	for i := range 300 {
		rows = append(rows, []string{fmt.Sprintf("bg%03d", i), first[i%len(first)], last[(i/len(first))%len(last)],
			fmt.Sprintf("07700 %06d", 100000+i*37), cities[i%len(cities)]})
	}
	writeCSV(t, file, rows)
	if r := run(t, env, "import", file); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.err)
	}
	cfg := filepath.Join(dir, "gb.json")
	if err := os.WriteFile(cfg, []byte(`{"defaultRegion": "GB"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, env, "match", "--config", cfg, "--json")
	if r.code != 0 {
		t.Fatalf("match --config gb.json: %d %s", r.code, r.err)
	}
	if !strings.Contains(r.out, `"normalized": 302`) {
		t.Errorf("match did not normalize the 302 stored contacts again under the GB config:\n%s", r.out)
	}
	if got := phoneEvidence(t, env); got != "exact +447700900123 +447700900123" {
		t.Errorf("phone evidence of uk1~uk2 under the GB config = %q, want an exact match of +44 numbers", got)
	}
	// The same store matched with the default configuration keeps the
	// national number unparsed: the config is what made the difference.
	if r := run(t, env, "match", "--json"); r.code != 0 {
		t.Fatalf("match: %d %s", r.code, r.err)
	}
	if got := phoneEvidence(t, env); strings.HasPrefix(got, "exact") {
		t.Errorf("phone evidence under the default (US) config = %q: the region did not matter", got)
	}
}

// phoneEvidence returns "LEVEL A B" of the phone comparison of the group
// holding uk1 and uk2 (plan export --format jsonl), or fails.
func phoneEvidence(t *testing.T, env []string) string {
	t.Helper()
	r := run(t, env, "plan", "export", "--format", "jsonl")
	if r.code != 0 {
		t.Fatalf("plan export: %d %s", r.code, r.err)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		var g cm.Group
		if err := json.Unmarshal([]byte(line), &g); err != nil {
			t.Fatalf("plan export line %q: %v", line, err)
		}
		if !slices.Contains(g.Members, "uk1") || !slices.Contains(g.Members, "uk2") || g.Explanation == nil {
			continue
		}
		for _, l := range g.Explanation.Links {
			for _, f := range l.Fields {
				if f.Field == "phone" {
					return f.Level + " " + f.A + " " + f.B
				}
			}
		}
	}
	t.Fatalf("no group links uk1 and uk2:\n%s", r.out)
	return ""
}

// TestMatchTruth: `match --truth` evaluates the groups against known
// clusters (the sandbox's ground truth) and reports precision, recall, the
// loss per stage and calibration in --json; a bad truth file is exit 2.
func TestMatchTruth(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 1500, Seed: 3, RateLimit: 100000})
	db := testdb.SQLite(t)
	st := testorg.OpenStore(t, db)
	bindOrg(t, st, o)
	if _, err := engine.Scan(t.Context(), o.Client(t, nil), st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	truth := filepath.Join(t.TempDir(), "truth.json")
	b, err := json.Marshal(o.SB.Truth())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truth, b, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONTACTMERGE_DB=" + db}
	r := run(t, env, "match", "--truth", truth, "--json")
	if r.code != 0 {
		t.Fatalf("match --truth: %d %s", r.code, r.err)
	}
	var out struct {
		Evaluation *struct {
			Precision, Recall, F1, ECE float64
			Reliability                []json.RawMessage
		} `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(r.out), &out); err != nil || out.Evaluation == nil {
		t.Fatalf("no evaluation in the JSON (%v):\n%s", err, r.out)
	}
	e := out.Evaluation
	t.Logf("precision %.4f recall %.4f F1 %.4f ECE %.4f", e.Precision, e.Recall, e.F1, e.ECE)
	if e.Precision < 0.99 || e.Recall < 0.9 || len(e.Reliability) == 0 {
		t.Errorf("evaluation %+v: want precision ≥ 0.99, recall ≥ 0.9 and a reliability table", e)
	}
	if r := run(t, env, "match", "--truth", truth); r.code != 0 || !strings.Contains(r.out, "reliability") {
		t.Errorf("text mode: %d\n%s%s", r.code, r.out, r.err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("[not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, env, "match", "--truth", bad); r.code != exitUsage || !strings.Contains(r.err, "bad.json") {
		t.Errorf("a bad truth file: code %d %s", r.code, r.err)
	}
}

// writeJSONL writes contacts to a JSONL file, one a line.
func writeJSONL(t *testing.T, path string, cs []cm.Contact) {
	t.Helper()
	var b strings.Builder
	for _, c := range cs {
		line, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMatchIncremental: the first match is full and estimates the model;
// the next is incremental and says why, finds nothing changed on the same
// snapshot, and after an import of new and edited contacts re-clusters only
// those and keeps every other group; --full and --reestimate force the
// other modes, and --json reports the mode and the changes.
func TestMatchIncremental(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CONTACTMERGE_DB=" + filepath.Join(dir, "cm.db"), "USER=ann"}
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 1500, Seed: 9})
	file := filepath.Join(dir, "org.jsonl")
	writeJSONL(t, file, org.Contacts)
	if r := run(t, env, "import", file); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.err)
	}
	r := run(t, env, "match")
	if r.code != 0 || !strings.Contains(r.out, "full match, model estimated: no previous match state") {
		t.Fatalf("first match: %d\n%s%s", r.code, r.out, r.err)
	}
	r = run(t, env, "match")
	if r.code != 0 || !strings.Contains(r.out, "incremental match: nothing changed since the last match") ||
		!strings.Contains(r.out, "groups: 0 new,") || !strings.Contains(r.out, "0 superseded") {
		t.Fatalf("second match: %d\n%s%s", r.code, r.out, r.err)
	}
	// A new duplicate of a stored contact and an edited contact.
	dup := org.Contacts[0]
	dup.ID = "00000000-0000-4000-8000-00000000d0b1"
	edited := org.Contacts[1]
	edited.LastName += "x"
	edited.ModifyDate = edited.ModifyDate.Add(time.Hour)
	more := filepath.Join(dir, "more.jsonl")
	writeJSONL(t, more, []cm.Contact{dup, edited})
	if r := run(t, env, "import", more); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.err)
	}
	r = run(t, env, "match", "--json")
	var out struct {
		Mode    struct{ Incremental, Estimated bool }
		Changes struct{ New, Edited, Deleted, Affected int }
		Saved   struct{ Created, Kept int }
	}
	if err := json.Unmarshal([]byte(r.out), &out); err != nil || r.code != 0 {
		t.Fatalf("match --json: %d %v\n%s%s", r.code, err, r.out, r.err)
	}
	if !out.Mode.Incremental || out.Changes.New != 1 || out.Changes.Edited != 1 || out.Changes.Affected < 2 || out.Saved.Created < 1 || out.Saved.Kept < 50 {
		t.Fatalf("incremental after an import: %+v", out)
	}
	r = run(t, env, "match", "--full")
	if r.code != 0 || !strings.Contains(r.out, "full match, kept model: --full") || !strings.Contains(r.out, "0 new,") || !strings.Contains(r.out, "0 superseded") {
		t.Fatalf("match --full: %d\n%s%s", r.code, r.out, r.err)
	}
	r = run(t, env, "match", "--reestimate")
	if r.code != 0 || !strings.Contains(r.out, "full match, model estimated: --reestimate") {
		t.Fatalf("match --reestimate: %d\n%s%s", r.code, r.out, r.err)
	}
}
