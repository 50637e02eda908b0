package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/restore"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

func TestNewCmdRestore(t *testing.T) {
	tests := []struct {
		args  string
		check func(*restoreOptions) bool
		code  int
		msg   string
	}{
		{args: "g_1", check: func(o *restoreOptions) bool {
			return o.group == "g_1" && o.members == nil && !o.yes && !o.keepEdited && !o.asJSON && o.settle == 2*time.Minute &&
				o.leaseTTL == 2*time.Minute && o.Factory != nil
		}},
		{args: "g_1 --members a,b --yes --keep-edited --json --verify-settle 1s --lease-ttl 5s --actor ann", check: func(o *restoreOptions) bool {
			return slices.Equal(o.members, []string{"a", "b"}) && o.yes && o.keepEdited && o.asJSON && o.settle == time.Second &&
				o.leaseTTL == 5*time.Second && o.actor == "ann"
		}},
		{args: "g_1 -y", check: func(o *restoreOptions) bool { return o.yes }},
		{args: "", code: exitUsage, msg: "accepts 1 arg"},
		{args: "g_1 g_2", code: exitUsage, msg: "accepts 1 arg"},
		{args: "g_1 --members a,,b", code: exitUsage, msg: "--members holds an empty contact id"},
		{args: "g_1 --verify-settle 0s", code: exitUsage, msg: "must be positive"},
		{args: "g_1 --lease-ttl soon", code: exitUsage, msg: "--lease-ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			o, code, msg := parse(t, nil, newCmdRestore, strings.Fields(tt.args)...)
			if tt.code != 0 {
				wantRefused(t, code, msg, tt.code, tt.msg)
				return
			}
			if code != 0 || !tt.check(o) {
				t.Errorf("options %+v, code %d %s", o, code, msg)
			}
		})
	}
}

// restoreJSONL: a, b and c are one customer, d another that was merged
// with them by mistake; e and f make a group that is not merged.
const restoreJSONL = `{"id":"a","type":"Curated","firstName":"Ann","lastName":"Lee","cellPhone":{"display":"+1 704-555-0101"},"personalEmail":"ann@example.com","externalIds":[{"externalSource":{"name":"crm"},"value":"CRM-A"}],"modifyDate":"2025-06-01T00:00:00.000Z"}
{"id":"b","type":"Curated","firstName":"Ann","lastName":"Lee","cellPhone":{"display":"+1 704-555-0101"},"workEmail":"ann@work.example","modifyDate":"2025-05-01T00:00:00.000Z"}
{"id":"c","type":"Curated","firstName":"Anne","lastName":"Lee","homePhone":{"display":"+1 704-555-0103"},"personalEmail":"ann@example.com","modifyDate":"2025-04-01T00:00:00.000Z"}
{"id":"d","type":"Curated","firstName":"Ann","lastName":"Leigh","title":"Engineer","otherPhone":{"display":"+1 704-555-0199"},"otherEmail":"ann.leigh@example.net","externalIds":[{"externalSource":{"name":"crm"},"value":"CRM-D"}],"modifyDate":"2025-03-01T00:00:00.000Z"}
{"id":"e","type":"Curated","firstName":"Cy","lastName":"Ray","modifyDate":"2025-03-01T00:00:00.000Z"}
{"id":"f","type":"Curated","firstName":"Cy","lastName":"Ray","modifyDate":"2025-03-02T00:00:00.000Z"}
`

// hold makes the sandbox hang the answer of one kind of write ("POST":
// the create, applied first; "PUT": the update, not applied) until the
// client goes away, and reports when it did.
type hold struct {
	next http.Handler
	mu   sync.Mutex
	what string
	hit  chan struct{}
}

func (h *hold) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	what := h.what
	h.mu.Unlock()
	create := r.Method == http.MethodPost && r.URL.Path == "/api/v2/externalcontacts/contacts"
	update := r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v2/externalcontacts/contacts/") &&
		!strings.HasSuffix(r.URL.Path, "/00000000-0000-0000-0000-000000000000") // not the permission probe
	switch {
	case what == "POST" && create:
		h.next.ServeHTTP(httptest.NewRecorder(), r)
	case what == "PUT" && update:
		// The server notices a client gone only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
	default:
		h.next.ServeHTTP(w, r)
		return
	}
	select {
	case h.hit <- struct{}{}:
	default:
	}
	select {
	case <-r.Context().Done():
	case <-time.After(30 * time.Second):
	}
}

