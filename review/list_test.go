package review_test

import (
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

func ptr[T any](v T) *T { return &v }

// listFixture stores six groups: four proposed (two below the threshold
// 0.999), one quarantined and one failed with reasons.
func listFixture(t *testing.T) (cm.Store, map[string]cm.Group) {
	st := openStore(t)
	gs := seed(t, st,
		group(0.9995, "a1", "a2"),
		group(0.97, "b1", "b2", "b3"),
		group(0.95, "c1", "c2"),
		group(1, "d1", "d2", "d3", "d4"),
		group(0.98, "e1", "e2"),
		group(0.96, "f1", "f2", "f3"),
	)
	by := map[string]cm.Group{"a": gs[0], "b": gs[1], "c": gs[2], "d": gs[3]}
	by["e"] = move(t, st, gs[4], cm.StateApproved)
	q, err := st.Transition(ctx(), cm.Transition{GroupID: gs[4].ID, To: cm.StateQuarantined, Actor: "engine",
		Update: func(g *cm.Group) { g.Reason = "active conversation on e1"; g.RetryAt = t0.Add(5 * 60e9) }})
	if err != nil {
		t.Fatal(err)
	}
	by["e"] = q
	move(t, st, gs[5], cm.StateApproved)
	f, err := st.Transition(ctx(), cm.Transition{GroupID: gs[5].ID, To: cm.StateFailed, Actor: "engine",
		Update: func(g *cm.Group) {
			g.Reason = "the merge set would hold about 60 contacts, over the platform limit of 52"
		}})
	if err != nil {
		t.Fatal(err)
	}
	by["f"] = f
	return st, by
}

func TestList(t *testing.T) {
	st, by := listFixture(t)
	ids := func(r review.ListResult) string {
		var out []string
		for _, g := range r.Groups {
			for k, v := range by {
				if v.ID == g.ID {
					out = append(out, k)
				}
			}
		}
		return strings.Join(out, "")
	}
	// sorted returns the keys of by ordered by key, then group id.
	sorted := func(keys string, key func(cm.Group) float64) string {
		ks := strings.Split(keys, "")
		slices.SortFunc(ks, func(a, b string) int {
			if c := cmpFloat(key(by[a]), key(by[b])); c != 0 {
				return c
			}
			return strings.Compare(by[a].ID, by[b].ID)
		})
		return strings.Join(ks, "")
	}
	size := func(g cm.Group) float64 { return float64(len(g.Members)) }
	stateRank := func(g cm.Group) float64 { return float64(slices.Index(cm.AllStates, g.State)) }
	for _, tt := range []struct {
		name string
		o    review.ListOptions
		want string
		more int
	}{
		// Review order: proposed below the threshold, least confident
		// first, then the rest, least confident first.
		{"review", review.ListOptions{ApproveThreshold: 0.999}, "cbfead", 0},
		{"confidence", review.ListOptions{Sort: "confidence", ApproveThreshold: 0.999}, "cfbead", 0},
		{"-confidence", review.ListOptions{Sort: "-confidence"}, "daebfc", 0},
		{"size", review.ListOptions{Sort: "size"}, sorted("abcdef", size), 0},
		{"-size", review.ListOptions{Sort: "-size"}, sorted("abcdef", func(g cm.Group) float64 { return -size(g) }), 0},
		{"state", review.ListOptions{Sort: "state"}, sorted("abcdef", stateRank), 0},
		{"id", review.ListOptions{Sort: "id"}, sorted("abcdef", func(cm.Group) float64 { return 0 }), 0},
		{"limit", review.ListOptions{ApproveThreshold: 0.999, Limit: 2}, "cb", 4},
		{"states", review.ListOptions{States: []cm.GroupState{cm.StateQuarantined, cm.StateFailed}}, "fe", 0},
		{"confidence range", review.ListOptions{MinConfidence: ptr(0.96), MaxConfidence: ptr(0.98)}, "fbe", 0},
		{"size 3", review.ListOptions{MinSize: 3, MaxSize: 3, Sort: "id"}, sorted("bf", size), 0},
		{"min size", review.ListOptions{MinSize: 3, Sort: "-size"}, sorted("bdf", func(g cm.Group) float64 { return -size(g) }), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := review.List(ctx(), st, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(r); got != tt.want || r.More != tt.more {
				t.Errorf("order %q more %d, want %q more %d", got, r.More, tt.want, tt.more)
			}
		})
	}
	r, err := review.List(ctx(), st, review.ListOptions{ApproveThreshold: 0.999, Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 6 || r.NeedReview != 2 || !r.Groups[0].NeedsReview || r.Groups[2].Reason == "" {
		t.Errorf("result %+v", r)
	}
	if _, err := review.List(ctx(), st, review.ListOptions{Sort: "name"}); !cm.IsCode(err, cm.EINVALID) ||
		!strings.Contains(err.Error(), `--sort: "name" is not one of review, confidence, -confidence, size, -size, state, id`) {
		t.Errorf("bad sort: %v", err)
	}

	var b strings.Builder
	if err := review.WriteList(&b, r, review.Style{Width: 160}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "6 group(s); 2 proposed below the approve threshold 0.999 need a person (listed first, least confident first)" ||
		!strings.HasPrefix(lines[1], "GROUP") || !strings.Contains(lines[1], "REASON") ||
		!strings.HasPrefix(lines[2], by["c"].ID) || !strings.Contains(lines[2], "needed") ||
		!strings.Contains(lines[4], "the merge set would hold about 60 contacts") ||
		!strings.Contains(lines[5], "active conversation on e1 (retry 2026-05-01 10:05)") ||
		lines[6] != "(2 more; use --limit N to show more, --limit 0 for all)" {
		t.Errorf("list:\n%s", out)
	}
	// Narrow: every line fits, the reasons are cut.
	b.Reset()
	if err := review.WriteList(&b, r, review.Style{Width: 80}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line wider than 80 (%d): %q", n, l)
		}
	}
	if !strings.Contains(b.String(), "the mer…") || strings.Contains(b.String(), "SURVIVOR") {
		t.Errorf("narrow list:\n%s", b.String())
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
