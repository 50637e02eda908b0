package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/store"
)

type reportPolicyOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)

	truth  string // --truth FILE
	file   string // --policy FILE: show its guards too
	asJSON bool
}

func newCmdReportPolicy(f *Factory, runF func(*reportPolicyOptions) error) *cobra.Command {
	o := &reportPolicyOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Compare the auto-approve policy's verdicts with the stewards' decisions (and the ground truth)",
		Long: `Prints the agreement table of the auto-approve policy: its latest verdict on every group it
judged (recorded by 'contactmerge policy apply' and by the cycles, in shadow or enforce mode)
against the latest decision a person recorded on the group, approving being the positive
class: TP both approve, FP the policy approves what a person rejected, FN it holds what a
person approved, TN both say no; precision TP/(TP+FP), recall TP/(TP+FN). With --truth FILE
(JSON [[ids]] or CSV contactId,entity, as match --truth reads) it compares the verdicts with
the ground truth too: a group is a true duplicate when all its members are one entity.
Then how often each guard held a group, and the groups where policy and steward differ.

It reads an existing store only.`,
		Example: `  contactmerge report policy
  contactmerge report policy --truth truth.json --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return reportPolicyRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.truth, "truth", "", "compare with known true clusters too (JSON [[ids]] or CSV contactId,entity)")
	cmd.Flags().StringVar(&o.file, "policy", "", "a policy file whose guards to show above the table")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "the agreement as JSON")
	return cmd
}

func reportPolicyRun(ctx context.Context, o *reportPolicyOptions) error {
	var truth [][]string
	var err error
	if o.truth != "" {
		if truth, err = readTruth(o.truth); err != nil {
			return err
		}
	}
	var p *policy.Policy
	if o.file != "" {
		if p, err = policy.Load(o.file); err != nil {
			return err
		}
	}
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := policy.Compare(ctx, st, truth)
	if err != nil {
		return err
	}
	if o.asJSON {
		out := struct {
			Policy    *policy.Policy   `json:"policy,omitempty"`
			Guards    []policy.Guard   `json:"guards,omitempty"`
			Agreement policy.Agreement `json:"agreement"`
		}{Policy: p, Agreement: a}
		if p != nil {
			out.Guards = p.Guards()
		}
		return writeJSON(o.IO.Out, out)
	}
	if p != nil {
		writeGuards(o.IO.Out, p)
	}
	return writeAgreement(o.IO.Out, a, o.truth)
}

// writeGuards prints a policy's guards.
func writeGuards(out io.Writer, p *policy.Policy) {
	fmt.Fprintf(out, "Policy %s\n", p.Path)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, g := range p.Guards() {
		fmt.Fprintf(w, "  %s\t%s\n", g.Name, g.Setting)
	}
	_ = w.Flush()
	fmt.Fprintln(out)
}

// writeAgreement prints the agreement table (truthFile names the truth
// compared with, "" for none).
func writeAgreement(out io.Writer, a policy.Agreement, truthFile string) error {
	if a.Groups == 0 {
		_, err := fmt.Fprintln(out, "The policy has judged no group yet: run 'contactmerge policy apply FILE' (shadow mode approves nothing).")
		return err
	}
	fmt.Fprintf(out, "Policy verdicts: %d groups (the latest verdict of each), %d approved or would be.\n\n", a.Groups, a.Approve)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	s := a.Steward
	fmt.Fprintf(w, "vs stewards\tpolicy approves\tpolicy holds\n")
	fmt.Fprintf(w, "person approved\tTP %d\tFN %d\n", s.TP, s.FN)
	fmt.Fprintf(w, "person rejected\tFP %d\tTN %d\n", s.FP, s.TN)
	fmt.Fprintf(w, "\tprecision %s\trecall %s\t(%d decided by a person, %d undecided)\n", ratio(s.TP, s.FP, s.Precision), ratio(s.TP, s.FN, s.Recall), s.Total(), a.Undecided)
	if t := a.Truth; t != nil {
		fmt.Fprintf(w, "\t\t\n")
		fmt.Fprintf(w, "vs ground truth\tpolicy approves\tpolicy holds\t(%s)\n", truthFile)
		fmt.Fprintf(w, "one customer\tTP %d\tFN %d\n", t.TP, t.FN)
		fmt.Fprintf(w, "not one customer\tFP %d\tTN %d\n", t.FP, t.TN)
		fmt.Fprintf(w, "\tprecision %s\trecall %s\t(%d groups)\n", ratio(t.TP, t.FP, t.Precision), ratio(t.TP, t.FN, t.Recall), t.Total())
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(a.ByGuard) > 0 {
		fmt.Fprintln(out, "\nHeld by guard")
		w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		head := "GUARD\tHELD\tPERSON APPROVED\tPERSON REJECTED"
		if a.Truth != nil {
			head += "\tTRUE DUPLICATES"
		}
		fmt.Fprintln(w, head)
		for _, g := range a.ByGuard {
			row := fmt.Sprintf("%s\t%d\t%d\t%d", g.Guard, g.Held, g.StewardApproved, g.StewardRejected)
			if a.Truth != nil {
				row += fmt.Sprintf("\t%d", g.TrueDuplicates)
			}
			fmt.Fprintln(w, row)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if len(a.Disagreements) > 0 {
		fmt.Fprintf(out, "\nPolicy and steward differ on %d group(s)\n", len(a.Disagreements))
		w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "GROUP\tPOLICY\tSTEWARD\tWHY THE POLICY HELD IT")
		for i, d := range a.Disagreements {
			if i == 20 {
				fmt.Fprintf(w, "and %d more (--json lists them all)\n", len(a.Disagreements)-20)
				break
			}
			fmt.Fprintf(w, "%s\t%s\t%s by %s\t%s\n", d.GroupID, verdictWord(d.Policy), verdictWord(d.Steward), d.Actor, strings.Join(d.Reasons, "; "))
		}
		return w.Flush()
	}
	return nil
}

// ratio shows a precision or recall, or "-" when it is undefined (no
// positive on its side).
func ratio(tp, other int, r float64) string {
	if tp+other == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", r)
}

func verdictWord(approve bool) string {
	if approve {
		return "approve"
	}
	return "hold/reject"
}