// mergedForRestore starts a sandbox over restoreJSONL (faults as given,
// writes passed through h when set), scans it into a store bound to it,
// approves {a,b,c,d} and {e,f} and merges the first with `run`.
func mergedForRestore(t *testing.T, dsn string, seed int64, faults sandbox.Faults, h *hold) (*testorg.Org, store.Store, []string, cm.Group, cm.Group) {
	t.Helper()
	ctx := context.Background()
	cfg := sandbox.Config{Load: strings.NewReader(restoreJSONL), RateLimit: -1, Faults: faults, GatewayTimeout: 50 * time.Millisecond, Seed: seed}
	var wrap func(http.Handler) http.Handler
	if h != nil {
		wrap = func(next http.Handler) http.Handler { h.next = next; return h }
	}
	o := testorg.NewWrapped(t, cfg, wrap)
	st := testorg.OpenStore(t, dsn)
	bindOrg(t, st, o)
	if _, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, err := st.Contacts(ctx, []string{"a", "b", "c", "d", "e", "f"})
	if err != nil {
		t.Fatal(err)
	}
	g, other := testorg.PlanGroup([]string{"a", "b", "c", "d"}, cs), testorg.PlanGroup([]string{"e", "f"}, cs)
	testorg.Approve(t, st, []cm.Group{g})
	env := append(o.Env(), "CONTACTMERGE_DB="+dsn)
	if r := run(t, env, "run", "--yes", "--verify-settle", "300ms"); r.code != 0 {
		t.Fatalf("run: %d %s%s", r.code, r.out, r.err)
	}
	// The other group is approved after the run, so that it stays unmerged.
	if _, err := st.SaveProposals(ctx, []cm.Group{g, other}, "test"); err != nil {
		t.Fatal(err)
	}
	if g, err = st.Group(ctx, g.ID); err != nil || g.State != cm.StateMerged {
		t.Fatalf("group %+v, %v", g, err)
	}
	if other, err = st.Group(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	return o, st, env, g, other
}

// ownValues are d's values that no other member had.
var dOwn = []string{"+17045550199", "ann.leigh@example.net", "CRM-D", "Engineer"}

// checkOneRestore asserts that d was restored exactly once, as a contact
// with its values, and that the canonical contact lost only d's own
// values.
func checkOneRestore(t *testing.T, o *testorg.Org, st store.Store, g cm.Group) string {
	t.Helper()
	n := 0
	for _, op := range o.SB.Oplog() {
		if op.Op == "create" {
			n++
		}
	}
	rs, err := restore.Restorations(context.Background(), st)
	if n != 1 || err != nil || len(rs) != 1 || rs[0].OldID != "d" {
		t.Fatalf("%d contacts created, restorations %+v (%v); want exactly one, of d", n, rs, err)
	}
	got, _ := o.SB.Contact(rs[0].RestoredID)
	b, _ := json.Marshal(got)
	for _, v := range append(slices.Clone(dOwn), "Leigh") {
		if !strings.Contains(string(b), v) {
			t.Errorf("the restored contact lacks d's %s: %s", v, b)
		}
	}
	canon, _ := o.SB.Contact(o.Final(g.CanonicalID))
	cb, _ := json.Marshal(canon)
	for _, v := range dOwn {
		if strings.Contains(string(cb), v) {
			t.Errorf("the canonical contact still holds d's own %s: %s", v, cb)
		}
	}
	for _, v := range []string{"+17045550101", "+17045550103", "ann@example.com", "ann@work.example", "CRM-A"} {
		if !strings.Contains(string(cb), v) {
			t.Errorf("the canonical contact lost %s of a staying member: %s", v, cb)
		}
	}
	return rs[0].RestoredID
}

func TestRestoreCommand(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			o, st, env, g, other := mergedForRestore(t, dsn(t), 5, nil, nil)
			ops := len(o.SB.Oplog())
			// Bad input: exit 2, nothing sent.
			for _, tc := range []struct {
				args []string
				want string
			}{
				{[]string{"restore", other.ID, "--yes"}, "not merged"},
				{[]string{"restore", g.ID, "--members", "e", "--yes"}, "contact e is not a member of group " + g.ID},
				{[]string{"restore", "g_nope", "--yes"}, "no group g_nope"},
				{[]string{"restore", g.ID, "--members", "d"}, "pass --yes"},
			} {
				if r := run(t, env, tc.args...); r.code != exitUsage || !strings.Contains(r.err, tc.want) {
					t.Errorf("%v: code %d\n%s%s\nwant exit 2 with %q", tc.args, r.code, r.out, r.err, tc.want)
				}
			}
			if r := runIO(t, env, "no\n", true, "restore", g.ID, "--members", "d"); r.code != exitUsage || !strings.Contains(r.err, `the answer was "no"`) {
				t.Errorf("answered no: %d %s", r.code, r.err)
			}
			if n := len(o.SB.Oplog()); n != ops {
				t.Fatalf("refused restores changed the platform (%d operations, want %d)", n, ops)
			}
			// The plan, then yes.
			r := runIO(t, env, "yes\n", true, "restore", g.ID, "--members", "d")
			if r.code != 0 {
				t.Fatalf("restore: %d\n%s%s", r.code, r.out, r.err)
			}
			for _, want := range []string{"plan: restore 1 member(s) of merged group " + g.ID, "create a contact from the before-image of d",
				"remove from the canonical contact", `"Engineer"`, "Cannot be restored:", "conversations, notes", "new id", "restored d as "} {
				if !strings.Contains(r.out, want) {
					t.Errorf("restore output lacks %q:\n%s", want, r.out)
				}
			}
			nid := checkOneRestore(t, o, st, g)
			// Its requests are in the store's counters.
			counts, err := st.RequestCounts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(counts, func(c cm.RequestCount) bool { return c.Route == "/api/v2/externalcontacts/contacts" && c.N > 0 }) {
				t.Errorf("no create in the request counters: %+v", counts)
			}
			// The id map, JSON and CSV.
			r = run(t, env, "report", "--id-map", "--format", "json")
			if !strings.Contains(r.out, `"oldId":"d","canonicalId":"`+g.CanonicalID+`","groupId":"`+g.ID+`","restoredId":"`+nid+`"`) {
				t.Errorf("id map:\n%s", r.out)
			}
			if r = run(t, env, "report", "--id-map"); !strings.HasPrefix(r.out, "oldId,canonicalId,groupId,restoredId\n") || !strings.Contains(r.out, "d,"+g.CanonicalID+","+g.ID+","+nid) {
				t.Errorf("id map CSV:\n%s", r.out)
			}
			// A new scan and match do not propose d (old or new) with the rest.
			if r := run(t, env, "scan"); r.code != 0 {
				t.Fatalf("scan: %s%s", r.out, r.err)
			}
			if r := run(t, env, "match"); r.code != 0 {
				t.Fatalf("match: %s%s", r.out, r.err)
			}
			groups, err := st.Groups(context.Background(), cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}})
			if err != nil {
				t.Fatal(err)
			}
			for _, pg := range groups {
				if slices.Contains(pg.Members, nid) && slices.Contains(pg.Members, o.Final(g.CanonicalID)) {
					t.Errorf("re-match proposes the restored contact with the canonical contact: %v", pg.Members)
				}
			}
			// The ledger shows every request of the restore.
			if r := run(t, env, "report", "--group", g.ID); r.code != 0 || !strings.Contains(r.out, "intent: POST /api/v2/externalcontacts/contacts from the before-image of d") ||
				!strings.Contains(r.out, "intent: PUT /api/v2/externalcontacts/contacts/") || !strings.Contains(r.out, "restored d as "+nid) {
				t.Errorf("report --group:\n%s%s", r.out, r.err)
			}
			// d is restored once.
			if r := run(t, env, "restore", g.ID, "--members", "d", "--yes"); r.code != exitUsage || !strings.Contains(r.err, "restored already as "+nid) {
				t.Errorf("second restore: %d %s", r.code, r.err)
			}
		})
	}
}

