package web

import (
	"net/http"

	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/store"
)

// ---- the auto-approve policy ----

// policyRecent is how many of the latest cycle's verdicts the policy page
// lists.
const policyRecent = 50

// handlePolicy shows the auto-approve policy: the guards of the file the
// console was given (Config.Policy), the agreement of its latest verdicts
// with the stewards' decisions (policy.Compare, the table of report
// policy), how often each guard held a group, where policy and stewards
// differ, and the verdicts of the latest cycle.
func (s *Server) handlePolicy(w http.ResponseWriter, r *http.Request) error {
	a, err := policy.Compare(r.Context(), s.st, nil)
	if err != nil {
		return err
	}
	latest, err := store.PolicyVerdicts(r.Context(), s.st, store.PolicyVerdictFilter{Latest: true})
	if err != nil {
		return err
	}
	// The latest cycle is that of the most recent verdict.
	var last store.PolicyVerdict
	for _, v := range latest {
		if v.At.After(last.At) {
			last = v
		}
	}
	data := map[string]any{"Title": "Auto-approve policy", "Agreement": a}
	if last.Cycle != "" {
		vs, err := store.PolicyVerdicts(r.Context(), s.st, store.PolicyVerdictFilter{Cycle: last.Cycle})
		if err != nil {
			return err
		}
		approve := 0
		for _, v := range vs {
			if v.Approve {
				approve++
			}
		}
		data["Cycle"], data["CycleMode"], data["CycleGroups"], data["CycleApprove"] = last.Cycle, last.Mode, len(vs), approve
		data["Recent"], data["More"] = vs[:min(len(vs), policyRecent)], max(len(vs)-policyRecent, 0)
	}
	if p := s.cfg.Policy; p != nil {
		data["Policy"], data["Guards"] = p, p.Guards()
	}
	s.render(w, r, "policy", data)
	return nil
}
