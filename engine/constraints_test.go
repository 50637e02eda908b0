package engine_test

import (
	"context"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestPreflightRefusesRejectedPair: a steward rejects a pair of an
// approved group after its approval (here: by rejecting another group that
// holds two of its members). Preflight fails the group, naming the pair,
// before it reads anything, and the run merges nothing of it; the other
// groups merge as usual.
func TestPreflightRefusesRejectedPair(t *testing.T) {
	ctx := context.Background()
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.RateLimit = 300, 3, -1
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, testdb.SQLite(t))
	groups := testorg.Seed(t, st, o)
	if len(groups) < 2 {
		t.Fatalf("%d groups", len(groups))
	}
	victim := groups[0]
	a, b := victim.Members[0], victim.Members[1]
	if err := st.ChangeConstraints(ctx, cm.ConstraintChange{Actor: "bob", Add: []cm.PairConstraint{
		{Kind: cm.CannotLink, A: a, B: b, GroupID: "g_other", Reason: "different people"},
	}}); err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, st, o, "w1", engine.Config{})
	if _, err := p.eng.Run(ctx, p.jc, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	g, err := st.Group(ctx, victim.ID)
	if err != nil {
		t.Fatal(err)
	}
	pair := cm.MakePair(a, b)
	if g.State != cm.StateFailed || !strings.Contains(g.Reason, pair.A+"–"+pair.B+" rejected by bob") ||
		!strings.Contains(g.Reason, "plan unreject g_other") {
		t.Fatalf("group with a rejected pair ended %s: %q", g.State, g.Reason)
	}
	for _, id := range victim.Members {
		if c, _ := o.SB.Contact(id); c.IsMerged() {
			t.Errorf("member %s of the refused group was merged", id)
		}
	}
	merged := 0
	for _, g0 := range groups[1:] {
		if g, _ := st.Group(ctx, g0.ID); g.State == cm.StateMerged {
			merged++
		}
	}
	if merged == 0 {
		t.Error("no other group merged")
	}
}
