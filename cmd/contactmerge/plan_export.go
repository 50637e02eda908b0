package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
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
confidence. The CSV adds an empty 'decision' column for a data steward to fill with approve,
reject or split (and optionally a different survivorId and a reason), to be read back with
'contactmerge plan import'; for a split, the empty 'members' column names the members to reject
against the rest of the group (ids from memberIds, separated by spaces or commas). In JSONL each
group carries 'constraints': the stewards' decisions touching its members.`,
		Example: `  contactmerge plan export --output plan.csv
  contactmerge plan export --format jsonl --state approved,quarantined`,
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
	return []string{"groupId", "state", "decision", "members", "survivorId", "memberIds", "confidence", "size", "name", "emails", "phones", "reason"}
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
		err = writeGroupsJSONL(ctx, out, st, groups)
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

// exportedGroup is a group as plan export writes it in JSONL: the group's
// fields and the constraints touching its members.
type exportedGroup struct {
	cm.Group
	Constraints []cm.PairConstraint `json:"constraints,omitempty"`
}

func writeGroupsJSONL(ctx context.Context, w io.Writer, st cm.Store, groups []cm.Group) error {
	all, err := st.Constraints(ctx, cm.ConstraintFilter{})
	if err != nil {
		return err
	}
	byContact := map[string][]cm.PairConstraint{}
	for _, c := range all {
		byContact[c.A] = append(byContact[c.A], c)
		byContact[c.B] = append(byContact[c.B], c)
	}
	enc := json.NewEncoder(w)
	for _, g := range groups {
		eg := exportedGroup{Group: g}
		seen := map[int64]bool{}
		for _, m := range g.Members {
			for _, c := range byContact[m] {
				if !seen[c.ID] {
					seen[c.ID] = true
					eg.Constraints = append(eg.Constraints, c)
				}
			}
		}
		slices.SortFunc(eg.Constraints, func(a, b cm.PairConstraint) int { return cmp.Compare(a.ID, b.ID) })
		if err := enc.Encode(eg); err != nil {
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
		_ = cw.Write([]string{g.ID, string(g.State), "", "", g.SurvivorID, strings.Join(g.Members, " "),
			strconv.FormatFloat(g.Confidence, 'f', 6, 64), strconv.Itoa(len(g.Members)), name, emails, phones, g.Reason})
	}
	cw.Flush()
	return cw.Error()
}
