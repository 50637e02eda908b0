package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/restore"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

type reportOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)

	format   string // table, csv or json
	groupID  string
	idMap    bool
	afterSeq int64
	asJSON   bool // --json: --format json
}

func newCmdReport(f *Factory, runF func(*reportOptions) error) *cobra.Command {
	o := &reportOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Print the audit ledger (or, with --id-map, old id → canonical id)",
		Long: `Prints the append-only audit ledger: one row per state transition, per merge request
(status, correlation id, canonical id, before-images of the merged contacts, values that
could not be kept) and per note. --id-map prints instead, for every merged contact, the
canonical contact it now resolves to, for systems that stored the old ids.

--json is --format json: one JSON object per line. It reads an existing store only.`,
		Example: `  contactmerge report
  contactmerge report --group g_3f9a2c --json
  contactmerge report --id-map --format csv > id-map.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.asJSON {
				if cmd.Flags().Changed("format") && o.format != "json" {
					return usageErrorf("--json and --format %s contradict each other", o.format)
				}
				o.format = "json"
			}
			switch o.format {
			case "table", "csv", "json":
			default:
				return cm.Errorf(cm.EINVALID, "--format: %q is not table, csv or json", o.format)
			}
			if runF != nil {
				return runF(o)
			}
			return reportRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "table", "table, csv or json (JSON lines)")
	cmd.Flags().StringVar(&o.groupID, "group", "", "only this group's rows")
	cmd.Flags().BoolVar(&o.idMap, "id-map", false, "print old contact id → canonical id of every contact the platform merged (from the ledger)")
	cmd.Flags().Int64Var(&o.afterSeq, "after", 0, "only rows after this sequence number")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "JSON lines: the same as --format json")
	cmd.AddCommand(newCmdReportPolicy(f, nil), newCmdReportSources(f, nil))
	return cmd
}

func reportRun(ctx context.Context, o *reportOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.idMap {
		return writeIDMap(ctx, o.IO.Out, st, o.format)
	}
	filter := cm.LedgerFilter{GroupID: o.groupID, AfterSeq: o.afterSeq}
	switch o.format {
	case "json":
		enc := json.NewEncoder(o.IO.Out)
		return st.Ledger(ctx, filter, func(ev cm.LedgerEvent) error { return enc.Encode(ev) })
	case "csv":
		return writeLedgerCSV(ctx, o.IO.Out, st, filter)
	}
	return writeLedgerTable(ctx, o.IO.Out, st, filter)
}

func writeLedgerCSV(ctx context.Context, out io.Writer, st cm.Store, filter cm.LedgerFilter) error {
	w := csv.NewWriter(out)
	_ = w.Write([]string{"seq", "at", "kind", "groupId", "from", "to", "actor", "attempt", "idempotencyKey", "request", "status", "correlationId", "canonicalId", "unkept", "detail"})
	err := st.Ledger(ctx, filter, func(ev cm.LedgerEvent) error {
		unkept, _ := json.Marshal(ev.Unkept)
		if ev.Unkept == nil {
			unkept = nil
		}
		return w.Write([]string{strconv.FormatInt(ev.Seq, 10), ev.At.UTC().Format(time.RFC3339Nano), string(ev.Kind), ev.GroupID,
			string(ev.From), string(ev.To), ev.Actor, strconv.Itoa(ev.Attempt), ev.IdempotencyKey, ev.Request,
			strconv.Itoa(ev.Status), ev.CorrelationID, ev.CanonicalID, string(unkept), ev.Detail})
	})
	w.Flush()
	if err != nil {
		return err
	}
	return w.Error()
}

func writeLedgerTable(ctx context.Context, out io.Writer, st cm.Store, filter cm.LedgerFilter) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tAT\tKIND\tGROUP\tCHANGE\tSTATUS\tDETAIL")
	err := st.Ledger(ctx, filter, func(ev cm.LedgerEvent) error {
		_, err := fmt.Fprintln(w, ledgerTableRow(ev))
		return err
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

// ledgerTableRow is one ledger row of the table format, tab-separated.
func ledgerTableRow(ev cm.LedgerEvent) string {
	change := ""
	if ev.Kind == cm.LedgerTransition {
		from := string(ev.From)
		if from == "" {
			from = "-"
		}
		change = from + "→" + string(ev.To)
	}
	status := ""
	if ev.Status != 0 {
		status = strconv.Itoa(ev.Status)
	}
	detail := ev.Detail
	if ev.Kind == cm.LedgerAPI {
		detail = ev.Request + " " + detail
		if ev.CanonicalID != "" {
			detail += " → " + ev.CanonicalID
		}
	}
	return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s", ev.Seq, ev.At.UTC().Format("2006-01-02 15:04:05"), ev.Kind, ev.GroupID, change, status, detail)
}

// writeIDMap prints the id map of every merge the ledger records as applied
// (engine.AppliedMerges: the rounds of groups that failed or were
// quarantined part-way included) as CSV or JSON lines.
func writeIDMap(ctx context.Context, out io.Writer, st cm.Store, format string) error {
	applied, err := engine.AppliedMerges(ctx, st)
	if err != nil {
		return err
	}
	restored, err := restore.Restorations(ctx, st)
	if err != nil {
		return err
	}
	rows := review.WithRestores(review.IDMap(applied), restored)
	if format == "json" {
		enc := json.NewEncoder(out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	w := csv.NewWriter(out)
	header := []string{"oldId", "canonicalId", "groupId"}
	if len(restored) > 0 {
		header = append(header, "restoredId") // only once a restore happened: the CSV others read stays as it was
	}
	_ = w.Write(header)
	for _, r := range rows {
		rec := []string{r.OldID, r.CanonicalID, r.GroupID}
		if len(restored) > 0 {
			rec = append(rec, r.RestoredID)
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return w.Error()
}
