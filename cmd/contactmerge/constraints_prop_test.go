package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// TestDecisionSequencesProperty runs random sequences of review decisions
// (reject, split, approve, link, unlink, unreject), match runs (some with
// small groups, so that the matcher regroups the same people), the approve
// policy and engine runs against a sandbox organization, and checks after
// every step that
//
//   - no proposed group holds a cannot-link pair,
//   - no group merged in a run holds a pair that was cannot-linked when the
//     run started, and no such pair resolves to one contact on the platform
//     afterwards unless it already did.
func TestDecisionSequencesProperty(t *testing.T) {
	sequences, steps := 40, 20
	if os.Getenv("CONTACTMERGE_FULL") != "" {
		sequences, steps = 200, 24
	}
	ops := map[string]int{}
	merged, refused := 0, 0
	for seq := range sequences {
		t.Run(fmt.Sprint(seq), func(t *testing.T) {
			p := newPropRun(t, seq)
			for step := range steps {
				op := p.step()
				ops[op]++
				if t.Failed() {
					t.Fatalf("after step %d (%s); steps so far:\n%s", step, op, strings.Join(p.log, "\n"))
				}
			}
			merged += len(p.merged)
			refused += p.refused
		})
	}
	t.Logf("%d sequences of %d steps: %v; %d groups merged, %d decisions refused (contradictions, races)", sequences, steps, ops, merged, refused)
	if merged == 0 || refused == 0 {
		t.Errorf("the sequences never merged (%d) or never met a refusal (%d): they test too little", merged, refused)
	}
}

// propRun is one random sequence.
type propRun struct {
	t      *testing.T
	ctx    context.Context
	rng    *rand.Rand
	org    *testorg.Org
	st     store.Store
	eng    *engine.Engine
	clock  time.Time
	merged map[string]bool // merged groups already checked
	log    []string
	// refused counts decisions refused as contradictions or races.
	refused int
}

func newPropRun(t *testing.T, seq int) *propRun {
	t.Helper()
	ctx := context.Background()
	o := testorg.New(t, sandbox.Config{Contacts: 120, Seed: int64(seq + 1), RateLimit: 100000})
	st := testorg.OpenStore(t, testdb.SQLite(t))
	if _, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(st, engine.Config{Owner: "prop", VerifySettle: 10 * time.Millisecond}, o.NewClient)
	if err != nil {
		t.Fatal(err)
	}
	p := &propRun{t: t, ctx: ctx, rng: rand.New(rand.NewPCG(uint64(seq), 42)), org: o, st: st, eng: eng,
		clock: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), merged: map[string]bool{}}
	p.match(match.DefaultConfig().MaxGroupSize)
	return p
}

func (p *propRun) now() time.Time { p.clock = p.clock.Add(time.Second); return p.clock }

func (p *propRun) logf(format string, args ...any) {
	p.log = append(p.log, fmt.Sprintf(format, args...))
}

