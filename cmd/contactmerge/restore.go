package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/restore"
)

type restoreOptions struct {
	Factory *Factory

	group      string
	members    []string
	yes        bool
	keepEdited bool
	settle     time.Duration
	leaseTTL   time.Duration
	asJSON     bool
	actor      string
}

func newCmdRestore(f *Factory, runF func(*restoreOptions) error) *cobra.Command {
	o := &restoreOptions{Factory: f, settle: 2 * time.Minute, leaseTTL: 2 * time.Minute}
	cmd := &cobra.Command{
		Use:   "restore GROUP",
		Short: "Give back members of a wrongly merged group as new contacts, from their before-images",
		Long: `Genesys Cloud has no unmerge: a merged-away contact stays a read-only alias of the canonical
contact for ever. restore does the part of an undo the platform allows, for each chosen member
of a merged group (--members; default every member but the survivor):

  - it creates a new contact from the member's before-image, which the ledger kept when the merge
    consumed it (its fields, external ids and custom fields as they were);
  - it removes from the canonical contact the values only the restored members had (a value a
    member that stays merged also had is kept; a name or address falls back to a staying member's);
  - it records that the restored members and the rest are different customers (cannot-link), so
    no later match merges them again, and the id map entry old id → restored id.

What it cannot give back: conversations, notes, cases and journey history stay on the old ids,
which the platform resolves to the canonical contact; the restored contact has a new id.

It first prints the plan: the contacts to create, each value removed from the canonical contact,
what cannot be restored. On a terminal it asks for 'yes'; without one it needs --yes. A field of
the canonical contact edited since the merge is never overwritten: the conflict is shown and, on
a terminal, restore asks whether to restore the rest and leave those fields as they are; without
one such a plan is refused (exit 2) unless --keep-edited. Bad input
(a group not merged, a member not in it or restored already) is exit 2 and sends nothing.

Each request is exactly once: its intent is in the ledger before it is sent, an unknown outcome
is verified (the created contact is looked up by its restore marker) before anything is re-sent.
Safe to interrupt or kill and run again with the same arguments.`,
		Example: `  contactmerge restore g_3f9a2c --members 4c1e…,9a0b…
  contactmerge restore g_3f9a2c --members 4c1e… --yes --json
  contactmerge report --id-map     # old id → canonical id, restoredId for restored contacts`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.group = strings.TrimSpace(args[0])
			if o.group == "" {
				return usageErrorf("restore: the group id is empty")
			}
			for _, m := range o.members {
				if strings.TrimSpace(m) == "" {
					return usageErrorf("restore: --members holds an empty contact id")
				}
			}
			if o.settle <= 0 || o.leaseTTL <= 0 {
				return usageErrorf("restore: --verify-settle and --lease-ttl must be positive")
			}
			if runF != nil {
				return runF(o)
			}
			return restoreRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringSliceVar(&o.members, "members", nil, "the members to restore (comma-separated contact ids; default all but the survivor)")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "restore without asking (required without a terminal)")
	cmd.Flags().BoolVar(&o.keepEdited, "keep-edited", false, "go ahead when fields of the canonical contact were edited since the merge, leaving them as they are")
	cmd.Flags().DurationVar(&o.settle, "verify-settle", o.settle, "after a create whose outcome is unknown, how long the lookup must find nothing before it is re-sent")
	cmd.Flags().DurationVar(&o.leaseTTL, "lease-ttl", o.leaseTTL, "lifetime of the leases on the group's contacts (a killed restore blocks another for this long)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the result as JSON (the plan goes to standard error)")
	cmd.Flags().StringVar(&o.actor, "actor", "", "who is recorded in the ledger (default $USER)")
	return cmd
}

func restoreRun(ctx context.Context, o *restoreOptions) error {
	f := o.Factory
	st, err := f.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	reqs, observe := engine.NewRequestLog(st), engine.NewObserver(f.Metrics, nil)
	api, err := f.Client(ctx, 0, func(ri genesys.RequestInfo) {
		observe(ri)
		reqs.Observe(ri)
	})
	if err != nil {
		return err
	}
	if _, _, err := checkOrg(ctx, st, f.StoreName(), api, false, ""); err != nil {
		return err // the store is another organization's: its counters are not this token's
	}
	// Every request of the restore ends up in the store's request
	// counters (status), whatever happens next.
	defer func() { _ = reqs.Flush(context.WithoutCancel(ctx)) }()
	r := restore.New(st, api, restore.Config{Actor: actor(f, o.actor), Settle: o.settle, LeaseTTL: o.leaseTTL, KeepEdited: o.keepEdited, Logger: f.Logger})
	planOut := f.IO.Out
	if o.asJSON {
		planOut = f.IO.ErrOut
	}
	p, err := r.Plan(ctx, o.group, o.members)
	if p != nil {
		writeRestorePlan(planOut, p)
	}
	if err != nil && p != nil && len(p.Conflicts) > 0 && f.IO.InTTY && !o.yes {
		// Fields edited since the merge: ask whether to restore the rest
		// and leave them (--keep-edited without a terminal).
		fmt.Fprintf(f.IO.ErrOut, "%v\nLeave these %d field(s) as they are and restore the rest? Type yes to continue: ", err, len(p.Conflicts))
		if aerr := readYes(f.IO, "restore"); aerr != nil {
			return aerr
		}
		r = restore.New(st, api, restore.Config{Actor: actor(f, o.actor), Settle: o.settle, LeaseTTL: o.leaseTTL, KeepEdited: true, Logger: f.Logger})
		if p, err = r.Plan(ctx, o.group, o.members); err == nil {
			writeRestorePlan(planOut, p)
		}
	}
	if err != nil {
		return err
	}
	if err := confirmRestore(f.IO, p, o.yes); err != nil {
		return err
	}
	res, err := r.Execute(ctx, p)
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(f.IO.Out, res)
	}
	writeRestoreResult(f.IO.Out, res)
	return nil
}

