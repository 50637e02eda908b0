package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

type planExportOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)

	format string // csv or jsonl
	output string // a file; "" is standard output
	state  string // --state, comma-separated
	states []cm.GroupState
}

func newCmdPlanExport(f *Factory, runF func(*planExportOptions) error) *cobra.Command {
	o := &planExportOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export groups for review (jsonl or csv) to stdout or --output",
		Long: `Exports groups, one per line. Every row has groupId, state, survivorId, memberIds and
confidence. The CSV adds an empty 'decision' column for a data steward to fill with approve or
reject (and optionally a different survivorId and a reason), to be read back with
'contactmerge plan import'.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.format != "csv" && o.format != "jsonl" {
				return cm.Errorf(cm.EINVALID, "--format: %q is not csv or jsonl", o.format)
			}
			var err error
			if o.states, err = parseStates(o.state); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return planExportRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "csv", "csv or jsonl")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&o.state, "state", "", "only groups in these states (comma-separated)")
	return cmd
}

// planCSVHeader is the plan CSV's columns; scripts and review.ReadDecisionsCSV
// rely on these names.
func planCSVHeader() []string {
	return []string{"groupId", "state", "decision", "survivorId", "memberIds", "confidence", "size", "name", "emails", "phones", "reason"}
}

func planExportRun(ctx context.Context, o *planExportOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	groups, err := st.Groups(ctx, cm.GroupFilter{States: o.states})
	if err != nil {
		return err
	}
	out := o.IO.Out
	var file *os.File
	if o.output != "" {
		if file, err = os.Create(o.output); err != nil {
			return cm.Errorf(cm.EINVALID, "--output: %v", err)
		}
		defer file.Close()
		out = file
	}
	if o.format == "jsonl" {
		err = writeGroupsJSONL(out, groups)
	} else {
		err = writePlanCSV(out, groups)
	}
	if err != nil {
		return err
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return err
		}
		fmt.Fprintf(o.IO.ErrOut, "exported %d groups to %s\n", len(groups), o.output)
	}
	return nil
}

func writeGroupsJSONL(w io.Writer, groups []cm.Group) error {
	enc := json.NewEncoder(w)
	for _, g := range groups {
		if err := enc.Encode(g); err != nil {
			return err
		}
	}
	return nil
}

// writePlanCSV writes one row per group with an empty decision column; the
// name, emails and phones are the merged record's.
func writePlanCSV(w io.Writer, groups []cm.Group) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(planCSVHeader())
	for _, g := range groups {
		var name, emails, phones string
		if m := g.Merged; m != nil {
			name = strings.TrimSpace(m.FirstName + " " + m.LastName)
			var es, ps []string
			for _, e := range m.Emails() {
				if e != "" {
					es = append(es, e)
				}
			}
			for _, p := range m.Phones() {
				if s := p.String(); s != "" {
					ps = append(ps, s)
				}
			}
			emails, phones = strings.Join(es, " "), strings.Join(ps, " ")
		}
		_ = cw.Write([]string{g.ID, string(g.State), "", g.SurvivorID, strings.Join(g.Members, " "),
			strconv.FormatFloat(g.Confidence, 'f', 6, 64), strconv.Itoa(len(g.Members)), name, emails, phones, g.Reason})
	}
	cw.Flush()
	return cw.Error()
}
