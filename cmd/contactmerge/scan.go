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
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	Client    func(ctx context.Context, maxRate int, observe func(genesys.RequestInfo)) (*genesys.Client, error)
	Now       func() time.Time

	restart  bool
	division string
	pageSize int
}

func newCmdScan(f *Factory, runF func(*scanOptions) error) *cobra.Command {
	o := &scanOptions{IO: f.IO, OpenStore: f.OpenStore,
		Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Fetch every contact into the store (resumable)",
		Long: `Walks all External Contacts with the cursor-paged scan endpoint (200 a page) and
upserts them into the snapshot. The cursor is saved with every page: an interrupted scan
(Ctrl-C, kill -9, crash) resumes where it stopped when run again. A completed scan starts
over.`,
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
	return cmd
}

func scanRun(ctx context.Context, o *scanOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	client, err := o.Client(ctx, 0, nil)
	if err != nil {
		return err
	}
	prev, err := st.ScanState(ctx, engine.DefaultScanName)
	if err != nil {
		return err
	}
	if prev.Cursor != "" && !prev.Done && !o.restart {
		fmt.Fprintf(o.IO.ErrOut, "resuming the scan after page %d (%d contacts)\n", prev.Pages, prev.Contacts)
	}
	start := o.Now()
	prog := newProgress(o.IO, o.Now, -1, "scanning")
	state, err := engine.Scan(ctx, client, st, engine.ScanOptions{
		Restart: o.restart, DivisionID: o.division, PageSize: o.pageSize, Now: o.Now,
		Progress: func(s cm.ScanState) { prog.Set(s.Contacts, fmt.Sprintf("page %d", s.Pages)) },
	})
	prog.Done()
	if err != nil {
		return err
	}
	el := o.Now().Sub(start)
	total, err := st.CountContacts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "scan complete: %d pages, %d contacts read in %s (%.0f contacts/s); %d contacts in the store\n",
		state.Pages, state.Contacts, el.Round(time.Millisecond), float64(state.Contacts)/max(el.Seconds(), 1e-9), total)
	return nil
}
