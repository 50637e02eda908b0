package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/store"
)

func TestNewCmdPlanImport(t *testing.T) {
	o, code, msg := parse(t, map[string]string{"USER": "ann"}, newCmdPlanImport, "plan.csv")
	if code != 0 || o.file != "plan.csv" || o.actor != "ann" || o.OpenStore == nil || o.Now == nil {
		t.Fatalf("options %+v, code %d %s", o, code, msg)
	}
	if o, _, _ = parse(t, map[string]string{"USER": "ann"}, newCmdPlanImport, "--actor", "bob", "plan.csv"); o.actor != "bob" {
		t.Errorf("--actor: %q", o.actor)
	}
	if o, _, _ = parse(t, nil, newCmdPlanImport, "plan.csv"); o.actor != "cli" {
		t.Errorf("actor without $USER: %q", o.actor)
	}
	_, code, msg = parse(t, nil, newCmdPlanImport)
	wantRefused(t, code, msg, exitUsage, "accepts 1 arg(s)")
}

// planFixture is a store with two proposed groups, A and B.
func planFixture(t *testing.T) (db string, st store.Store, a, b cm.Group) {
	t.Helper()
	db = testdb.SQLite(t)
	st = testorg.OpenStore(t, db)
	a, b = testGroup(0.95, "a1", "a2"), testGroup(0.9, "b1", "b2")
	if _, err := st.SaveProposals(context.Background(), []cm.Group{a, b}, "match"); err != nil {
		t.Fatal(err)
	}
	return db, st, a, b
}

