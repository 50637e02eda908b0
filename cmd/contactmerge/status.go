package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
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
	StoreName func() string

	asJSON bool
}

func newCmdStatus(f *Factory, runF func(*statusOptions) error) *cobra.Command {
	o := &statusOptions{IO: f.IO, OpenStore: f.OpenStore, StoreName: f.StoreName}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "The store and its organization, contacts, scan progress, groups by state, requests",
		Long: `Prints which store it read (the SQLite file's path, or the PostgreSQL URL without its
password) and the organization the store belongs to, then the contacts in the snapshot, the
scan's progress, the groups by state, the merge requests the ledger records, and every API
request the commands made for this store with the throttled (429) ones among them.

It reads an existing store only: without one it exits 2 ("no store at PATH") and creates
nothing.`,
		Example: `  contactmerge status
  contactmerge status --json
  contactmerge --db postgres://cm@db.example.com/contactmerge status`,
		Args: noArgs,
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
	Store        statusStore           `json:"store"`
	Organization *cm.Org               `json:"organization"` // null: bound to none
	Contacts     int64                 `json:"contacts"`
	Scan         cm.ScanState          `json:"scan"`
	Groups       map[cm.GroupState]int `json:"groups"`
	GroupsTotal  int                   `json:"groupsTotal"`
	Requests     statusRequests        `json:"requests"`
	Merges       ledgerRequests        `json:"mergeRequests"`
}

// statusStore names the store status read.
type statusStore struct {
	Kind     string `json:"kind"`     // sqlite or postgres
	Location string `json:"location"` // the file's absolute path, or the URL without its password
}

// statusRequests are the store's request counters: every HTTP attempt of
// scan, run, worker and the demo for this store, retries included.
type statusRequests struct {
	Total     int64            `json:"total"`
	Throttled int64            `json:"throttled"` // 429 responses
	ByStatus  map[int]int64    `json:"byStatus"`  // 0: no response
	ByRoute   map[string]int64 `json:"byRoute"`
}

// ledgerRequests are the merge requests of the ledger, by final status.
type ledgerRequests struct {
	Total    int         `json:"total"`
	ByStatus map[int]int `json:"byStatus"`
}

func statusRun(ctx context.Context, o *statusOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep := statusReport{Store: statusStore{Kind: st.Kind(), Location: o.StoreName()}, Groups: map[cm.GroupState]int{}}
	switch org, err := st.Org(ctx); {
	case err == nil:
		rep.Organization = &org
	case !cm.IsCode(err, cm.ENOTFOUND):
		return err
	}
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
	rc, err := st.RequestCounts(ctx)
	if err != nil {
		return err
	}
	rep.Requests = statusRequests{ByStatus: map[int]int64{}, ByRoute: map[string]int64{}}
	for _, c := range rc {
		rep.Requests.Total += c.N
		rep.Requests.ByStatus[c.Status] += c.N
		rep.Requests.ByRoute[c.Route] += c.N
		if c.Status == http.StatusTooManyRequests {
			rep.Requests.Throttled += c.N
		}
	}
	rep.Merges.ByStatus = map[int]int{}
	err = st.Ledger(ctx, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerAPI}}, func(ev cm.LedgerEvent) error {
		rep.Merges.Total++
		rep.Merges.ByStatus[ev.Status]++
		return nil
	})
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(o.IO.Out, rep)
	}
	w := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "store\t%s %s\n", rep.Store.Kind, rep.Store.Location)
	switch org := rep.Organization; {
	case org == nil:
		fmt.Fprintf(w, "organization\tnone recorded (filled by an older contactmerge, or its first scan failed)\n")
	default:
		fmt.Fprintf(w, "organization\t%s, recorded by %s on %s\n", org, org.Source, org.BoundAt.Format(time.RFC3339))
	}
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
	fmt.Fprintf(w, "merge requests\t%d in the ledger", rep.Merges.Total)
	if len(rep.Merges.ByStatus) > 0 {
		var parts []string
		for _, code := range slices.Sorted(maps.Keys(rep.Merges.ByStatus)) {
			parts = append(parts, fmt.Sprintf("%d× %d", rep.Merges.ByStatus[code], code))
		}
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "api requests\t%d (%d throttled)\n", rep.Requests.Total, rep.Requests.Throttled)
	return w.Flush()
}
