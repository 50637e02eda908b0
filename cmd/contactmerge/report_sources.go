package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contactmerge/contactmerge/sources"
	"github.com/contactmerge/contactmerge/store"
)

type reportSourcesOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)

	days   int // --days N: the last N days of the trend (0: all)
	asJSON bool
}

func newCmdReportSources(f *Factory, runF func(*reportSourcesOptions) error) *cobra.Command {
	o := &reportSourcesOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "sources",
		Short: "Where duplicates come from: by type, division, external source, month and linking identifier",
		Long: `Prints where the store's duplicates come from. A group of n contacts holds n-1 duplicate
records (every member but the survivor); each is counted by its own contact type, division,
external source (the sources of its externalIds, "(none)" without) and creation month, and
each group by the identifier that linked it (the field that weighed most in its
explanation). Then the new duplicates per day, by source, from the day each group was first
proposed: "crm 40 a day" is a sync creating duplicates. Rejected, split and dropped groups
are not counted.

It reads an existing store only.`,
		Example: `  contactmerge report sources
  contactmerge report sources --days 14
  contactmerge report sources --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.days < 0 {
				return usageErrorf("--days must not be negative (got %d)", o.days)
			}
			if runF != nil {
				return runF(o)
			}
			return reportSourcesRun(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.days, "days", 0, "show only the last N days of the per-day trend (0: every day)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "the report as JSON")
	return cmd
}

func reportSourcesRun(ctx context.Context, o *reportSourcesOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := sources.Compute(ctx, st)
	if err != nil {
		return err
	}
	r.PerDay = sources.LastDays(r.PerDay, o.days)
	if o.asJSON {
		return writeJSON(o.IO.Out, r)
	}
	return writeSources(o.IO.Out, r)
}

// writeSources prints the report as tables.
func writeSources(out io.Writer, r sources.Report) error {
	fmt.Fprintf(out, "%d duplicate records in %d groups (%d contacts); %d groups rejected by a person are not counted.\n",
		r.Duplicates, r.Groups, r.Contacts, r.Rejected)
	if r.Unknown > 0 {
		fmt.Fprintf(out, "%d duplicate records are neither in the snapshot nor in the ledger: counted under %s.\n", r.Unknown, sources.None)
	}
	for _, d := range []struct {
		title string
		rows  []sources.Count
	}{
		{"CONTACT TYPE", r.ByType}, {"DIVISION", r.ByDivision}, {"EXTERNAL SOURCE", r.BySource},
		{"CREATED", r.ByMonth}, {"LINKED BY", r.ByIdentifier},
	} {
		fmt.Fprintln(out)
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(w, "%s\tGROUPS\tDUPLICATES\t\n", d.title)
		for _, c := range d.rows {
			fmt.Fprintf(w, "%s\t%d\t%d\t\n", c.Key, c.Groups, c.Duplicates)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "\nNew duplicates per day (the day their group was first proposed), by source")
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "DAY\tSOURCE\tGROUPS\tDUPLICATES\t")
	for _, d := range r.PerDay {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t\n", d.Day, d.Source, d.Groups, d.Duplicates)
	}
	return w.Flush()
}
