package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/store"
)

type statusOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)

	asJSON bool
}

func newCmdStatus(f *Factory, runF func(*statusOptions) error) *cobra.Command {
	o := &statusOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Contacts in the snapshot, groups by state, scan progress, request figures",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return statusRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print one JSON object")
	return cmd
}

type statusReport struct {
	Store       string                `json:"store"`
	Contacts    int64                 `json:"contacts"`
	Scan        cm.ScanState          `json:"scan"`
	Groups      map[cm.GroupState]int `json:"groups"`
	GroupsTotal int                   `json:"groupsTotal"`
	Requests    ledgerRequests        `json:"mergeRequests"`
}

type ledgerRequests struct {
	Total     int         `json:"total"`
	ByStatus  map[int]int `json:"byStatus"`
	Throttled int         `json:"throttled"`
}

func statusRun(ctx context.Context, o *statusOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep := statusReport{Store: st.Kind(), Groups: map[cm.GroupState]int{}}
	if rep.Contacts, err = st.CountContacts(ctx); err != nil {
		return err
	}
	if rep.Scan, err = st.ScanState(ctx, engine.DefaultScanName); err != nil {
		return err
	}
	counts, err := st.CountByState(ctx)
	if err != nil {
		return err
	}
	for _, s := range cm.AllStates {
		rep.Groups[s] = counts[s]
		rep.GroupsTotal += counts[s]
	}
	rep.Requests.ByStatus = map[int]int{}
	err = st.Ledger(ctx, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerAPI}}, func(ev cm.LedgerEvent) error {
		rep.Requests.Total++
		rep.Requests.ByStatus[ev.Status]++
		if ev.Status == 429 {
			rep.Requests.Throttled++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(o.IO.Out, rep)
	}
	w := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "store\t%s\n", rep.Store)
	fmt.Fprintf(w, "contacts\t%d\n", rep.Contacts)
	switch {
	case rep.Scan.Pages == 0:
		fmt.Fprintf(w, "scan\tnever run\n")
	case rep.Scan.Done:
		fmt.Fprintf(w, "scan\tcomplete: %d pages, %d contacts (%s)\n", rep.Scan.Pages, rep.Scan.Contacts, rep.Scan.UpdatedAt.Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "scan\tinterrupted after %d pages, %d contacts: 'contactmerge scan' resumes it\n", rep.Scan.Pages, rep.Scan.Contacts)
	}
	fmt.Fprintf(w, "groups\t%d\n", rep.GroupsTotal)
	for _, s := range cm.AllStates {
		if rep.Groups[s] > 0 {
			fmt.Fprintf(w, "  %s\t%d\n", s, rep.Groups[s])
		}
	}
	fmt.Fprintf(w, "merge requests\t%d (%d throttled)\n", rep.Requests.Total, rep.Requests.Throttled)
	return w.Flush()
}
