package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// testPolicyVerdicts checks store.SavePolicyVerdicts and
// store.PolicyVerdicts: verdicts round-trip (reasons included, At
// defaulting to the clock), a second verdict for the same cycle and group
// replaces the first, filters by cycle and group work, Latest keeps each
// group's most recent verdict, and a verdict without a cycle is EINVALID
// and writes nothing.
func testPolicyVerdicts(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	at1 := t0().Add(time.Hour)
	c1 := []store.PolicyVerdict{
		{Cycle: "c1", GroupID: "g_a", At: at1, Mode: "shadow", Approve: true, Confidence: 0.9991, Members: 2},
		{Cycle: "c1", GroupID: "g_b", At: at1, Mode: "shadow", Confidence: 0.5, Members: 5,
			Reasons: []string{"minConfidence: 0.5 is below 0.999", "maxGroupSize: 5 members, more than 4"}},
	}
	must(t, store.SavePolicyVerdicts(ctx(), s, c1))
	got, err := store.PolicyVerdicts(ctx(), s, store.PolicyVerdictFilter{})
	must(t, err)
	if d := cmp.Diff(c1, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	// The same cycle again replaces; a later cycle adds. At defaults to the clock.
	e.clock.Set(t0().Add(2 * time.Hour))
	again := store.PolicyVerdict{Cycle: "c1", GroupID: "g_a", Mode: "enforce", Approve: true, Applied: true, Confidence: 0.9995, Members: 2}
	later := store.PolicyVerdict{Cycle: "c2", GroupID: "g_b", Mode: "shadow", Approve: true, Confidence: 0.9999, Members: 3}
	must(t, store.SavePolicyVerdicts(ctx(), s, []store.PolicyVerdict{again, later}))
	got, err = store.PolicyVerdicts(ctx(), s, store.PolicyVerdictFilter{Cycle: "c1"})
	must(t, err)
	again.At = t0().Add(2 * time.Hour)
	if d := cmp.Diff([]store.PolicyVerdict{again, c1[1]}, got); d != "" {
		t.Fatalf("cycle c1 after the replace (-want +got):\n%s", d)
	}
	got, err = store.PolicyVerdicts(ctx(), s, store.PolicyVerdictFilter{GroupIDs: []string{"g_b"}})
	must(t, err)
	later.At = t0().Add(2 * time.Hour)
	if d := cmp.Diff([]store.PolicyVerdict{c1[1], later}, got); d != "" {
		t.Fatalf("group g_b (-want +got):\n%s", d)
	}
	got, err = store.PolicyVerdicts(ctx(), s, store.PolicyVerdictFilter{Latest: true})
	must(t, err)
	if d := cmp.Diff([]store.PolicyVerdict{again, later}, got); d != "" {
		t.Fatalf("latest (-want +got):\n%s", d)
	}
	// A bad verdict writes nothing, not even the good ones before it.
	err = store.SavePolicyVerdicts(ctx(), s, []store.PolicyVerdict{{Cycle: "c3", GroupID: "g_c"}, {GroupID: "g_d"}})
	wantCode(t, err, cm.EINVALID)
	got, err = store.PolicyVerdicts(ctx(), s, store.PolicyVerdictFilter{Cycle: "c3"})
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("a refused save wrote %v", got)
	}
}

// testPolicyVerdictsPruned checks that SavePolicyVerdicts keeps every
// verdict of the latest store.KeepPolicyCycles cycles and, of older ones,
// only those that are their group's latest: what report policy reads
// (Latest) is unchanged by the pruning.
func testPolicyVerdictsPruned(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	cycles := store.KeepPolicyCycles + 5
	for i := range cycles {
		// g_all is judged every cycle; g_once only in the first; g_early in
		// the first three.
		vs := []store.PolicyVerdict{{Cycle: fmt.Sprintf("c%03d", i), GroupID: "g_all", At: t0().Add(time.Duration(i) * time.Hour), Mode: "shadow", Members: 2}}
		if i == 0 {
			vs = append(vs, store.PolicyVerdict{Cycle: "c000", GroupID: "g_once", At: t0(), Mode: "shadow", Members: 2})
		}
		if i < 3 {
			vs = append(vs, store.PolicyVerdict{Cycle: fmt.Sprintf("c%03d", i), GroupID: "g_early", At: t0().Add(time.Duration(i) * time.Hour), Mode: "shadow", Members: 3})
		}
		must(t, store.SavePolicyVerdicts(ctx(), s, vs))
	}
	all, err := store.PolicyVerdicts(ctx(), s, store.PolicyVerdictFilter{})
	must(t, err)
	byGroup := map[string][]string{}
	for _, v := range all {
		byGroup[v.GroupID] = append(byGroup[v.GroupID], v.Cycle)
	}
	if n := len(byGroup["g_all"]); n != store.KeepPolicyCycles || byGroup["g_all"][0] != fmt.Sprintf("c%03d", cycles-store.KeepPolicyCycles) {
		t.Errorf("g_all keeps %d verdicts from %v, want the latest %d cycles", n, byGroup["g_all"], store.KeepPolicyCycles)
	}
	if d := cmp.Diff([]string{"c000"}, byGroup["g_once"]); d != "" {
		t.Errorf("g_once, judged once in a pruned cycle, lost its only verdict (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"c002"}, byGroup["g_early"]); d != "" {
		t.Errorf("g_early keeps (-want +got):\n%s", d)
	}
	latest, err := store.PolicyVerdicts(ctx(), s, store.PolicyVerdictFilter{Latest: true})
	must(t, err)
	if len(latest) != 3 || latest[0].Cycle != fmt.Sprintf("c%03d", cycles-1) {
		t.Errorf("latest: %+v", latest)
	}
}
