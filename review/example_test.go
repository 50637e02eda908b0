package review_test

import (
	"fmt"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

// A group merged in two rounds: the first round's result n1 was merged
// again into n2, so every old id resolves to n2.
func ExampleIDMap() {
	groups := []cm.Group{
		{ID: "g_round1", State: cm.StateMerged, Members: []string{"a", "b"}, CanonicalID: "n1"},
		{ID: "g_round2", State: cm.StateMerged, Members: []string{"c", "n1"}, CanonicalID: "n2"},
		{ID: "g_open", State: cm.StateApproved, Members: []string{"x", "y"}},
	}
	for _, m := range review.IDMap(groups) {
		fmt.Println(m.OldID, "→", m.CanonicalID, "(", m.GroupID, ")")
	}
	// Output:
	// a → n2 ( g_round1 )
	// b → n2 ( g_round1 )
	// c → n2 ( g_round2 )
	// n1 → n2 ( g_round2 )
}
