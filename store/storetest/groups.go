package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
)

func testGroupsFilterAndCount(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	seedGroups(t, s, group(0.5, "a1", "a2"), group(0.7, "b1", "b2"), group(0.9, "c1", "c2"), group(0.95, "d1", "d2"))
	all, err := s.Groups(ctx(), cm.GroupFilter{})
	must(t, err)
	if len(all) != 4 || !slices.IsSortedFunc(all, func(a, b cm.Group) int { return strings.Compare(a.ID, b.ID) }) {
		t.Fatalf("Groups() = %d groups, sorted=%v", len(all), len(all) == 4)
	}
	_, err = s.Transition(ctx(), cm.Transition{GroupID: all[0].ID, To: cm.StateApproved})
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: all[0].ID, To: cm.StateQuarantined,
		Update: func(g *cm.Group) { g.RetryAt = t0().Add(time.Hour); g.Quarantines++; g.Reason = "active conversation" }})
	must(t, err)
	_, err = s.Transition(ctx(), cm.Transition{GroupID: all[1].ID, To: cm.StateRejected})
	must(t, err)
	counts, err := s.CountByState(ctx())
	must(t, err)
	if d := cmp.Diff(map[cm.GroupState]int{cm.StateProposed: 2, cm.StateQuarantined: 1, cm.StateRejected: 1}, counts); d != "" {
		t.Fatalf("CountByState (-want +got):\n%s", d)
	}
	q, err := s.Groups(ctx(), cm.GroupFilter{States: []cm.GroupState{cm.StateQuarantined}, RetryBefore: t0().Add(30 * time.Minute)})
	must(t, err)
	if len(q) != 0 {
		t.Fatalf("quarantined group due too early: %+v", q)
	}
	q, err = s.Groups(ctx(), cm.GroupFilter{States: []cm.GroupState{cm.StateQuarantined}, RetryBefore: t0().Add(time.Hour)})
	must(t, err)
	if len(q) != 1 || q[0].RetryAt != t0().Add(time.Hour) || q[0].Quarantines != 1 {
		t.Fatalf("due quarantined groups = %+v", q)
	}
	hi, err := s.Groups(ctx(), cm.GroupFilter{MinConfidence: 0.9})
	must(t, err)
	if len(hi) != 2 {
		t.Fatalf("MinConfidence 0.9: %d groups", len(hi))
	}
	var paged []string
	after := ""
	for {
		page, err := s.Groups(ctx(), cm.GroupFilter{AfterID: after, Limit: 3})
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, g := range page {
			paged = append(paged, g.ID)
		}
		after = page[len(page)-1].ID
	}
	if len(paged) != 4 || !slices.IsSorted(paged) {
		t.Fatalf("keyset paging = %v", paged)
	}
	byID, err := s.Groups(ctx(), cm.GroupFilter{IDs: []string{all[3].ID, all[2].ID, "g_none"}, States: []cm.GroupState{cm.StateProposed}})
	must(t, err)
	if len(byID) != 2 || byID[0].ID != all[2].ID {
		t.Fatalf("by ids = %+v", byID)
	}
}