// writeRestorePlan prints what a restore will do and what it cannot.
func writeRestorePlan(w io.Writer, p *restore.Plan) {
	fmt.Fprintf(w, "plan: restore %d member(s) of merged group %s; %d stay merged in the canonical contact %s\n",
		len(p.Members), p.GroupID, len(p.Staying), p.CanonicalID)
	for _, m := range p.Members {
		b := m.Before
		name := strings.TrimSpace(b.FirstName + " " + b.LastName)
		switch {
		case m.RestoredID != "":
			fmt.Fprintf(w, "  %s (%s): created already as %s by an interrupted restore; finishing it\n", m.ID, name, m.RestoredID)
		case m.Pending:
			fmt.Fprintf(w, "  %s (%s): an earlier create's outcome is unknown: verified (marker %s) before anything is sent\n", m.ID, name, m.Marker)
		default:
			fmt.Fprintf(w, "  create a contact from the before-image of %s (%s), marked with external id %s:%s\n", m.ID, name, restore.MarkerSource, m.Marker)
		}
		for _, fl := range cm.ReviewFields() {
			if v := fl.Get(&b); v != "" && fl.Name != "modifyDate" {
				fmt.Fprintf(w, "      %-14s %s\n", fl.Name, v)
			}
		}
	}
	if len(p.Removals) == 0 {
		fmt.Fprintf(w, "  nothing to remove from the canonical contact %s (it holds none of their own values, or they are removed already)\n", p.CanonicalID)
	} else {
		fmt.Fprintf(w, "  remove from the canonical contact %s (values no staying member had):\n", p.CanonicalID)
		for _, rm := range p.Removals {
			then := "emptied"
			if rm.Replacement != "" {
				then = fmt.Sprintf("→ %q (a staying member's)", rm.Replacement)
			}
			fmt.Fprintf(w, "      %-14s %q (of %s) %s\n", rm.Field, rm.Value, rm.Member, then)
		}
	}
	if len(p.Conflicts) > 0 {
		fmt.Fprintf(w, "  edited since the merge, never overwritten:\n")
		for _, c := range p.Conflicts {
			fmt.Fprintf(w, "      %s\n", c.String())
		}
	}
	fmt.Fprintf(w, "  record: the restored members and %s are different customers (%d cannot-link pairs, plus their new ids)\n",
		strings.Join(append(append([]string{}, p.Staying...), p.CanonicalID), ", "), len(p.CannotLink))
	fmt.Fprintln(w, "Cannot be restored:")
	for _, l := range p.Lost {
		fmt.Fprintf(w, "  - %s\n", l)
	}
}

// confirmRestore lets a restore go ahead with --yes or a typed "yes" on a
// terminal; otherwise EINVALID (exit 2), nothing sent.
func confirmRestore(streams IO, p *restore.Plan, yes bool) error {
	if yes {
		return nil
	}
	if !streams.InTTY {
		return cm.Errorf(cm.EINVALID, "restore: creates contacts and changes the canonical contact, and there is no terminal to confirm it on: "+
			"pass --yes to restore the %d member(s) of the plan above (nothing was sent)", len(p.Members))
	}
	fmt.Fprintf(streams.ErrOut, "Restore %d member(s) of group %s as new contacts? Type yes to continue: ", len(p.Members), p.GroupID)
	return readYes(streams, "restore")
}

// readYes reads one answer from the terminal: nil for "yes", else
// EINVALID saying that nothing was sent. The reader reads one line at a
// time, so that a second question reads the next line.
func readYes(streams IO, what string) error {
	line, err := readLine(streams.In)
	answer := strings.TrimSpace(line)
	if err != nil && answer == "" {
		return cm.Errorf(cm.EINVALID, "%s cancelled: no answer (%v); nothing was sent", what, err)
	}
	if !strings.EqualFold(answer, "yes") {
		return cm.Errorf(cm.EINVALID, "%s cancelled: the answer was %q, not yes; nothing was sent", what, answer)
	}
	return nil
}

// readLine reads up to and including the next newline from r, byte by
// byte (a bufio.Reader would read ahead the answers of later questions).
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if buf[0] == '\n' {
				return b.String(), nil
			}
			b.WriteByte(buf[0])
		}
		if err != nil {
			return b.String(), err
		}
	}
}

func writeRestoreResult(w io.Writer, res *restore.Result) {
	for _, r := range res.Restored {
		how := "restored"
		if r.Resumed {
			how = "restored (created by an earlier run)"
		}
		fmt.Fprintf(w, "%s %s as %s\n", how, r.Member, r.RestoredID)
	}
	fmt.Fprintf(w, "canonical contact %s: %d value(s) removed", res.CanonicalID, len(res.Removed))
	if len(res.LeftAlone) > 0 {
		fmt.Fprintf(w, ", %d edited field(s) left as they are", len(res.LeftAlone))
	}
	fmt.Fprintf(w, "; %d cannot-link pairs recorded; %d requests\n", len(res.CannotLink), res.Requests)
	fmt.Fprintln(w, "'contactmerge report --id-map' maps each restored id's old id to it (restoredId).")
}
