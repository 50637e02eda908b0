package match

import (
	"context"
	"slices"
	"testing"

	"github.com/contactmerge/contactmerge/sandbox"
)

// TestDeterministic: the same contacts give the same groups (ids,
// survivors, confidence), whatever the number of workers.
func TestDeterministic(t *testing.T) {
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 5000, Seed: 11})
	var prev []string
	for _, workers := range []int{1, 2, 3} {
		cfg := DefaultConfig()
		cfg.Workers = workers
		res, err := MatchContacts(context.Background(), org.Contacts, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, g := range res.Groups {
			ids = append(ids, g.ID+"/"+g.SurvivorID)
		}
		if prev != nil && !slices.Equal(prev, ids) {
			t.Fatalf("workers=%d: %d groups differ from the previous run's %d", workers, len(ids), len(prev))
		}
		prev = ids
	}
}
