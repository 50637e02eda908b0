package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// DefaultScanName is the store name of the contact scan (ScanOptions.Name).
const DefaultScanName = "contacts"

// maxScanRestarts bounds the restarts of one Scan after expired cursors.
const maxScanRestarts = 3

// ScanOptions configures Scan.
type ScanOptions struct {
	// Name of the scan in the store. Default DefaultScanName.
	Name string
	// PageSize is the scan page size (10..200). Default 200.
	PageSize int
	// DivisionID limits the scan to one division ("" = all).
	DivisionID string
	// Restart discards a saved cursor and starts from the first page.
	Restart bool
	// Progress, when set, is called after each saved page.
	Progress func(cm.ScanState)
	// OnRestart, when set, is called each time the scan starts again from
	// the first page because its cursor expired, before it does.
	OnRestart func(ScanRestart)
	// Logger receives a warning at each such restart. Default: discard.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// ScanRestart describes a restart of a scan whose cursor the platform
// refused as expired (scan cursors live 24 hours).
type ScanRestart struct {
	// N counts the restarts of this Scan call, from 1.
	N int
	// PagesReread and ContactsReread are what the abandoned walk had saved:
	// the restarted walk reads those pages again and upserts their contacts
	// again (each stays stored once).
	PagesReread    int
	ContactsReread int64
	// Err is the platform's refusal (it wraps genesys.ErrCursorExpired).
	Err error
}

// Scan reads every contact with the cursor-paged scan endpoint into the
// snapshot, through the client's scan iterator (ContactsService.ScanAll).
// Each page is saved together with the cursor of the next one in a single
// transaction, so an interrupted scan resumes where it stopped: no page is
// fetched twice except the ones in flight at the interruption (the next
// page is fetched while one is saved, so at most two), and no contact is
// lost. A scan that completed starts over when run again.
//
// Scan cursors live 24 hours after the page that returned them: a scan
// resumed later (or a page that took that long) gets its cursor refused
// (genesys.ErrCursorExpired). Scan then logs a warning, forgets the saved
// cursor and walks again from the first page (OnRestart says how much is
// read again), at most maxScanRestarts times; upserts keep each contact
// once, and the state returned is that of the walk that completed. A
// platform that hands out a cursor
// twice ends the scan with an error wrapping genesys.ErrScanCursorRepeated
// (the pages before it are saved).
func Scan(ctx context.Context, api *genesys.Client, st cm.Store, opts ScanOptions) (cm.ScanState, error) {
	opts.Name = cmp.Or(opts.Name, DefaultScanName)
	opts.PageSize = cmp.Or(opts.PageSize, genesys.ScanLimitDefault)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PageSize < genesys.ScanLimitMin || opts.PageSize > genesys.ScanLimitMax {
		return cm.ScanState{}, cm.Errorf(cm.EINVALID, "scan: page size must be between %d and %d (got %d)",
			genesys.ScanLimitMin, genesys.ScanLimitMax, opts.PageSize)
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
	for restarts := 0; ; restarts++ {
		state, err = walk(ctx, api, st, opts, state)
		if !errors.Is(err, genesys.ErrCursorExpired) || state.Cursor == "" || restarts == maxScanRestarts {
			return state, err
		}
		r := ScanRestart{N: restarts + 1, PagesReread: state.Pages, ContactsReread: state.Contacts, Err: err}
		opts.Logger.Warn("scan: the saved cursor has expired (scan cursors live 24 hours); restarting from the first page: "+
			"the pages already saved are read again and their contacts upserted (each stays stored once)",
			"scan", opts.Name, "pages_reread", r.PagesReread, "contacts_reread", r.ContactsReread, "restart", r.N, "err", err)
		if opts.OnRestart != nil {
			opts.OnRestart(r)
		}
		if err := st.ResetScan(ctx, opts.Name); err != nil {
			return state, err
		}
		state = cm.ScanState{Name: opts.Name}
	}
}

// walk follows the scan from state's cursor and saves each page with the
// cursor after it; it returns the state last saved.
func walk(ctx context.Context, api *genesys.Client, st cm.Store, opts ScanOptions, state cm.ScanState) (cm.ScanState, error) {
	if state.StartedAt.IsZero() {
		state.StartedAt = opts.Now()
	}
	save := func(next cm.ScanState, page []cm.Contact) error {
		next.UpdatedAt = opts.Now()
		if err := st.SaveScanPage(ctx, next, page); err != nil {
			return fmt.Errorf("save scan page %d: %w", next.Pages, err)
		}
		state = next
		if opts.Progress != nil {
			opts.Progress(state)
		}
		return nil
	}
	// The next page is fetched while this one is saved: a scan goes as fast
	// as the slower of the platform and the store, not their sum.
	fetchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := ahead(api.Contacts.ScanAll(fetchCtx, &genesys.ScanOptions{Limit: opts.PageSize, Cursor: state.Cursor, DivisionID: opts.DivisionID}), cancel)
	for page, err := range pages {
		if errors.Is(err, genesys.ErrScanCursorRepeated) {
			// The page whose cursor repeats was saved: name it.
			return state, fmt.Errorf("scan: after page %d (saved; the scan resumes from it): %w", state.Pages, err)
		}
		if err != nil {
			return state, fmt.Errorf("scan page %d: %w", state.Pages+1, err)
		}
		next := state
		next.Pages++
		next.Contacts += int64(len(page.Entities))
		next.Cursor = page.After()
		next.Done = next.Cursor == ""
		if err := save(next, page.Entities); err != nil {
			return state, err
		}
	}
	if !state.Done {
		// The iterator ended on an empty page, which it does not yield: it
		// was fetched, so it counts, and the scan is complete.
		next := state
		next.Pages++
		next.Cursor, next.Done = "", true
		if err := save(next, nil); err != nil {
			return state, err
		}
	}
	return state, nil
}

// ahead runs seq on a goroutine of its own, one item ahead of the
// consumer: the next item is produced while the consumer handles this one.
// When the consumer stops early, ahead calls cancel (which must make seq
// return soon, e.g. by cancelling the context of its requests) and waits
// for the goroutine to end.
func ahead[K, V any](seq iter.Seq2[K, V], cancel func()) iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		type item struct {
			k K
			v V
		}
		items := make(chan item) // unbuffered: one item ahead, no more
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer close(items)
			for k, v := range seq {
				select {
				case items <- item{k, v}:
				case <-stop:
					return
				}
			}
		}()
		defer func() {
			close(stop)
			cancel()
			<-done
		}()
		for it := range items {
			if !yield(it.k, it.v) {
				return
			}
		}
	}
}
