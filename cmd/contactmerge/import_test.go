package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/importer"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdImport(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdImport, "contacts.jsonl")
	if code != 0 || o.file != "contacts.jsonl" || o.skipInvalid {
		t.Fatalf("options %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdImport, "--skip-invalid", "c.csv")
	if o.file != "c.csv" || !o.skipInvalid || o.org != "" || o.asJSON {
		t.Errorf("--skip-invalid: %+v", o)
	}
	o, _, _ = parse(t, nil, newCmdImport, "--org", "org-1", "--json", "c.csv")
	if o.org != "org-1" || !o.asJSON {
		t.Errorf("--org --json: %+v", o)
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
	// A rejected file does not even create the store.
	r = run(t, env, "status", "--json")
	if r.code != 2 || !strings.Contains(r.err, "no store at "+filepath.Join(dir, "cm.db")) {
		t.Fatalf("a rejected file created a store: code %d\n%s%s", r.code, r.out, r.err)
	}
	r = run(t, env, "import", "--skip-invalid", file)
	if r.code != 0 || !strings.Contains(r.out, "imported 2") {
		t.Fatalf("--skip-invalid: %s%s", r.out, r.err)
	}
}

// TestImportBindsOrganization: the first import records its organization
// (--org, else an offline import); an import or a scan of another
// organization is refused with exit 2 and changes nothing.
func TestImportBindsOrganization(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.jsonl")
	if err := os.WriteFile(file, []byte(`{"id":"a","firstName":"Ann"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	offline := []string{"CONTACTMERGE_DB=" + filepath.Join(dir, "offline.db")}
	if r := run(t, offline, "import", file); r.code != 0 || !strings.Contains(r.out, "offline import") {
		t.Fatalf("offline import: code %d\n%s%s", r.code, r.out, r.err)
	}
	r := run(t, offline, "import", "--org", "org-1", file)
	if r.code != 2 || !strings.Contains(r.err, "belongs to an offline import") || !strings.Contains(r.err, "nothing was imported") {
		t.Errorf("--org into an offline store: code %d %q", r.code, r.err)
	}
	o := testorg.New(t, sandbox.Config{Contacts: 20, Seed: 3})
	r = run(t, append(o.Env(), offline...), "scan")
	if r.code != 2 || !strings.Contains(r.err, "holds an offline import") {
		t.Errorf("scan into an offline store: code %d %q", r.code, r.err)
	}

	bound := []string{"CONTACTMERGE_DB=" + filepath.Join(dir, "bound.db")}
	if r := run(t, bound, "import", "--org", "org-1", "--json", file); r.code != 0 || !strings.Contains(r.out, `"id": "org-1"`) {
		t.Fatalf("import --org: code %d\n%s%s", r.code, r.out, r.err)
	}
	if r := run(t, bound, "import", "--org", "org-1", file); r.code != 0 {
		t.Errorf("a second import of the same organization: code %d %q", r.code, r.err)
	}
	for _, args := range [][]string{{"import", file}, {"import", "--org", "org-2", file}} {
		r := run(t, bound, args...)
		if r.code != 2 || !strings.Contains(r.err, "belongs to org-1") || !strings.Contains(r.err, "pass --org org-1") {
			t.Errorf("%v into org-1's store: code %d %q", args, r.code, r.err)
		}
	}
	if r := run(t, bound, "status"); !strings.Contains(r.out, "organization    org-1, recorded by import --org") {
		t.Errorf("status:\n%s", r.out)
	}
}

// TestImportKilledImportsNothing: import writes the whole file in one
// transaction, so a kill -9 at any moment leaves either none or all of its
// 12,000 contacts (it used to commit batches of 5,000, and a kill left 5,000).
func TestImportKilledImportsNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.jsonl")
	var b strings.Builder
	const n = 12000
	for i := range n {
		fmt.Fprintf(&b, `{"id":"c%05d","firstName":"Ann","lastName":"Lee%d","workEmail":"ann%d@example.com"}`+"\n", i, i, i)
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	interrupted := 0
	for k, delay := range []time.Duration{150 * time.Millisecond, 250 * time.Millisecond, 350 * time.Millisecond, 450 * time.Millisecond, 550 * time.Millisecond, 700 * time.Millisecond} {
		db := filepath.Join(dir, fmt.Sprintf("cm%d.db", k))
		args := []string{"import", file}
		if k%2 == 1 {
			args = append(args, "--stream-above=0") // the streamed import too
		}
		cmd := child(t, []string{"CONTACTMERGE_DB=" + db}, args...)
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if _, statErr := os.Stat(db); statErr != nil {
			interrupted++ // killed before the store existed
			continue
		}
		st := testorg.OpenStore(t, db)
		got, cerr := st.CountContacts(context.Background())
		if cerr != nil {
			t.Fatal(cerr)
		}
		if got != 0 && got != n {
			t.Errorf("kill -9 after %s: %d of %d contacts imported", delay, got, n)
		}
		if got == 0 || err != nil {
			interrupted++
		}
		t.Logf("kill -9 after %s: %d contacts (process: %v)", delay, got, err)
	}
	if interrupted == 0 {
		t.Log("every import finished before its kill: this run proved nothing about a partial import")
	}
}

// TestImportStreamsEveryLine: a JSONL file of several decoding chunks is
// validated whole before the store exists (every bad line reported, across
// chunks), and with --skip-invalid written with exactly the valid lines:
// a repeated id stays the first line's.
func TestImportStreamsEveryLine(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "cm.db")
	env := []string{"CONTACTMERGE_DB=" + db}
	file := filepath.Join(dir, "c.jsonl")
	var b strings.Builder
	const n = 3000
	for i := range n {
		switch i + 1 {
		case 1500:
			b.WriteString(`{"id":"bad","workEmail":"nope"}` + "\n")
		case 2500:
			b.WriteString(`{"id":"c00010","firstName":"Again"}` + "\n")
		default:
			fmt.Fprintf(&b, `{"id":"c%05d","firstName":"Ann%d"}`+"\n", i, i)
		}
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"--stream-above=1073741824", "--stream-above=0"} { // in memory, streamed
		r := run(t, env, "import", mode, file)
		if r.code != 2 || !strings.Contains(r.err, "c.jsonl:1500: workEmail") || !strings.Contains(r.err, "c.jsonl:2500: id: duplicate of line 11") {
			t.Fatalf("%s: import of a bad file: code %d %q", mode, r.code, r.err)
		}
		if _, err := os.Stat(db); !os.IsNotExist(err) {
			t.Fatalf("%s: a rejected file created the store (%v)", mode, err)
		}
		r = run(t, env, "import", mode, "--skip-invalid", "--json", file)
		if r.code != 0 || !strings.Contains(r.out, `"imported": 2998`) {
			t.Fatalf("%s --skip-invalid: code %d\n%s%s", mode, r.code, r.out, r.err)
		}
		st := testorg.OpenStore(t, db)
		ctx := context.Background()
		if got, _ := st.CountContacts(ctx); got != n-2 {
			t.Errorf("%s: %d contacts stored, want %d", mode, got, n-2)
		}
		cs, err := st.Contacts(ctx, []string{"c00010", "c02999"})
		if err != nil {
			t.Fatal(err)
		}
		if cs["c00010"].FirstName != "Ann10" || cs["c02999"].FirstName != "Ann2999" {
			t.Errorf("%s: stored %+v", mode, cs)
		}
		st.Close()
		for _, f := range []string{db, db + "-wal", db + "-shm"} {
			_ = os.Remove(f)
		}
	}
}

// TestImportStoresWhatUpsertWould: an import (read into memory and
// streamed) stores for every contact what UpsertContacts of the contacts
// ReadFile returns stores: data decoding to the same contact, the same
// norm (so a match finds the same groups), division and type. The file
// has generated contacts, some written with whitespace, a field set to an
// empty array and a date with an offset (which the import marshals).
func TestImportStoresWhatUpsertWould(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.jsonl")
	var b bytes.Buffer
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 3000, Seed: 11})
	for i, c := range org.Contacts {
		line, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 7 {
		case 1:
			var ind bytes.Buffer
			if err := json.Indent(&ind, line, "", "  "); err != nil {
				t.Fatal(err)
			}
			line = bytes.ReplaceAll(ind.Bytes(), []byte("\n"), nil)
		case 2:
			line = append(line[:len(line)-1], []byte(`,"mergeSet":[]}`)...)
		case 3:
			c.ModifyDate = c.ModifyDate.In(time.FixedZone("", 0))
			c.CreateDate = c.CreateDate.In(time.FixedZone("", 3600))
			if line, err = json.Marshal(c); err != nil {
				t.Fatal(err)
			}
			line = bytes.Replace(line, []byte(`Z"`), []byte(`+00:00"`), 1)
		}
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := filepath.Join(dir, "want.db")
	read, err := importer.ReadFile(file)
	if err != nil || len(read.Invalid) > 0 {
		t.Fatalf("read: %v %v", err, read.Invalid)
	}
	st := testorg.OpenStore(t, want)
	if err := st.UpsertContacts(ctx, read.Contacts); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, mode := range []string{"--stream-above=1073741824", "--stream-above=0"} { // in memory, streamed
		got := filepath.Join(dir, strings.TrimPrefix(mode, "--stream-above=")+".db")
		if r := run(t, []string{"CONTACTMERGE_DB=" + got}, "import", mode, file); r.code != 0 {
			t.Fatalf("%s: import: %s%s", mode, r.out, r.err)
		}
		w, g := storedRows(t, want), storedRows(t, got)
		if len(g) != len(org.Contacts) || len(w) != len(g) {
			t.Fatalf("%s: %d contacts stored, UpsertContacts stored %d, want %d", mode, len(g), len(w), len(org.Contacts))
		}
		for id, wr := range w {
			if !reflect.DeepEqual(g[id], wr) {
				t.Fatalf("%s: contact %s is stored as\n %+v\nwhere UpsertContacts stores\n %+v", mode, id, g[id], wr)
			}
		}
	}
}

// storedRow is what a store keeps of a contact, its data decoded.
type storedRow struct {
	contact       cm.Contact
	norm          string
	division, typ string
	modifyDate    int64
}

// storedRows reads every contact of the SQLite store at path.
func storedRows(t *testing.T, path string) map[string]storedRow {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Query("SELECT id, data, norm, division_id, type, modify_date FROM contacts")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[string]storedRow{}
	for rs.Next() {
		var id string
		var data, norm []byte
		var r storedRow
		if err := rs.Scan(&id, &data, &norm, &r.division, &r.typ, &r.modifyDate); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &r.contact); err != nil {
			t.Fatalf("%s: contact %s: %v", path, id, err)
		}
		r.norm = string(norm)
		out[id] = r
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
