package engine

import (
	"context"
	"fmt"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// ScanOptions configures Scan.
type ScanOptions struct {
	// Name of the scan in the store. Default "contacts".
	Name string
	// PageSize is the scan page size (10..200). Default 200.
	PageSize int
	// DivisionID limits the scan to one division ("" = all).
	DivisionID string
	// Restart discards a saved cursor and starts from the first page.
	Restart bool
	// Progress, when set, is called after each saved page.
	Progress func(cm.ScanState)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Scan reads every contact with the cursor-paged scan endpoint into the
// snapshot. Each page is saved together with the cursor of the next one in a
// single transaction, so an interrupted scan resumes where it stopped: no
// page is fetched twice except the one in flight at the interruption, and no
// contact is lost. A scan that completed starts over when run again.
func Scan(ctx context.Context, api *genesys.Client, st cm.Store, opts ScanOptions) (cm.ScanState, error) {
	if opts.Name == "" {
		opts.Name = "contacts"
	}
	if opts.PageSize == 0 {
		opts.PageSize = 200
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageSize < 10 || opts.PageSize > 200 {
		return cm.ScanState{}, cm.Errorf(cm.EINVALID, "scan: page size must be between 10 and 200 (got %d)", opts.PageSize)
	}
	state, err := st.ScanState(ctx, opts.Name)
	if err != nil {
		return state, err
	}
	if opts.Restart || state.Done {
		if err := st.ResetScan(ctx, opts.Name); err != nil {
			return state, err
		}
		state = cm.ScanState{Name: opts.Name}
	}
	if state.StartedAt.IsZero() {
		state.StartedAt = opts.Now()
	}
	for {
		page, _, err := api.Contacts.Scan(ctx, &genesys.ScanOptions{Limit: opts.PageSize, Cursor: state.Cursor, DivisionID: opts.DivisionID})
		if err != nil {
			return state, fmt.Errorf("scan page %d: %w", state.Pages+1, err)
		}
		next := state
		next.Pages++
		next.Contacts += int64(len(page.Entities))
		next.Cursor = page.Cursors.After
		next.Done = len(page.Entities) == 0 || page.Cursors.After == ""
		next.UpdatedAt = opts.Now()
		if err := st.SaveScanPage(ctx, next, page.Entities); err != nil {
			return state, fmt.Errorf("save scan page %d: %w", next.Pages, err)
		}
		state = next
		if opts.Progress != nil {
			opts.Progress(state)
		}
		if state.Done {
			return state, nil
		}
	}
}