// allowed fails the test unless err is nil or a refusal a steward may meet:
// a contradiction (EINVALID) or a lost race (ECONFLICT).
func (p *propRun) allowed(what string, err error) {
	p.t.Helper()
	p.logf("  %s: %v", what, err)
	if err != nil {
		p.refused++
	}
	if err != nil && !cm.IsCode(err, cm.EINVALID) && !cm.IsCode(err, cm.ECONFLICT) {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *propRun) groups(states ...cm.GroupState) []cm.Group {
	p.t.Helper()
	gs, err := p.st.Groups(p.ctx, cm.GroupFilter{States: states})
	if err != nil {
		p.t.Fatal(err)
	}
	return gs
}

func (p *propRun) pick(states ...cm.GroupState) (cm.Group, bool) {
	gs := p.groups(states...)
	if len(gs) == 0 {
		return cm.Group{}, false
	}
	return gs[p.rng.IntN(len(gs))], true
}

func (p *propRun) cannot() map[cm.Pair]bool {
	p.t.Helper()
	cs, err := p.st.Constraints(p.ctx, cm.ConstraintFilter{Kinds: []cm.ConstraintKind{cm.CannotLink}})
	if err != nil {
		p.t.Fatal(err)
	}
	out := map[cm.Pair]bool{}
	for _, c := range cs {
		out[c.Pair()] = true
	}
	return out
}

func (p *propRun) match(maxSize int) {
	p.t.Helper()
	cfg := match.DefaultConfig()
	cfg.MaxGroupSize = maxSize
	res, err := match.Run(p.ctx, p.st, cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	saved, err := p.st.SaveProposals(p.ctx, res.Groups, "match")
	if err != nil {
		p.t.Fatal(err)
	}
	p.logf("  match (max %d): %d groups, %+v", maxSize, len(res.Groups), saved)
}

// step takes one random step and checks the invariants; it returns the
// step's name.
func (p *propRun) step() string {
	t := p.t
	t.Helper()
	names := []string{"match", "policy", "approve", "reject", "split", "link", "unlink", "unreject", "run"}
	op := names[p.rng.IntN(len(names))]
	p.logf("%s", op)
	decision := func(approve bool) cm.Decision {
		return cm.Decision{Approve: approve, Actor: "steward", Reason: "prop", At: p.now()}
	}
	switch op {
	case "match":
		p.match([]int{2, 3, 25}[p.rng.IntN(3)])
	case "policy":
		n, err := review.ApproveAbove(p.ctx, p.st, []float64{0.5, 0.99}[p.rng.IntN(2)], "prop", p.now)
		p.allowed(fmt.Sprintf("policy approved %d", n), err)
	case "approve":
		if g, ok := p.pick(cm.StateProposed, cm.StateRejected, cm.StateFailed); ok {
			_, err := review.Decide(p.ctx, p.st, g, decision(true))
			p.allowed("approve "+g.ID+" "+strings.Join(g.Members, ","), err)
		}
	case "reject":
		if g, ok := p.pick(cm.StateProposed, cm.StateApproved, cm.StateReady, cm.StateQuarantined); ok {
			_, err := review.Decide(p.ctx, p.st, g, decision(false))
			p.allowed("reject "+g.ID+" "+strings.Join(g.Members, ","), err)
		}
	case "split":
		if g, ok := p.pick(cm.StateProposed, cm.StateApproved); ok && len(g.Members) >= 2 {
			ms := slices.Clone(g.Members)
			p.rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
			split := ms[:1+p.rng.IntN(len(ms)-1)]
			_, err := review.Split(p.ctx, p.st, g, split, decision(false))
			p.allowed("split "+g.ID+" "+strings.Join(split, ",")+" of "+strings.Join(g.Members, ","), err)
		}
	case "link":
		// Two contacts of (possibly different) groups, so that links matter.
		g1, ok1 := p.pick()
		g2, ok2 := p.pick()
		if ok1 && ok2 {
			a, b := g1.Members[p.rng.IntN(len(g1.Members))], g2.Members[p.rng.IntN(len(g2.Members))]
			if a != b {
				_, err := review.Link(p.ctx, p.st, a, b, "steward", "prop", p.now())
				p.allowed("link "+a+" "+b, err)
			}
		}
	case "unlink":
		cs, err := p.st.Constraints(p.ctx, cm.ConstraintFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > 0 {
			c := cs[p.rng.IntN(len(cs))]
			_, err := review.Unlink(p.ctx, p.st, c.A, c.B, c.Kind, "steward", "prop")
			p.allowed("unlink "+string(c.Kind)+" "+c.A+" "+c.B, err)
		}
	case "unreject":
		if g, ok := p.pick(cm.StateRejected); ok {
			_, _, err := review.Unreject(p.ctx, p.st, g.ID, "steward", "prop")
			p.allowed("unreject "+g.ID, err)
		}
	case "run":
		p.run()
	}
	p.check()
	return op
}

// run preflights the approved groups and executes the ready ones, like
// contactmerge run without River, checking the platform afterwards.
func (p *propRun) run() {
	t := p.t
	t.Helper()
	cannot := p.cannot()
	before := map[cm.Pair]bool{} // pairs already one contact
	for pr := range cannot {
		before[pr] = p.org.Final(pr.A) == p.org.Final(pr.B)
	}
	for range 4 {
		var ids []string
		for _, g := range p.groups(cm.StateApproved) {
			ids = append(ids, g.ID)
		}
		if len(ids) > 0 {
			if _, err := p.eng.Preflight(p.ctx, ids); err != nil {
				t.Fatal(err)
			}
		}
		ready := p.groups(cm.StateReady)
		if len(ready) == 0 {
			break
		}
		for _, g := range ready {
			if _, err := p.eng.Execute(p.ctx, g.ID); err != nil && !cm.IsCode(err, cm.ECONFLICT) {
				t.Fatalf("execute %s: %v", g.ID, err)
			}
		}
	}
	p.logf("  run: %v", p.counts())
	for _, g := range p.groups(cm.StateMerged) {
		if p.merged[g.ID] {
			continue
		}
		p.merged[g.ID] = true
		for _, pr := range cm.Pairs(g.Members) {
			if cannot[pr] {
				t.Errorf("merged group %s holds the rejected pair %s–%s", g.ID, pr.A, pr.B)
			}
		}
	}
	for pr := range cannot {
		if !before[pr] && p.org.Final(pr.A) == p.org.Final(pr.B) {
			t.Errorf("the rejected pair %s–%s is one contact on the platform now (%s)", pr.A, pr.B, p.org.Final(pr.A))
		}
	}
}

func (p *propRun) counts() map[cm.GroupState]int {
	n, err := p.st.CountByState(p.ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

// check asserts that no proposed group holds a cannot-link pair.
func (p *propRun) check() {
	t := p.t
	t.Helper()
	cannot := p.cannot()
	for _, g := range p.groups(cm.StateProposed) {
		for _, pr := range cm.Pairs(g.Members) {
			if cannot[pr] {
				t.Errorf("proposed group %s holds the rejected pair %s–%s", g.ID, pr.A, pr.B)
			}
		}
	}
}
