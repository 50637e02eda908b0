package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

type planConstraintsOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)

	asJSON   bool
	contacts []string // --contact
	group    string   // --group
	kind     string   // --kind
}

func newCmdPlanConstraints(f *Factory, runF func(*planConstraintsOptions) error) *cobra.Command {
	o := &planConstraintsOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "constraints",
		Short: "List the stewards' decisions about pairs of contacts (must-link, cannot-link)",
		Long: `Lists every pair constraint in the store, oldest first: must-links (recorded by 'plan link' and
by approving a group) and cannot-links (recorded by rejecting or splitting a group), with who
decided, when, on which group and why. --json prints one JSON array.`,
		Example: `  contactmerge plan constraints
  contactmerge plan constraints --kind cannot_link --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.kind != "" && !cm.ConstraintKind(o.kind).Valid() {
				return usageErrorf("--kind: %q is not %s or %s", o.kind, cm.MustLink, cm.CannotLink)
			}
			if runF != nil {
				return runF(o)
			}
			return planConstraintsRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print JSON")
	cmd.Flags().StringSliceVar(&o.contacts, "contact", nil, "only constraints touching these contacts (comma-separated)")
	cmd.Flags().StringVar(&o.group, "group", "", "only constraints recorded on this group")
	cmd.Flags().StringVar(&o.kind, "kind", "", "only must_link or cannot_link")
	return cmd
}

func planConstraintsRun(ctx context.Context, o *planConstraintsOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	f := cm.ConstraintFilter{Contacts: o.contacts, GroupID: o.group}
	if o.kind != "" {
		f.Kinds = []cm.ConstraintKind{cm.ConstraintKind(o.kind)}
	}
	cs, err := st.Constraints(ctx, f)
	if err != nil {
		return err
	}
	if o.asJSON {
		if cs == nil {
			cs = []cm.PairConstraint{}
		}
		return writeJSON(o.IO.Out, cs)
	}
	if len(cs) == 0 {
		fmt.Fprintln(o.IO.Out, "no constraints")
		return nil
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tKIND\tA\tB\tBY\tAT\tGROUP\tREASON")
	for _, c := range cs {
		g := c.GroupID
		if g == "" {
			g = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Kind, c.A, c.B, c.Actor, c.At.UTC().Format(time.RFC3339), g, c.Reason)
	}
	return tw.Flush()
}
