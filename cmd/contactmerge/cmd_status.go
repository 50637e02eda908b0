package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
)

func newStatusCmd(f *Factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Contacts in the snapshot, groups by state, scan progress, request figures",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runStatus(cmd.Context(), f, asJSON) },
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
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

func runStatus(ctx context.Context, f *Factory, asJSON bool) error {
	st, err := f.OpenStore(ctx, match.DefaultConfig())
	if err != nil {
		return err
	}
	defer st.Close()
	rep := statusReport{Store: st.Kind(), Groups: map[cm.GroupState]int{}}
	if rep.Contacts, err = st.CountContacts(ctx); err != nil {
		return err
	}
	if rep.Scan, err = st.ScanState(ctx, "contacts"); err != nil {
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
	if asJSON {
		return writeJSON(f.IO.Out, rep)
	}
	w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
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

type reportOptions struct {
	format  string
	group   string
	idMap   bool
	afterSq int64
}

func newReportCmd(f *Factory) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Print the audit ledger (or, with --id-map, old id → canonical id)",
		Long: `Prints the append-only audit ledger: one row per state transition, per merge request
(status, correlation id, canonical id, before-images of the merged contacts, values that
could not be kept) and per note. --id-map prints instead, for every merged contact, the
canonical contact it now resolves to, for systems that stored the old ids.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runReport(cmd.Context(), f, o) },
	}
	cmd.Flags().StringVar(&o.format, "format", "table", "table, csv or json (JSON lines)")
	cmd.Flags().StringVar(&o.group, "group", "", "only this group's rows")
	cmd.Flags().BoolVar(&o.idMap, "id-map", false, "print old contact id → canonical id of merged groups")
	cmd.Flags().Int64Var(&o.afterSq, "after", 0, "only rows after this sequence number")
	return cmd
}

func runReport(ctx context.Context, f *Factory, o *reportOptions) error {
	switch o.format {
	case "table", "csv", "json":
	default:
		return cm.Errorf(cm.EINVALID, "--format: %q is not table, csv or json", o.format)
	}
	st, err := f.OpenStore(ctx, match.DefaultConfig())
	if err != nil {
		return err
	}
	defer st.Close()
	if o.idMap {
		return writeIDMap(ctx, f, st, o.format)
	}
	filter := cm.LedgerFilter{GroupID: o.group, AfterSeq: o.afterSq}
	switch o.format {
	case "json":
		enc := json.NewEncoder(f.IO.Out)
		return st.Ledger(ctx, filter, func(ev cm.LedgerEvent) error { return enc.Encode(ev) })
	case "csv":
		w := csv.NewWriter(f.IO.Out)
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
	w := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tAT\tKIND\tGROUP\tCHANGE\tSTATUS\tDETAIL")
	err = st.Ledger(ctx, filter, func(ev cm.LedgerEvent) error {
		change := ""
		if ev.Kind == cm.LedgerTransition {
			change = fmt.Sprintf("%s→%s", orDash(string(ev.From)), ev.To)
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
		_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Seq, ev.At.UTC().Format("2006-01-02 15:04:05"), ev.Kind, ev.GroupID, change, status, detail)
		return err
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeIDMap(ctx context.Context, f *Factory, st cm.Store, format string) error {
	groups, err := st.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateMerged}})
	if err != nil {
		return err
	}
	type row struct {
		OldID       string `json:"oldId"`
		CanonicalID string `json:"canonicalId"`
		GroupID     string `json:"groupId"`
	}
	// A contact merged by a group whose canonical contact a later group
	// merged again (rounds, bisection, re-plans) resolves to the last one.
	next := map[string]string{}
	groupOf := map[string]string{}
	for _, g := range groups {
		for _, m := range g.Members {
			if m != g.CanonicalID {
				next[m], groupOf[m] = g.CanonicalID, g.ID
			}
		}
	}
	var rows []row
	for _, old := range slices.Sorted(maps.Keys(next)) {
		canon := next[old]
		for seen := 0; next[canon] != "" && seen < len(next); seen++ {
			canon = next[canon]
		}
		rows = append(rows, row{old, canon, groupOf[old]})
	}
	switch format {
	case "json":
		enc := json.NewEncoder(f.IO.Out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	default:
		w := csv.NewWriter(f.IO.Out)
		_ = w.Write([]string{"oldId", "canonicalId", "groupId"})
		for _, r := range rows {
			_ = w.Write([]string{r.OldID, r.CanonicalID, r.GroupID})
		}
		w.Flush()
		return w.Error()
	}
}
