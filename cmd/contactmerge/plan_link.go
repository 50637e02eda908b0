package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

// planLinkOptions are those of plan link and plan unlink (link false).
type planLinkOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	Now       func() time.Time

	link   bool
	a, b   string // the arguments
	cannot bool   // --cannot-link (unlink): remove cannot-links, not must-links
	reason string
	actor  string // --actor, else $USER
}

func newCmdPlanLink(f *Factory, link bool, runF func(*planLinkOptions) error) *cobra.Command {
	o := &planLinkOptions{IO: f.IO, OpenStore: f.OpenStore, Now: f.Now, link: link}
	cmd := &cobra.Command{
		Use:   "link CONTACT CONTACT",
		Short: "Record that two contacts are one customer (a must-link every match respects)",
		Long: `Records a steward's decision that two contacts are the same customer: every later 'match' puts
them in one group (unless a rejection keeps them apart), even when their scores would not link
them. Both contacts must be in the store. A pair that a steward rejected cannot be linked: remove
the rejection first ('plan unreject GROUP', or 'plan unlink --cannot-link A B'). Approving a
group records the same decision for every pair of its members.`,
		Example: `  contactmerge plan link 7f3c1a2e-0000-4000-8000-000000000001 7f3c1a2e-0000-4000-8000-000000000002
  contactmerge plan unlink --cannot-link 7f3c1a2e-0000-4000-8000-000000000001 7f3c1a2e-0000-4000-8000-000000000002`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.a, o.b = args[0], args[1]
			if o.a == o.b {
				return usageErrorf("give two different contact ids")
			}
			o.actor = actor(f, o.actor)
			if runF != nil {
				return runF(o)
			}
			return planLinkRun(cmd.Context(), o)
		},
	}
	if !link {
		cmd.Use = "unlink CONTACT CONTACT"
		cmd.Short = "Remove a steward's must-link (or, with --cannot-link, rejection) between two contacts"
		cmd.Long = `Removes the must-links between two contacts, whichever decision recorded them ('plan link', or the
approval of a group holding both), so that match scores the pair on its own again. With
--cannot-link it removes the cannot-links instead (the rejections that kept the pair apart); the
rejected groups stay rejected ('plan unreject GROUP' takes back a whole rejection).`
		cmd.Flags().BoolVar(&o.cannot, "cannot-link", false, "remove the cannot-links (rejections) of the pair instead of its must-links")
	}
	cmd.Flags().StringVar(&o.reason, "reason", "", "recorded with the decision")
	cmd.Flags().StringVar(&o.actor, "actor", "", "who decides (default $USER)")
	return cmd
}

func planLinkRun(ctx context.Context, o *planLinkOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.link {
		added, err := review.Link(ctx, st, o.a, o.b, o.actor, o.reason, o.Now())
		if err != nil {
			return err
		}
		if !added {
			fmt.Fprintf(o.IO.Out, "%s and %s were already linked\n", o.a, o.b)
			return nil
		}
		fmt.Fprintf(o.IO.Out, "linked %s and %s: every match puts them in one group\n", o.a, o.b)
		return nil
	}
	kind := cm.MustLink
	if o.cannot {
		kind = cm.CannotLink
	}
	gone, err := review.Unlink(ctx, st, o.a, o.b, kind, o.actor, o.reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "removed %d %s between %s and %s:\n", len(gone), kind, o.a, o.b)
	for _, c := range gone {
		fmt.Fprintf(o.IO.Out, "  #%d %s\n", c.ID, c)
	}
	return nil
}
