package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

type planImportOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	Now       func() time.Time

	file  string
	actor string // --actor, else $USER
}

func newCmdPlanImport(f *Factory, runF func(*planImportOptions) error) *cobra.Command {
	o := &planImportOptions{IO: f.IO, OpenStore: f.OpenStore, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Apply a data steward's decisions from an edited plan CSV",
		Long: `Reads a CSV exported by 'plan export' in which the 'decision' column holds approve, reject, split
or nothing (no change); 'survivorId' may name another member; 'reason' is recorded. A split
rejects only the members named in the 'members' column against the rest of the group. Every
decision is also a durable pair constraint (approve: must-link, reject and split: cannot-link)
that later matches respect. All rows are checked first, as if applied in order: if any row is
bad (unparsable CSV, a group that no longer exists or is already merged, unknown decision,
survivor or split member not a member, a group whose state does not allow the decision, a
decision contradicting a steward's earlier one), every bad row is reported with its line
number and nothing is applied. Nothing is applied either when a group changed after the file
was checked. Should a write fail part-way, the message says exactly which rows were applied;
importing the same file again applies the others (rows already in effect are skipped).`,
		Example: `  contactmerge plan import plan.csv
  contactmerge plan import --actor steward@example.com reviewed.csv`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			o.actor = actor(f, o.actor)
			if runF != nil {
				return runF(o)
			}
			return planImportRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.actor, "actor", "", "who made the decisions (default $USER)")
	return cmd
}

func planImportRun(ctx context.Context, o *planImportOptions) error {
	fh, err := os.Open(o.file)
	if err != nil {
		return cm.Errorf(cm.EINVALID, "plan import: %v", err)
	}
	defer fh.Close()
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, bad, err := review.ReadDecisionsCSV(ctx, st, fh, o.file)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		lines := make([]string, len(bad))
		for i, e := range bad {
			lines[i] = e.Error()
		}
		return cm.Errorf(cm.EINVALID, "%d bad row(s); nothing was applied:\n  %s", len(bad), strings.Join(lines, "\n  "))
	}
	if err := review.Apply(ctx, st, rows, o.actor, o.Now()); err != nil {
		return err
	}
	approved, split := 0, 0
	for _, r := range rows {
		switch {
		case r.Approve:
			approved++
		case r.Split != nil:
			split++
		}
	}
	splits := ""
	if split > 0 {
		splits = fmt.Sprintf(", %d split", split)
	}
	fmt.Fprintf(o.IO.Out, "applied %d decisions from %s: %d approved, %d rejected%s\n", len(rows), o.file, approved, len(rows)-approved-split, splits)
	return nil
}
