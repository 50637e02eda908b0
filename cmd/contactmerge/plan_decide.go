package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

// planDecideOptions are those of plan approve (Approve) and plan reject.
type planDecideOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	Now       func() time.Time

	approve bool
	// Exactly one of All, MinConfidence >= 0 (approve only) and Groups.
	all           bool
	minConfidence float64 // -1: not given
	groups        []string
	members       []string   // --members (reject, one --group): split these off
	choice        planChoice // --survivor, --take, --config (approve, one --group)
	reason        string
	actor         string // --actor, else $USER
}

func newCmdPlanDecide(f *Factory, approve bool, runF func(*planDecideOptions) error) *cobra.Command {
	o := &planDecideOptions{IO: f.IO, OpenStore: f.OpenStore, Now: f.Now,
		approve: approve, minConfidence: -1}
	verb := "reject"
	if approve {
		verb = "approve"
	}
	cmd := &cobra.Command{
		Use:   verb,
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " proposed groups (--all, --min-confidence X, or --group ID)",
		Example: "  contactmerge plan " + verb + " --group g_0123456789abcdef0123 --reason \"checked with the CRM\"\n" +
			"  contactmerge plan " + verb + " --all",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			chosen := 0
			for _, b := range []bool{o.all, o.minConfidence >= 0, len(o.groups) > 0} {
				if b {
					chosen++
				}
			}
			if chosen != 1 {
				return usageErrorf("give exactly one of --all, --min-confidence or --group")
			}
			if len(o.members) > 0 && len(o.groups) != 1 {
				return usageErrorf("--members splits one group: give it with exactly one --group")
			}
			if err := o.choice.parse(len(o.groups)); err != nil {
				return err
			}
			if o.minConfidence > 1 {
				return cm.Errorf(cm.EINVALID, "--min-confidence must be between 0 and 1 (got %g)", o.minConfidence)
			}
			o.actor = actor(f, o.actor)
			if runF != nil {
				return runF(o)
			}
			return planDecideRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "every proposed group")
	if approve {
		cmd.Flags().Float64Var(&o.minConfidence, "min-confidence", -1, "proposed groups with confidence at least X (0..1)")
	}
	cmd.Flags().StringArrayVar(&o.groups, "group", nil, "this group (repeatable; may also re-decide a rejected or failed group)")
	if !approve {
		cmd.Flags().StringSliceVar(&o.members, "members", nil, "with one --group: reject only these members (comma-separated) against the rest of the group")
	}
	if approve {
		o.choice.flags(cmd)
	}
	cmd.Flags().StringVar(&o.reason, "reason", "", "recorded with the decision")
	cmd.Flags().StringVar(&o.actor, "actor", "", "who decides (default $USER)")
	return cmd
}

func planDecideRun(ctx context.Context, o *planDecideOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	n := 0
	if len(o.groups) > 0 {
		for _, id := range o.groups {
			g, err := st.Group(ctx, id)
			if cm.IsCode(err, cm.ENOTFOUND) {
				return cm.Errorf(cm.EINVALID, "no group %s", id)
			}
			if err != nil {
				return err
			}
			d := cm.Decision{Approve: o.approve, Actor: o.actor, Reason: o.reason, At: o.Now()}
			switch {
			case len(o.members) > 0:
				_, err = review.Split(ctx, st, g, o.members, d)
			case o.choice.given():
				_, err = o.choice.approve(ctx, st, g, d)
			default:
				_, err = review.Decide(ctx, st, g, d)
			}
			if err != nil {
				return err
			}
			n++
		}
	} else {
		filter := cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}}
		if o.minConfidence >= 0 {
			filter.MinConfidence = o.minConfidence
		}
		out, err := review.DecideWhere(ctx, st, filter, o.approve, o.actor, o.reason, o.Now)
		if err != nil {
			return err
		}
		n = out.Decided
		for _, h := range out.Held {
			fmt.Fprintf(o.IO.ErrOut, "held %s: %s\n", h.GroupID, h.Reason)
		}
	}
	verb := "rejected"
	if o.approve {
		verb = "approved"
	}
	fmt.Fprintf(o.IO.Out, "%s %d group(s)\n", verb, n)
	return nil
}
