package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

type planShowOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)

	groupID string // the argument; "" lists groups
	state   string // --state, comma-separated
	states  []cm.GroupState
	limit   int
}

func newCmdPlanShow(f *Factory, runF func(*planShowOptions) error) *cobra.Command {
	o := &planShowOptions{IO: f.IO, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "show [GROUP]",
		Short: "List groups, or show one group side by side with its explanation",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("plan show takes at most one group id")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.groupID = args[0]
			}
			var err error
			if o.states, err = parseStates(o.state); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return planShowRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.state, "state", "", "only groups in this state")
	cmd.Flags().IntVar(&o.limit, "limit", 50, "at most this many groups (0: all)")
	return cmd
}

func planShowRun(ctx context.Context, o *planShowOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.groupID != "" {
		return showGroup(ctx, o.IO.Out, st, o.groupID)
	}
	return listGroups(ctx, o.IO.Out, st, o)
}

// listGroups prints a table of groups, most confident first.
func listGroups(ctx context.Context, w io.Writer, st cm.Store, o *planShowOptions) error {
	groups, err := st.Groups(ctx, cm.GroupFilter{States: o.states})
	if err != nil {
		return err
	}
	slices.SortStableFunc(groups, func(a, b cm.Group) int {
		if c := cmp.Compare(b.Confidence, a.Confidence); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSTATE\tSIZE\tCONFIDENCE\tSURVIVOR\tNAME")
	shown := 0
	for _, g := range groups {
		if o.limit > 0 && shown == o.limit {
			break
		}
		name := ""
		if g.Merged != nil {
			name = strings.TrimSpace(g.Merged.FirstName + " " + g.Merged.LastName)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4f\t%s\t%s\n", g.ID, g.State, len(g.Members), g.Confidence, g.SurvivorID, name)
		shown++
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(groups) > shown {
		fmt.Fprintf(w, "(%d more; --limit 0 shows all)\n", len(groups)-shown)
	}
	return nil
}

// showGroup prints one group side by side (review.WriteGroup), members
// merged away included.
func showGroup(ctx context.Context, w io.Writer, st cm.Store, id string) error {
	g, err := st.Group(ctx, id)
	if cm.IsCode(err, cm.ENOTFOUND) {
		return cm.Errorf(cm.EINVALID, "no group %s", id)
	}
	if err != nil {
		return err
	}
	members, err := review.MemberContacts(ctx, st, g)
	if err != nil {
		return err
	}
	return review.WriteGroup(w, g, members)
}