// TestRestoreCommandRefusesEdit: a field of the canonical contact edited
// since the merge that the restore would change is shown and refused
// without a terminal (exit 2, nothing sent; --keep-edited goes ahead), and
// asked about on one: yes restores the rest and keeps the edit.
func TestRestoreCommandRefusesEdit(t *testing.T) {
	o, _, env, g, _ := mergedForRestore(t, testdb.SQLite(t), 5, nil, nil)
	ctx := context.Background()
	api := o.Client(t, nil)
	canon, _, err := api.Contacts.Get(ctx, g.CanonicalID)
	if err != nil {
		t.Fatal(err)
	}
	if canon.Title != "Engineer" {
		t.Fatalf("the canonical contact's title is %q, want d's", canon.Title)
	}
	canon.Title = "Staff Engineer"
	if _, _, err := api.Contacts.UpdateContact(ctx, canon.ID, canon); err != nil {
		t.Fatal(err)
	}
	ops := len(o.SB.Oplog())
	r := run(t, env, "restore", g.ID, "--members", "d", "--yes")
	if r.code != exitUsage || !strings.Contains(r.err, "edited since the merge") || !strings.Contains(r.err, `"Staff Engineer"`) ||
		!strings.Contains(r.out, "never overwritten") {
		t.Fatalf("restore over an edit: %d\n%s%s", r.code, r.out, r.err)
	}
	if len(o.SB.Oplog()) != ops {
		t.Fatal("the refused restore sent something")
	}
	// On a terminal the conflict is shown and asked about: no keeps it as it was.
	if r := runIO(t, env, "no\n", true, "restore", g.ID, "--members", "d"); r.code != exitUsage || !strings.Contains(r.err, "Leave these 1 field(s) as they are") {
		t.Fatalf("answered no to the conflict: %d\n%s%s", r.code, r.out, r.err)
	}
	if len(o.SB.Oplog()) != ops {
		t.Fatal("the restore answered no sent something")
	}
	// yes, then yes to the plan: the rest is restored, the edit kept.
	if r := runIO(t, env, "yes\nyes\n", true, "restore", g.ID, "--members", "d"); r.code != 0 || !strings.Contains(r.out, "1 edited field(s) left as they are") {
		t.Fatalf("yes to the conflict: %d\n%s%s", r.code, r.out, r.err)
	}
	if after, _ := o.SB.Contact(o.Final(g.CanonicalID)); after.Title != "Staff Engineer" {
		t.Errorf("the edited title became %q", after.Title)
	}
}

