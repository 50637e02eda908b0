package engine_test

import (
	"context"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestPreflightKeepsTakes: preflight recomputes the merged record from
// live data with the steward's choices of the group's decision (plan
// approve --survivor --take), so the platform's merged contact carries the
// value the steward took, not the survivor's, and the survivor is the
// steward's although a later match reset the group's.
func TestPreflightKeepsTakes(t *testing.T) {
	ctx := context.Background()
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 300, 4, -1
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	if _, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	var chosen cm.Group
	var taken cm.Contact
	var groups []cm.Group
	for _, cluster := range o.SB.Truth() {
		cs, err := st.Contacts(ctx, cluster)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != len(cluster) {
			continue
		}
		g := testorg.PlanGroup(cluster, cs)
		groups = append(groups, g)
		if chosen.ID != "" {
			continue
		}
		for _, id := range g.Members {
			if c := cs[id]; c.FirstName != "" && c.FirstName != g.Merged.FirstName {
				chosen, taken = g, c
				break
			}
		}
	}
	if chosen.ID == "" {
		t.Fatal("no group whose members spell the first name differently")
	}
	if _, err := st.SaveProposals(ctx, groups, "test"); err != nil {
		t.Fatal(err)
	}
	stored, err := st.Group(ctx, chosen.ID)
	if err != nil {
		t.Fatal(err)
	}
	survivor := chosen.Members[0]
	if survivor == chosen.SurvivorID {
		survivor = chosen.Members[1]
	}
	if _, err := review.Choose(ctx, st, stored, cm.Decision{Approve: true, Actor: "ann", Survivor: survivor, Take: map[string]string{"firstName": taken.ID}},
		match.DefaultConfig().SurviveOptions()); err != nil {
		t.Fatal(err)
	}
	// Match runs again: the approved group is refreshed with the policy's
	// survivor.
	if _, err := st.SaveProposals(ctx, groups, "test"); err != nil {
		t.Fatal(err)
	}
	if g, _ := st.Group(ctx, chosen.ID); g.SurvivorID != chosen.SurvivorID || g.State != cm.StateApproved {
		t.Logf("the re-run of match no longer resets the survivor (%s, %s): the test's second half checks nothing new", g.SurvivorID, g.State)
	}
	p := newPipeline(t, st, o, "w1", engine.Config{})
	if _, err := p.eng.Run(ctx, p.jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	g, err := st.Group(ctx, chosen.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.State != cm.StateMerged {
		t.Fatalf("group ended %s: %s", g.State, g.Reason)
	}
	if g.SurvivorID != survivor {
		t.Errorf("merged with survivor %s, want the steward's %s", g.SurvivorID, survivor)
	}
	merged, ok := o.SB.Contact(g.CanonicalID)
	if !ok || merged.FirstName != taken.FirstName {
		t.Errorf("merged contact's first name %q, want %q taken from %s (survivor %s's is %q)",
			merged.FirstName, taken.FirstName, taken.ID, g.SurvivorID, chosen.Merged.FirstName)
	}
}
