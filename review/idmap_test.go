package review_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

func merged(id, canonical string, members ...string) cm.AppliedMerge {
	return cm.AppliedMerge{GroupID: id, Result: canonical, Inputs: members}
}

func TestIDMap(t *testing.T) {
	tests := []struct {
		name   string
		merges []cm.AppliedMerge
		want   []review.Mapping
	}{
		{name: "none", want: []review.Mapping{}},
		{name: "a new canonical contact",
			merges: []cm.AppliedMerge{merged("g1", "n1", "b", "a")},
			want:   []review.Mapping{{"a", "n1", "g1"}, {"b", "n1", "g1"}}},
		{name: "the survivor kept its id",
			merges: []cm.AppliedMerge{merged("g1", "a", "a", "b", "c")},
			want:   []review.Mapping{{"b", "a", "g1"}, {"c", "a", "g1"}}},
		{name: "rounds and bisection: a chain resolves to its end",
			merges: []cm.AppliedMerge{merged("g2", "n2", "n1", "c"), merged("g1", "n1", "a", "b"), merged("g3", "n3", "n2", "d")},
			want: []review.Mapping{{"a", "n3", "g1"}, {"b", "n3", "g1"}, {"c", "n3", "g2"},
				{"d", "n3", "g3"}, {"n1", "n3", "g2"}, {"n2", "n3", "g3"}}},
		{name: "the applied rounds of a group that did not end merged count",
			merges: []cm.AppliedMerge{merged("g1", "n1", "a", "b"), merged("g1", "n2", "n1", "c")},
			want:   []review.Mapping{{"a", "n2", "g1"}, {"b", "n2", "g1"}, {"c", "n2", "g1"}, {"n1", "n2", "g1"}}},
		{name: "a cycle ends",
			merges: []cm.AppliedMerge{merged("g1", "b", "a", "b"), merged("g2", "a", "b", "a")},
			want:   []review.Mapping{{"a", "b", "g1"}, {"b", "a", "g2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, review.IDMap(tt.merges)); d != "" {
				t.Errorf("IDMap (-want +got):\n%s", d)
			}
		})
	}
}
