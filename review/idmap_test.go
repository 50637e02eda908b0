package review_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

func merged(id, canonical string, members ...string) cm.Group {
	return cm.Group{ID: id, State: cm.StateMerged, CanonicalID: canonical, Members: members}
}

func TestIDMap(t *testing.T) {
	tests := []struct {
		name   string
		groups []cm.Group
		want   []review.Mapping
	}{
		{name: "none", want: []review.Mapping{}},
		{name: "a new canonical contact",
			groups: []cm.Group{merged("g1", "n1", "b", "a")},
			want:   []review.Mapping{{"a", "n1", "g1"}, {"b", "n1", "g1"}}},
		{name: "the survivor kept its id",
			groups: []cm.Group{merged("g1", "a", "a", "b", "c")},
			want:   []review.Mapping{{"b", "a", "g1"}, {"c", "a", "g1"}}},
		{name: "rounds and bisection: a chain resolves to its end",
			groups: []cm.Group{merged("g2", "n2", "n1", "c"), merged("g1", "n1", "a", "b"), merged("g3", "n3", "n2", "d")},
			want: []review.Mapping{{"a", "n3", "g1"}, {"b", "n3", "g1"}, {"c", "n3", "g2"},
				{"d", "n3", "g3"}, {"n1", "n3", "g2"}, {"n2", "n3", "g3"}}},
		{name: "groups not merged are left out",
			groups: []cm.Group{
				{ID: "g1", State: cm.StateApproved, Members: []string{"a", "b"}},
				{ID: "g2", State: cm.StateSplit, CanonicalID: "x", Members: []string{"c", "d"}},
				merged("g3", "n3", "e", "f"),
			},
			want: []review.Mapping{{"e", "n3", "g3"}, {"f", "n3", "g3"}}},
		{name: "a cycle ends",
			groups: []cm.Group{merged("g1", "b", "a", "b"), merged("g2", "a", "b", "a")},
			want:   []review.Mapping{{"a", "b", "g1"}, {"b", "a", "g2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, review.IDMap(tt.groups)); d != "" {
				t.Errorf("IDMap (-want +got):\n%s", d)
			}
		})
	}
}