func groupState(t *testing.T, st cm.Store, id string) cm.GroupState {
	t.Helper()
	g, err := st.Group(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return g.State
}

func TestPlanImportRun(t *testing.T) {
	tests := []struct {
		name string
		csv  string
		code int
		// want are substrings of the output (code 0) or of the error.
		want []string
		// applied: A and B are decided (approved, rejected) afterwards.
		applied bool
	}{
		{name: "decisions", csv: "groupId,decision,reason\n{A},approve,same\n{B},reject,\n", applied: true,
			want: []string{"applied 2 decisions from FILE: 1 approved, 1 rejected"}},
		{name: "a byte-order mark and a quoted header", csv: "\ufeff\"groupId\",\"decision\"\r\n{A},approve\r\n{B},reject\r\n", applied: true,
			want: []string{"applied 2 decisions"}},
		{name: "a bare quote in the first field", csv: "groupId,decision\n{A},approve\nab\"c,Ann\n{B},reject\n", code: exitUsage,
			want: []string{`FILE:3: parse error: bare " in non-quoted-field`, "1 bad row(s); nothing was applied"}},
		{name: "an unterminated quote in the first field", csv: "groupId,decision\n{A},approve\n\"ab,Ann\n{B},reject\n", code: exitUsage,
			want: []string{`FILE:3: parse error: extraneous or missing " in quoted-field`, "nothing was applied"}},
		{name: "a repeated column", csv: "groupId,decision,decision\n{A},approve,reject\n", code: exitUsage,
			want: []string{`FILE:1: column "decision" appears twice (columns 2 and 3)`}},
		{name: "bad rows", csv: "groupId,decision\n{A},maybe\ng_nonexistent,approve\n{B},reject\n", code: exitUsage,
			want: []string{"2 bad row(s); nothing was applied", "FILE:2: decision \"maybe\"", "FILE:3: no group \"g_nonexistent\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, st, a, b := planFixture(t)
			file := filepath.Join(t.TempDir(), "plan.csv")
			text := strings.NewReplacer("{A}", a.ID, "{B}", b.ID).Replace(tt.csv)
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			r := run(t, []string{"CONTACTMERGE_DB=" + db, "USER=steward"}, "plan", "import", file)
			got := r.out
			if tt.code != 0 {
				got = r.err
			}
			if r.code != tt.code {
				t.Fatalf("code %d, want %d\n%s%s", r.code, tt.code, r.out, r.err)
			}
			for _, w := range tt.want {
				if w = strings.ReplaceAll(w, "FILE", file); !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			wantA, wantB := cm.StateProposed, cm.StateProposed
			if tt.applied {
				wantA, wantB = cm.StateApproved, cm.StateRejected
			}
			if sa, sb := groupState(t, st, a.ID), groupState(t, st, b.ID); sa != wantA || sb != wantB {
				t.Errorf("states A %s, B %s; want %s, %s", sa, sb, wantA, wantB)
			}
		})
	}
	r := run(t, []string{"CONTACTMERGE_DB=" + testdb.SQLite(t)}, "plan", "import", filepath.Join(t.TempDir(), "missing.csv"))
	if r.code != exitUsage || !strings.Contains(r.err, "missing.csv") {
		t.Errorf("a missing file: code %d %q", r.code, r.err)
	}
}

// failingStore fails every Transition of the group failOn, as a full disk or
// a lost connection would.
type failingStore struct {
	store.Store
	failOn string
}

func (s failingStore) Transition(ctx context.Context, t cm.Transition) (cm.Group, error) {
	if t.GroupID == s.failOn {
		return cm.Group{}, errors.New("disk I/O error")
	}
	return s.Store.Transition(ctx, t)
}

// TransitionMany fails as a whole when one of ts is for failOn (the store's
// own rollback is tested by the conformance suite).
func (s failingStore) TransitionMany(ctx context.Context, ts []cm.Transition) ([]cm.Group, error) {
	for _, t := range ts {
		if t.GroupID == s.failOn {
			return nil, errors.New("disk I/O error")
		}
	}
	return s.Store.TransitionMany(ctx, ts)
}

// TestPlanImportWriteFailure: a write that fails after every row was
// checked exits 1, applies nothing (the file is one store transaction) and
// says so; importing the file again applies all of it.
func TestPlanImportWriteFailure(t *testing.T) {
	db, st, a, b := planFixture(t)
	file := filepath.Join(t.TempDir(), "plan.csv")
	if err := os.WriteFile(file, []byte("groupId,decision\n"+a.ID+",approve\n"+b.ID+",reject\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, out, _ := testFactory(map[string]string{"CONTACTMERGE_DB": db})
	o := &planImportOptions{IO: f.IO, Now: f.Now, file: file, actor: "steward",
		OpenStore: func(ctx context.Context) (store.Store, error) {
			s, err := f.OpenStore(ctx)
			return failingStore{Store: s, failOn: b.ID}, err
		}}
	err := planImportRun(context.Background(), o)
	var msg bytes.Buffer
	if code := reportError(&msg, err); code != exitFailure {
		t.Fatalf("code %d, want %d: %s", code, exitFailure, msg.String())
	}
	for _, w := range []string{file, "disk I/O error", "nothing was applied", "import it again"} {
		if !strings.Contains(msg.String(), w) {
			t.Errorf("message lacks %q:\n%s", w, msg.String())
		}
	}
	if out.Len() != 0 {
		t.Errorf("a failed import printed a success line: %s", out)
	}
	if sa, sb := groupState(t, st, a.ID), groupState(t, st, b.ID); sa != cm.StateProposed || sb != cm.StateProposed {
		t.Fatalf("after the failure: A %s, B %s; want both proposed (nothing applied)", sa, sb)
	}
	r := run(t, []string{"CONTACTMERGE_DB=" + db}, "plan", "import", file)
	if r.code != 0 || !strings.Contains(r.out, "applied 2 decisions") {
		t.Fatalf("second import: code %d\n%s%s", r.code, r.out, r.err)
	}
	if sa, sb := groupState(t, st, a.ID), groupState(t, st, b.ID); sa != cm.StateApproved || sb != cm.StateRejected {
		t.Errorf("after the second import A is %s, B is %s", sa, sb)
	}
}
