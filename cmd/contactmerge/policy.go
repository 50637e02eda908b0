package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/store"
)

// newCmdPolicy is the parent of the auto-approve policy's commands.
func newCmdPolicy(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "The guarded auto-approve policy: check a policy file, apply it (shadow or enforce)",
		Long: `A policy file says which proposed groups contactmerge may approve without a person: a
confidence threshold, a group size limit, no conflicting strong identifiers (two ids of one
external source, two dates of birth, two values of a unique custom field), no cannot-link
pair, an optional type rule (only Ephemeral/Identified into Curated) and a cap of approvals
per cycle. Its "mode" is "shadow" (the default: record what it would approve, approve
nothing) or "enforce". Compare its shadow verdicts with your own decisions with
'contactmerge report policy' before switching it on.`,
		Example: `  contactmerge policy check policy.json
  contactmerge policy apply policy.json
  contactmerge report policy --truth truth.json`,
	}
	cmd.AddCommand(newCmdPolicyCheck(f, nil), newCmdPolicyApply(f, nil))
	return cmd
}

type policyCheckOptions struct {
	IO     IO
	file   string
	asJSON bool
}

func newCmdPolicyCheck(f *Factory, runF func(*policyCheckOptions) error) *cobra.Command {
	o := &policyCheckOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:     "check FILE",
		Short:   "Check a policy file and print its guards (exit 2 naming the field at fault)",
		Example: "  contactmerge policy check policy.json",
		Args:    exactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o.file = args[0]
			if runF != nil {
				return runF(o)
			}
			p, err := policy.Load(o.file)
			if err != nil {
				return err
			}
			if o.asJSON {
				return writeJSON(o.IO.Out, struct {
					Policy *policy.Policy `json:"policy"`
					Guards []policy.Guard `json:"guards"`
				}{p, p.Guards()})
			}
			writeGuards(o.IO.Out, p)
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "the policy and its guards as JSON")
	return cmd
}

type policyApplyOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	Now       func() time.Time

	file   string
	cycle  string // --cycle: default the time
	actor  string
	yes    bool // --yes: approve (enforce mode)
	asJSON bool
}

func newCmdPolicyApply(f *Factory, runF func(*policyApplyOptions) error) *cobra.Command {
	o := &policyApplyOptions{IO: f.IO, OpenStore: f.OpenStore, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Judge every proposed group by the policy: record the verdicts (shadow), or approve (enforce, --yes)",
		Long: `Judges every proposed group by the policy in FILE and records each verdict under the cycle
(--cycle, default the current time). In shadow mode nothing is approved. In enforce mode
the groups that pass every guard are approved, the most confident first, up to the file's
maxMergesPerCycle, through the same review path as a person's approval (recorded as
"ACTOR (policy)"); groups a person decided are never touched. Enforce mode without --yes
prints what it would approve and changes nothing (exit 2). Approved groups are merged by
'contactmerge run'.`,
		Example: `  contactmerge policy apply policy.json
  contactmerge policy apply policy.json --yes --cycle nightly-2026-05-01`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			o.actor = actor(f, o.actor)
			if runF != nil {
				return runF(o)
			}
			return policyApplyRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.cycle, "cycle", "", "the cycle the verdicts are recorded under (default the current time)")
	cmd.Flags().StringVar(&o.actor, "actor", "", "who runs the policy (default $USER); approvals are recorded as \"ACTOR (policy)\"")
	cmd.Flags().BoolVar(&o.yes, "yes", false, "enforce mode: approve without asking")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "the result as JSON")
	return cmd
}

func policyApplyRun(ctx context.Context, o *policyApplyOptions) error {
	p, err := policy.Load(o.file)
	if err != nil {
		return err
	}
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := policy.ApplyOptions{Cycle: o.cycle, Actor: o.actor, Now: o.Now, DryRun: p.Mode == policy.Enforce && !o.yes}
	res, err := p.Apply(ctx, st, opts)
	if err != nil {
		return err
	}
	if o.asJSON {
		if err := writeJSON(o.IO.Out, res); err != nil {
			return err
		}
	} else {
		writeApplyResult(o.IO.Out, p, res, opts.DryRun)
	}
	if opts.DryRun && res.WouldApprove > 0 {
		return cm.Errorf(cm.EINVALID, "policy apply: %s is in enforce mode: pass --yes to approve the %d groups above (nothing was changed)", o.file, res.WouldApprove)
	}
	return nil
}

// writeApplyResult prints what Apply did.
func writeApplyResult(out io.Writer, p *policy.Policy, res policy.Result, dryRun bool) {
	switch {
	case dryRun:
		fmt.Fprintf(out, "Policy %s (enforce), cycle %s: would approve %d of %d proposed groups", p.Path, res.Cycle, res.WouldApprove, res.Evaluated)
	case p.Mode == policy.Enforce:
		fmt.Fprintf(out, "Policy %s (enforce), cycle %s: approved %d of %d proposed groups", p.Path, res.Cycle, res.Approved, res.Evaluated)
	default:
		fmt.Fprintf(out, "Policy %s (shadow: nothing approved), cycle %s: would approve %d of %d proposed groups", p.Path, res.Cycle, res.WouldApprove, res.Evaluated)
	}
	if res.Capped > 0 {
		fmt.Fprintf(out, "; %d more passed every guard but the cap of %d", res.Capped, p.MaxMergesPerCycle)
	}
	if res.Changed > 0 {
		fmt.Fprintf(out, "; %d changed meanwhile", res.Changed)
	}
	fmt.Fprintln(out, ".")
	for _, g := range slices.Sorted(maps.Keys(res.HeldBy)) {
		fmt.Fprintf(out, "  held by %s: %d\n", g, res.HeldBy[g])
	}
	if !dryRun {
		fmt.Fprintln(out, "Compare the verdicts with the stewards' decisions: contactmerge report policy")
	}
}
