package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

type planUnrejectOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)

	group  string // the argument
	reason string
	actor  string // --actor, else $USER
}

func newCmdPlanUnreject(f *Factory, runF func(*planUnrejectOptions) error) *cobra.Command {
	o := &planUnrejectOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "unreject GROUP",
		Short: "Take back a rejection: lift its cannot-link pairs and propose the group again",
		Long: `Takes back a steward's rejection of a group: removes the cannot-link pairs that the rejection (or
split) recorded and moves the group from rejected back to proposed, in one transaction, so that
the next 'match' may group those contacts again and the group can be approved. For a group that
a later match superseded (it is no longer stored), only its pairs are lifted.`,
		Example: `  contactmerge plan unreject g_0123456789abcdef0123 --reason "not the same customer after all"
  contactmerge plan show --state rejected`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.group = args[0]
			o.actor = actor(f, o.actor)
			if runF != nil {
				return runF(o)
			}
			return planUnrejectRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.reason, "reason", "", "recorded with the decision")
	cmd.Flags().StringVar(&o.actor, "actor", "", "who decides (default $USER)")
	return cmd
}

func planUnrejectRun(ctx context.Context, o *planUnrejectOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	g, lifted, err := review.Unreject(ctx, st, o.group, o.actor, o.reason)
	if err != nil {
		return err
	}
	if g.ID == "" {
		fmt.Fprintf(o.IO.Out, "group %s no longer exists; lifted its %d rejected pair(s)\n", o.group, len(lifted))
		return nil
	}
	fmt.Fprintf(o.IO.Out, "group %s is proposed again; lifted %d rejected pair(s)\n", g.ID, len(lifted))
	return nil
}
