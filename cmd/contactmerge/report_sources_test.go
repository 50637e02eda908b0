package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/sources"
)

func TestNewCmdReportSources(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdReportSources)
	if code != 0 || o.days != 0 || o.asJSON {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdReportSources, "--days", "14", "--json")
	if o.days != 14 || !o.asJSON {
		t.Errorf("flags: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdReportSources, "--days", "-1")
	wantRefused(t, code, msg, exitUsage, "--days must not be negative")
}

// TestReportSourcesRun reports a generated organization's duplicates: the
// tables name the generator's external source, divisions and types, and
// the JSON adds up (every duplicate counted once by type).
func TestReportSourcesRun(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CONTACTMERGE_DB=" + testdb.SQLite(t)}
	generateImportMatch(t, env, dir, sandbox.GenConfig{Contacts: 400, Seed: 9})
	r := run(t, env, "report", "sources")
	for _, want := range []string{"duplicate records in", "CONTACT TYPE", "EXTERNAL SOURCE", "crm", "EMEA Support", "LINKED BY", "New duplicates per day"} {
		if r.code != 0 || !strings.Contains(r.out, want) {
			t.Fatalf("report sources lacks %q: code %d\n%s%s", want, r.code, r.out, r.err)
		}
	}
	r = run(t, env, "report", "sources", "--json")
	var rep sources.Report
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.out)
	}
	sum := 0
	for _, c := range rep.ByType {
		sum += c.Duplicates
	}
	if rep.Groups == 0 || rep.Duplicates != rep.Contacts-rep.Groups || sum != rep.Duplicates || len(rep.PerDay) == 0 {
		t.Fatalf("report: %+v", rep)
	}
}
