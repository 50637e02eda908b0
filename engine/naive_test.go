package engine_test

import (
	"context"
	"sync"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// naiveResult is what the naive baseline believes it did.
type naiveResult struct {
	Merged   map[string]string // group id → canonical id it saw
	Failed   map[string]string // group id → last error
	Requests int
	Elapsed  time.Duration
}

// naive is the baseline contactmerge is measured against: the script most
// integrations start with. For each group it GETs every member, POSTs the
// merge, and on any error waits a second and POSTs again (three tries). It
// keeps no intent, verifies nothing and respects no budget beyond the
// client's own 429 handling. It exists for the comparison in
// TestNaiveBaseline; never use it to merge real data.
func naive(ctx context.Context, api *genesys.Client, groups []cm.Group, workers int) naiveResult {
	res := naiveResult{Merged: map[string]string{}, Failed: map[string]string{}}
	var mu sync.Mutex
	start := time.Now()
	work := make(chan cm.Group)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for g := range work {
				n := 0
				for _, id := range g.Members {
					_, _, _ = api.Contacts.Get(ctx, id)
					n++
				}
				var lastErr error
				var canon string
				for try := 0; try < 3; try++ {
					n++
					c, _, err := api.Contacts.Merge(ctx, &genesys.MergeRequest{ContactIDs: g.Members, ValueOverride: g.Merged})
					if err == nil {
						canon, lastErr = c.ID, nil
						break
					}
					lastErr = err
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
				}
				mu.Lock()
				res.Requests += n
				if lastErr == nil {
					res.Merged[g.ID] = canon
				} else {
					res.Failed[g.ID] = lastErr.Error()
				}
				mu.Unlock()
			}
		})
	}
	for _, g := range groups {
		select {
		case work <- g:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res
}
