package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/store"
)

type scanOptions struct {
	IO          IO
	CreateStore func(context.Context) (store.Store, error)
	StoreName   func() string
	Client      func(ctx context.Context, maxRate int, observe func(genesys.RequestInfo)) (*genesys.Client, error)
	Metrics     *engine.Metrics
	Now         func() time.Time

	restart  bool
	division string
	pageSize int
	asJSON   bool
}

func newCmdScan(f *Factory, runF func(*scanOptions) error) *cobra.Command {
	o := &scanOptions{IO: f.IO, CreateStore: f.CreateStore, StoreName: f.StoreName,
		Client: f.Client, Metrics: f.Metrics, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Fetch every contact into the store (resumable)",
		Long: `Walks all External Contacts with the cursor-paged scan endpoint (200 a page) and
upserts them into the snapshot. The cursor is saved with the pages it follows, in the same
transaction (each page alone while the store keeps up with the platform, else the pages that
arrived meanwhile, up to 16): an interrupted scan (Ctrl-C, kill -9, crash) resumes where it
stopped when run again, fetching again at most the pages in flight. A completed scan starts
over.

The first scan into a store creates it and records the token's organization
(GET /api/v2/tokens/me); a later scan with the credentials of another organization exits 2
and changes nothing.`,
		Example: `  contactmerge scan
  contactmerge scan --restart --division 2a7d6c1e-...
  contactmerge --db acme.db scan --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return scanRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.restart, "restart", false, "discard a saved cursor and start from the first page")
	cmd.Flags().StringVar(&o.division, "division", "", "scan one division only")
	cmd.Flags().IntVar(&o.pageSize, "page-size", 200, "contacts per page (10..200)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the result as one JSON object")
	return cmd
}

// reqFlushEvery is how often a scan writes its request counters to the
// store (and once at the end).
const reqFlushEvery = time.Second

// scanResult is what scan prints.
type scanResult struct {
	Organization cm.Org       `json:"organization"`
	Scan         cm.ScanState `json:"scan"`
	Elapsed      float64      `json:"elapsedSeconds"`
	StoreTotal   int64        `json:"contactsInStore"`
}

func scanRun(ctx context.Context, o *scanOptions) error {
	st, err := o.CreateStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	reqs, observe := engine.NewRequestLog(st), engine.NewObserver(o.Metrics, nil)
	client, err := o.Client(ctx, 0, func(ri genesys.RequestInfo) {
		observe(ri)
		reqs.Observe(ri)
	})
	if err != nil {
		return err
	}
	org, _, err := checkOrg(ctx, st, o.StoreName(), client, true, "scan")
	if err != nil {
		return err // the store is another organization's: its counters are not this token's
	}
	// Every request of the scan ends up in the store's request counters,
	// whatever happens next.
	defer func() { _ = reqs.Flush(context.WithoutCancel(ctx)) }()
	prev, err := st.ScanState(ctx, engine.DefaultScanName)
	if err != nil {
		return err
	}
	if prev.Cursor != "" && !prev.Done && !o.restart {
		fmt.Fprintf(o.IO.ErrOut, "resuming the scan after page %d (%d contacts)\n", prev.Pages, prev.Contacts)
	}
	start := o.Now()
	prog := newProgress(o.IO, o.Now, -1, "scanning")
	flushed := start
	state, err := engine.Scan(ctx, client, st, engine.ScanOptions{
		Restart: o.restart, DivisionID: o.division, PageSize: o.pageSize, Now: o.Now,
		Progress: func(s cm.ScanState) {
			prog.Set(s.Contacts, fmt.Sprintf("page %d", s.Pages))
			// The request counters are written at most once a second (a
			// transaction per page would halve the pages a store writes per
			// second); a failed flush keeps them for the next one.
			if now := o.Now(); now.Sub(flushed) >= reqFlushEvery {
				flushed = now
				_ = reqs.Flush(ctx)
			}
		},
		OnRestart: func(r engine.ScanRestart) {
			fmt.Fprintf(o.IO.ErrOut, "the saved scan cursor had expired (the platform keeps a cursor 24 h): "+
				"scanning again from the first page; %d pages (%d contacts) are read again, each contact stays stored once\n",
				r.PagesReread, r.ContactsReread)
		},
	})
	prog.Done()
	if err != nil {
		return err
	}
	res := scanResult{Organization: org, Scan: state, Elapsed: o.Now().Sub(start).Seconds()}
	if res.StoreTotal, err = st.CountContacts(ctx); err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(o.IO.Out, res)
	}
	fmt.Fprintf(o.IO.Out, "scan of %s complete: %d pages, %d contacts read in %s (%.0f contacts/s); %d contacts in the store\n",
		org, state.Pages, state.Contacts, (time.Duration(res.Elapsed * float64(time.Second))).Round(time.Millisecond),
		float64(state.Contacts)/max(res.Elapsed, 1e-9), res.StoreTotal)
	return nil
}