// TestRestoreUnderFaults: with the sandbox answering 30% of writes with a
// 504 after applying them and dropping 20% of connections, the restore
// still creates exactly one contact and finishes.
func TestRestoreUnderFaults(t *testing.T) {
	faults, err := sandbox.ParseFaults("timeout504=0.3,reset=0.2")
	if err != nil {
		t.Fatal(err)
	}
	unknown := 0
	for _, seed := range []int64{1, 2, 3} {
		o, st, env, g, _ := mergedForRestore(t, testdb.SQLite(t), seed, faults, nil)
		r := run(t, env, "restore", g.ID, "--members", "d", "--yes", "--verify-settle", "300ms", "--json")
		if r.code != 0 {
			t.Fatalf("seed %d: restore under faults: %d\n%s%s", seed, r.code, r.out, r.err)
		}
		checkOneRestore(t, o, st, g)
		_ = st.Ledger(context.Background(), cm.LedgerFilter{GroupID: g.ID, Kinds: []cm.LedgerKind{cm.LedgerRestore}}, func(ev cm.LedgerEvent) error {
			if strings.Contains(ev.Request, "outcome=unknown") {
				unknown++
			}
			return nil
		})
		t.Logf("seed %d: sandbox faults %v", seed, o.SB.Stats().Faults)
	}
	if unknown == 0 {
		t.Error("no restore request had an unknown outcome: the faults did not reach the restore")
	}
}

// TestRestoreSurvivesKill: a restore killed (-9) between the create and
// the update, once with the create's answer lost and once with the
// update's, is finished by the next restore with exactly one contact.
func TestRestoreSurvivesKill(t *testing.T) {
	for _, what := range []string{"POST", "PUT"} {
		t.Run(what, func(t *testing.T) {
			h := &hold{what: what, hit: make(chan struct{}, 1)}
			o, st, env, g, _ := mergedForRestore(t, testdb.SQLite(t), 5, nil, h)
			args := []string{"restore", g.ID, "--members", "d", "--yes", "--verify-settle", "300ms", "--lease-ttl", "2s"}
			cmd := child(t, env, args...)
			select {
			case <-h.hit:
			case <-time.After(20 * time.Second):
				t.Fatal("the restore never reached the held request")
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			h.mu.Lock()
			h.what = ""
			h.mu.Unlock()
			r := run(t, env, args...)
			if r.code != 0 {
				t.Fatalf("restore after the kill: %d\n%s%s", r.code, r.out, r.err)
			}
			if what == "POST" && !strings.Contains(r.out, "outcome is unknown") || what == "PUT" && !strings.Contains(r.out, "created already as") {
				t.Errorf("the second restore's plan does not say it resumes:\n%s", r.out)
			}
			checkOneRestore(t, o, st, g)
		})
	}
}
