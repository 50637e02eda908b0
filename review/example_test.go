package review_test

import (
	"fmt"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

// A group merged in two rounds: the first round's result n1 was merged
// again into n2, so every old id resolves to n2.
func ExampleIDMap() {
	merges := []cm.AppliedMerge{
		{GroupID: "g_round1", Inputs: []string{"a", "b"}, Result: "n1"},
		{GroupID: "g_round2", Inputs: []string{"n1", "c"}, Result: "n2"},
	}
	for _, m := range review.IDMap(merges) {
		fmt.Println(m.OldID, "→", m.CanonicalID, "(", m.GroupID, ")")
	}
	// Output:
	// a → n2 ( g_round1 )
	// b → n2 ( g_round1 )
	// c → n2 ( g_round2 )
	// n1 → n2 ( g_round2 )
}
