package main

import (
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestRunWithoutMergePermission: an OAuth client that may read but not
// merge is stopped before the question and before any mutation: exit 1
// naming the permission, nothing merged, no group failed.
func TestRunWithoutMergePermission(t *testing.T) {
	perms := slices.DeleteFunc(sandbox.AllPermissions(), func(p string) bool { return p == sandbox.PermIdentityMerge })
	o := testorg.New(t, sandbox.Config{Contacts: 200, Seed: 5, RateLimit: 100000, Permissions: perms})
	db := testdb.SQLite(t)
	st := testorg.OpenStore(t, db)
	groups := seedOrg(t, st, o)
	env := append(o.Env(), "CONTACTMERGE_DB="+db)
	r := run(t, env, "run", "--yes")
	if r.code != exitFailure || !strings.Contains(r.err, sandbox.PermIdentityMerge) {
		t.Fatalf("run without %s: code %d\n%s%s", sandbox.PermIdentityMerge, r.code, r.out, r.err)
	}
	if strings.Contains(r.out, "Merges are permanent") {
		t.Errorf("the plan was shown (and on a terminal the question asked) before the permission check:\n%s", r.out)
	}
	if ops := o.SB.Oplog(); len(ops) != 0 {
		t.Errorf("the platform saw %d mutations: %+v", len(ops), ops[0])
	}
	for _, g := range groups {
		g2, err := st.Group(t.Context(), g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g2.State == cm.StateFailed || g2.State == cm.StateMerged {
			t.Errorf("group %s is %s (%s)", g.ID, g2.State, g2.Reason)
		}
	}
}
