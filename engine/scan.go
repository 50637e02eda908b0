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

// DefaultScanBatch is the default of ScanOptions.Batch: the most pages one
// transaction saves, and how many the scan fetches ahead of the store.
const DefaultScanBatch = 16

// ScanRefetchMax returns how many pages an interrupted scan (a kill, a
// crash) can have fetched beyond the ones it saved, which the resumed scan
// fetches again: a batch being saved and the pages fetched ahead of it.
func ScanRefetchMax(batch int) int {
	return 2 * max(cmp.Or(batch, DefaultScanBatch), 1)
}

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
	// Batch is the most pages saved in one transaction, and the most
	// fetched ahead of the store (Default DefaultScanBatch; 1 saves each
	// page alone with one fetched ahead). A store that keeps up with the
	// platform saves each page alone as it arrives: pages are gathered
	// only when they arrive faster than they are saved.
	Batch int
	// Restart discards a saved cursor and starts from the first page.
	Restart bool
	// Progress, when set, is called after each transaction that saved
	// pages, with the state saved (its last page).
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
// Pages are saved together with the cursor after the last of them in a
// single transaction, so an interrupted scan resumes where it stopped: no
// page is fetched twice except the ones in flight at the interruption (the
// next pages are fetched while some are saved: at most
// ScanRefetchMax(opts.Batch)), and no contact is lost. The pages that
// arrived while a transaction ran are saved together in the next one (at
// most opts.Batch), so a store slower than the platform commits less often
// instead of falling behind by a commit a page. A scan that completed
// starts over when run again.
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
	opts.Batch = cmp.Or(opts.Batch, DefaultScanBatch)
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
	if opts.Batch < 1 {
		return cm.ScanState{}, cm.Errorf(cm.EINVALID, "scan: batch must be at least 1 page (got %d)", opts.Batch)
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

// walk follows the scan from state's cursor and saves the pages with the
// cursor after the last of them; it returns the state last saved.
func walk(ctx context.Context, api *genesys.Client, st cm.Store, opts ScanOptions, state cm.ScanState) (cm.ScanState, error) {
	if state.StartedAt.IsZero() {
		state.StartedAt = opts.Now()
	}
	var contacts []cm.Contact // the batch's pages back to back, reused
	save := func(pages []*genesys.ScanPage, last bool) error {
		next := state
		contacts = contacts[:0]
		for _, p := range pages {
			next.Pages++
			next.Contacts += int64(len(p.Entities))
			next.Cursor = p.After()
			contacts = append(contacts, p.Entities...)
		}
		if last {
			// The iterator ended on an empty page, which it does not
			// yield: it was fetched, so it counts, and the scan is complete.
			next.Pages++
			next.Cursor = ""
		}
		next.Done = next.Cursor == ""
		next.UpdatedAt = opts.Now()
		if err := st.SaveScanPage(ctx, next, contacts); err != nil {
			if first := state.Pages + 1; first < next.Pages {
				return fmt.Errorf("save scan pages %d-%d: %w", first, next.Pages, err)
			}
			return fmt.Errorf("save scan page %d: %w", next.Pages, err)
		}
		clear(contacts) // the pages are not kept alive by the reused slice
		state = next
		if opts.Progress != nil {
			opts.Progress(state)
		}
		return nil
	}
	// The next pages are fetched while these are saved: a scan goes as fast
	// as the slower of the platform and the store, not their sum. A store
	// slower than the platform gets the pages that arrived meanwhile in
	// one transaction (at most opts.Batch).
	fetchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	seq := api.Contacts.ScanAll(fetchCtx, &genesys.ScanOptions{Limit: opts.PageSize, Cursor: state.Cursor, DivisionID: opts.DivisionID})
	for batch := range batches(seq, opts.Batch, cancel) {
		if len(batch.pages) > 0 {
			if err := save(batch.pages, false); err != nil {
				return state, err
			}
		}
		err := batch.err
		if errors.Is(err, genesys.ErrScanCursorRepeated) {
			// The page whose cursor repeats was saved: name it.
			return state, fmt.Errorf("scan: after page %d (saved; the scan resumes from it): %w", state.Pages, err)
		}
		if err != nil {
			return state, fmt.Errorf("scan page %d: %w", state.Pages+1, err)
		}
	}
	if !state.Done {
		if err := save(nil, true); err != nil {
			return state, err
		}
	}
	return state, nil
}

// batch is what batches yields: pages in order, then possibly the error
// that ended the sequence after them.
type batch[V any] struct {
	pages []V
	err   error
}

// batches runs seq on a goroutine of its own, which produces up to n items
// ahead of the consumer (one when n is 1): they are produced while the
// consumer handles the ones before. Each batch holds the items that were
// ready, at least one and at most n, in order; an error ends its batch and
// the sequence. The slice of a batch is reused for the next one. When the
// consumer stops early, batches calls cancel (which must make seq return
// soon, e.g. by cancelling the context of its requests) and waits for the
// goroutine to end.
func batches[V any](seq iter.Seq2[V, error], n int, cancel func()) iter.Seq[batch[V]] {
	n = max(n, 1)
	return func(yield func(batch[V]) bool) {
		type item struct {
			v   V
			err error
		}
		items := make(chan item, n-1) // with the one the goroutine holds, n ahead
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer close(items)
			for v, err := range seq {
				select {
				case items <- item{v, err}:
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
		b := batch[V]{pages: make([]V, 0, n)}
		for it := range items {
			b.pages, b.err = b.pages[:0], nil
			for {
				if it.err != nil {
					b.err = it.err
					break
				}
				b.pages = append(b.pages, it.v)
				if len(b.pages) == n {
					break
				}
				var ok bool
				select {
				case it, ok = <-items:
				default:
				}
				if !ok {
					break
				}
			}
			if !yield(b) || b.err != nil {
				return
			}
		}
	}
}
