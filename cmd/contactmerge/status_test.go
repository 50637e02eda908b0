package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdStatus(t *testing.T) {
	if o, code, _ := parse(t, nil, newCmdStatus, "--json"); code != 0 || !o.asJSON || o.StoreName == nil {
		t.Errorf("--json: %+v", o)
	}
	_, code, msg := parse(t, nil, newCmdStatus, "now")
	wantRefused(t, code, msg, exitUsage, "unknown command")
}

func TestStatusRun(t *testing.T) {
	db, st, a, _ := planFixture(t)
	ctx := context.Background()
	if err := st.AppendLedger(ctx,
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: a.ID, Status: 200},
		cm.LedgerEvent{Kind: cm.LedgerAPI, GroupID: a.ID, Status: 429},
		cm.LedgerEvent{Kind: cm.LedgerNote, GroupID: a.ID}); err != nil {
		t.Fatal(err)
	}
	if err := st.BindOrg(ctx, cm.Org{ID: "org-1", Name: "Acme", Source: "scan"}); err != nil {
		t.Fatal(err)
	}
	// The request counters, not the ledger, count throttled responses: the
	// ledger keeps one row per merge outcome.
	if err := st.AddRequestCounts(ctx, []cm.RequestCount{
		{Route: "/api/v2/externalcontacts/contacts/merge", Status: 200, N: 1},
		{Route: "/api/v2/externalcontacts/contacts/merge", Status: 429, N: 4},
		{Route: "/api/v2/externalcontacts/bulk/contacts", Status: 429, N: 2},
		{Route: "/api/v2/externalcontacts/bulk/contacts", Status: 200, N: 3},
	}); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONTACTMERGE_DB=" + db}
	r := run(t, env, "status")
	lines := strings.Split(r.out, "\n")
	if len(lines) < 2 || lines[0] != "store           sqlite "+db || !strings.HasPrefix(lines[1], "organization    Acme (org-1), recorded by scan on ") {
		t.Errorf("status does not start with the store and its organization:\n%s", r.out)
	}
	for _, w := range []string{"scan            never run", "groups          2", "  proposed      2",
		"merge requests  2 in the ledger (1× 200, 1× 429)", "api requests    10 (6 throttled)"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("status lacks %q:\n%s", w, r.out)
		}
	}
	r = run(t, env, "status", "--json")
	var rep statusReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatal(err, r.out)
	}
	if rep.Store != (statusStore{Kind: "sqlite", Location: db}) || rep.Organization == nil || rep.Organization.ID != "org-1" ||
		rep.GroupsTotal != 2 || rep.Groups[cm.StateProposed] != 2 || rep.Merges.Total != 2 || rep.Merges.ByStatus[429] != 1 ||
		rep.Requests.Total != 10 || rep.Requests.Throttled != 6 || rep.Requests.ByStatus[429] != 6 ||
		rep.Requests.ByRoute["/api/v2/externalcontacts/bulk/contacts"] != 5 {
		t.Errorf("status --json: %+v", rep)
	}
}

// TestReadOnlyCommandsCreateNoStore: the commands that read a store refuse
// a missing one, exit 2 with the store's name, and create nothing: neither
// a SQLite file nor a PostgreSQL schema's tables.
func TestReadOnlyCommandsCreateNoStore(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	want := "no store at " + missing + ": run 'contactmerge scan' or 'import' first"
	o := testorg.New(t, sandbox.Config{Contacts: 20, Seed: 1})
	for _, args := range [][]string{
		{"status"}, {"status", "--json"}, {"report"}, {"report", "--id-map"}, {"plan", "show"},
		{"plan", "export"}, {"match"}, {"run", "--yes"}, {"run", "--dry-run"},
	} {
		// --db wins over CONTACTMERGE_DB.
		r := run(t, append(o.Env(), "CONTACTMERGE_DB="+filepath.Join(dir, "other.db")), append([]string{"--db", missing}, args...)...)
		if r.code != 2 || !strings.Contains(r.err, want) {
			t.Errorf("%v: code %d %q, want 2 with %q", args, r.code, r.err, want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the refused commands created %v", ents)
	}
	// Without --db, the variable names the store.
	r := run(t, []string{"CONTACTMERGE_DB=" + missing}, "status")
	if r.code != 2 || !strings.Contains(r.err, want) {
		t.Errorf("status: code %d %q", r.code, r.err)
	}
	// auth check has nothing to refuse: it says there is no store.
	r = run(t, append(o.Env(), "CONTACTMERGE_DB="+missing), "auth", "check")
	if r.code != 0 || !strings.Contains(r.out, "store         none at "+missing) {
		t.Errorf("auth check without a store: code %d\n%s%s", r.code, r.out, r.err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a store was created at %s", missing)
	}

	if os.Getenv("TEST_DATABASE_URL") == "" {
		return
	}
	pg := testdb.Postgres(t) // a fresh, empty schema
	r = run(t, []string{"CONTACTMERGE_DB=" + pg}, "status")
	if r.code != 2 || !strings.Contains(r.err, "no store at ") || !strings.Contains(r.err, "never migrated") {
		t.Errorf("status on an empty PostgreSQL schema: code %d %q", r.code, r.err)
	}
	if r = run(t, []string{"CONTACTMERGE_DB=" + pg}, "report"); r.code != 2 {
		t.Errorf("report on an empty PostgreSQL schema: code %d %q", r.code, r.err)
	}
	st := testorg.OpenStore(t, pg) // now it exists
	_ = st
	if r = run(t, []string{"CONTACTMERGE_DB=" + pg}, "status"); r.code != 0 || !strings.Contains(r.out, "organization    none recorded") {
		t.Errorf("status of an existing PostgreSQL store: code %d\n%s%s", r.code, r.out, r.err)
	}
}
