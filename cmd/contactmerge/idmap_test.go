package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestIDMapCoversEveryPlatformMerge is the reproduction of the id-map defect
// at full size: 30 clusters of 20 identical contacts merge in rounds under
// 30% 503s. Before the fix, late-round 503s failed groups as "not applied"
// although most of their members were merged, and `report --id-map`, built
// from merged groups only, missed those contacts. Now every contact the
// platform merged is in the id map, pointing at the contact the platform
// resolves it to, and no group that is not merged hides merged members.
func TestIDMapCoversEveryPlatformMerge(t *testing.T) {
	const clusters, size = 30, 20
	var load bytes.Buffer
	ids := make([]string, 0, clusters*size)
	for k := range clusters {
		for i := range size {
			id := fmt.Sprintf("c%02d-%02d", k, i)
			ids = append(ids, id)
			c := cm.Contact{ID: id, FirstName: "Pat", LastName: fmt.Sprintf("Cluster%02d", k), Type: cm.TypeCurated,
				WorkEmail: fmt.Sprintf("pat%02d@example.com", k)}
			if err := json.NewEncoder(&load).Encode(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	faults, err := sandbox.ParseFaults("error503=0.3")
	if err != nil {
		t.Fatal(err)
	}
	o := testorg.New(t, sandbox.Config{Load: &load, Faults: faults, RateLimit: 100000})
	db := testdb.SQLite(t)
	st := testorg.OpenStore(t, db)
	bindOrg(t, st, o)
	ctx := context.Background()
	if _, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	var groups []cm.Group
	for k := range clusters {
		members := ids[k*size : (k+1)*size]
		cs, err := st.Contacts(ctx, members)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, testorg.PlanGroup(members, cs))
	}
	testorg.Approve(t, st, groups)

	env := append(o.Env(), "CONTACTMERGE_DB="+db)
	r := run(t, env, "run", "--yes", "--verify-settle", "1s")
	t.Logf("run: code %d\n%s%s", r.code, r.out, r.err)

	platformMerged := checkIDMap(t, env, o, ids)
	if platformMerged == 0 {
		t.Fatal("nothing was merged: the test proves nothing")
	}

	// A group that did not end merged says how far it got.
	for _, g := range groups {
		g, err := st.Group(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g.State == cm.StateMerged {
			continue
		}
		merged := 0
		for _, m := range g.Members {
			if o.Final(m) != m {
				merged++
			}
		}
		if merged > 0 && (strings.Contains(g.Reason, "not applied") && !strings.Contains(g.Reason, "already one contact")) {
			t.Errorf("group %s is %s with reason %q although %d of its members are merged", g.ID, g.State, g.Reason, merged)
		}
	}
	testorg.CheckLedgerMerges(t, st, o)
}

// checkIDMap asserts that `report --id-map` holds every contact of ids that
// the platform merged, pointing at the contact the platform resolves it to
// now, and returns how many of ids the platform merged.
func checkIDMap(t *testing.T, env []string, o *testorg.Org, ids []string) int {
	t.Helper()
	r := run(t, env, "report", "--id-map", "--format", "json")
	if r.code != 0 {
		t.Fatalf("report --id-map: %d %s", r.code, r.err)
	}
	mapped := map[string]string{}
	dec := json.NewDecoder(strings.NewReader(r.out))
	for dec.More() {
		var row struct{ OldID, CanonicalID string }
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		mapped[row.OldID] = row.CanonicalID
	}
	platformMerged, missing := 0, 0
	for _, id := range ids {
		final := o.Final(id)
		if final == id {
			continue
		}
		platformMerged++
		switch got, ok := mapped[id]; {
		case !ok:
			missing++
			t.Errorf("%s was merged into %s on the platform but is not in the id map", id, final)
		case got != final:
			t.Errorf("id map: %s → %s, the platform resolves it to %s", id, got, final)
		}
	}
	t.Logf("%d contacts merged on the platform, %d rows in the id map, %d missing", platformMerged, len(mapped), missing)
	return platformMerged
}
