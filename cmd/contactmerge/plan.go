package main

import (
	"strings"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
)

// newCmdPlan is the review command group; the review logic itself lives in
// package review.
func newCmdPlan(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Review merge groups: show, export, import decisions, approve, reject, link, unlink, unreject",
		Example: `  contactmerge plan show
  contactmerge plan export --format csv --output plan.csv && contactmerge plan import plan.csv
  contactmerge plan approve --min-confidence 0.999`,
	}
	cmd.AddCommand(
		newCmdPlanShow(f, nil),
		newCmdPlanExport(f, nil),
		newCmdPlanImport(f, nil),
		newCmdPlanDecide(f, true, nil),
		newCmdPlanDecide(f, false, nil),
		newCmdPlanLink(f, true, nil),
		newCmdPlanLink(f, false, nil),
		newCmdPlanUnreject(f, nil),
		newCmdPlanConstraints(f, nil),
	)
	return cmd
}

// parseStates parses the --state flag of plan show and plan export: group
// states separated by commas; "" selects every state (nil).
func parseStates(s string) ([]cm.GroupState, error) {
	if s == "" {
		return nil, nil
	}
	var out []cm.GroupState
	for part := range strings.SplitSeq(s, ",") {
		st := cm.GroupState(strings.TrimSpace(part))
		if !st.Valid() {
			return nil, cm.Errorf(cm.EINVALID, "--state: %q is not a group state (%v)", part, cm.AllStates)
		}
		out = append(out, st)
	}
	return out, nil
}
