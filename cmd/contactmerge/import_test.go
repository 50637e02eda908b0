package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewCmdImport(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdImport, "contacts.jsonl")
	if code != 0 || o.file != "contacts.jsonl" || o.skipInvalid {
		t.Fatalf("options %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdImport, "--skip-invalid", "c.csv")
	if o.file != "c.csv" || !o.skipInvalid {
		t.Errorf("--skip-invalid: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdImport)
	wantRefused(t, code, msg, exitUsage, "accepts 1 arg(s), received 0")
	_, code, msg = parse(t, nil, newCmdImport, "a", "b")
	wantRefused(t, code, msg, exitUsage, "accepts 1 arg(s), received 2")
}

func TestImportAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CONTACTMERGE_DB=" + filepath.Join(dir, "cm.db")}
	file := filepath.Join(dir, "c.jsonl")
	data := `{"id":"a","firstName":"Ann"}
{"id":"b","workEmail":"nope"}
{"id":"c","firstName":"Cy"}
`
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, env, "import", file)
	if r.code != 2 || !strings.Contains(r.err, "c.jsonl:2: workEmail") {
		t.Fatalf("import of a bad file: code %d %q", r.code, r.err)
	}
	r = run(t, env, "status", "--json")
	if !strings.Contains(r.out, `"contacts": 0`) {
		t.Fatalf("a rejected file imported something:\n%s", r.out)
	}
	r = run(t, env, "import", "--skip-invalid", file)
	if r.code != 0 || !strings.Contains(r.out, "imported 2") {
		t.Fatalf("--skip-invalid: %s%s", r.out, r.err)
	}
}
