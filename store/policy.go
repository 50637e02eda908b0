package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// This file holds the verdicts of the guarded auto-approve policy (package
// policy): for every cycle the policy ran, what it decided about each
// proposed group it looked at. In shadow mode they are all it leaves
// behind: what it would have approved, so that an admin can compare them
// with their own decisions (contactmerge report policy) before switching it
// on. The table is policy_verdicts (schema v8).

// PolicyVerdict is the policy's verdict on one group in one cycle.
type PolicyVerdict struct {
	Cycle   string    `json:"cycle"`
	GroupID string    `json:"groupId"`
	At      time.Time `json:"at"`
	// Mode is the policy's mode: "shadow" or "enforce".
	Mode string `json:"mode"`
	// Approve is the verdict: the policy approves (enforce) or would
	// approve (shadow) the group.
	Approve bool `json:"approve"`
	// Applied is set when the policy did approve the group (enforce mode).
	Applied bool `json:"applied"`
	// Confidence and Members are the group's when it was judged.
	Confidence float64 `json:"confidence"`
	Members    int     `json:"members"`
	// Reasons name each guard that held the group ("guard: why").
	Reasons []string `json:"reasons,omitempty"`
}

// PolicyVerdictFilter selects verdicts. Zero fields select everything.
type PolicyVerdictFilter struct {
	Cycle    string
	GroupIDs []string
	// Latest keeps, for each group, only its most recent verdict.
	Latest bool
}

// KeepPolicyCycles is how many of the latest cycles keep all their
// verdicts. Of older cycles only the verdicts that are their group's
// latest remain (what report policy and the console's agreement read), so
// the table grows with the groups, not with groups × cycles.
const KeepPolicyCycles = 30

// SavePolicyVerdicts records vs in one transaction; a verdict for a cycle
// and group already recorded is replaced. At defaults to the store's clock.
// In the same transaction it prunes the verdicts of cycles older than the
// latest KeepPolicyCycles that a later verdict of their group supersedes.
// EINVALID for a verdict without a cycle or group, or a store this package
// did not open.
func SavePolicyVerdicts(ctx context.Context, st cm.Store, vs []PolicyVerdict) error {
	s, ok := st.(*dbStore)
	if !ok {
		return cm.Errorf(cm.EINVALID, "SavePolicyVerdicts: not a store of package store")
	}
	now := s.clock()
	rows := make([][]any, 0, len(vs))
	for i, v := range vs {
		if v.Cycle == "" || v.GroupID == "" {
			return cm.Errorf(cm.EINVALID, "policy verdict %d: a verdict needs a cycle and a group", i)
		}
		reasons, err := json.Marshal(v.Reasons)
		if err != nil {
			return fmt.Errorf("policy verdict %s: %w", v.GroupID, err)
		}
		if v.Reasons == nil {
			reasons = []byte("[]")
		}
		at := v.At
		if at.IsZero() {
			at = now
		}
		rows = append(rows, []any{v.Cycle, v.GroupID, micros(at), v.Mode, boolInt(v.Approve), boolInt(v.Applied), v.Confidence, int64(v.Members), string(reasons)})
	}
	const cols = "cycle, group_id, at, mode, approve, applied, confidence, members, reasons"
	return s.inTxRetry(ctx, "SavePolicyVerdicts", func(t tx) error {
		for c := range slices.Chunk(rows, 100) {
			marks := make([]string, len(c))
			args := make([]any, 0, len(c)*9)
			for i, r := range c {
				marks[i] = "(" + placeholders(len(r)) + ")"
				args = append(args, r...)
			}
			q := "INSERT INTO policy_verdicts (" + cols + ") VALUES " + strings.Join(marks, ", ") +
				` ON CONFLICT (cycle, group_id) DO UPDATE SET at = excluded.at, mode = excluded.mode, approve = excluded.approve,
				applied = excluded.applied, confidence = excluded.confidence, members = excluded.members, reasons = excluded.reasons`
			if _, err := t.exec(ctx, q, args...); err != nil {
				return fmt.Errorf("save policy verdicts: %w", err)
			}
		}
		return prunePolicyVerdicts(ctx, t)
	})
}

// prunePolicyVerdicts deletes the verdicts of the cycles older than the
// latest KeepPolicyCycles (by their last verdict's time) that a later
// verdict of the same group supersedes (later by time, then cycle: the
// order in which PolicyVerdictFilter.Latest picks).
func prunePolicyVerdicts(ctx context.Context, t tx) error {
	q := `DELETE FROM policy_verdicts
		WHERE cycle NOT IN (SELECT cycle FROM policy_verdicts GROUP BY cycle ORDER BY MAX(at) DESC, cycle DESC LIMIT ` + fmt.Sprint(KeepPolicyCycles) + `)
		AND EXISTS (SELECT 1 FROM policy_verdicts n WHERE n.group_id = policy_verdicts.group_id
			AND (n.at > policy_verdicts.at OR (n.at = policy_verdicts.at AND n.cycle > policy_verdicts.cycle)))`
	if _, err := t.exec(ctx, q); err != nil {
		return fmt.Errorf("prune policy verdicts: %w", err)
	}
	return nil
}

// PolicyVerdicts returns the verdicts f selects, ordered by group, then
// time, then cycle. EINVALID for a store this package did not open.
func PolicyVerdicts(ctx context.Context, st cm.Store, f PolicyVerdictFilter) ([]PolicyVerdict, error) {
	s, ok := st.(*dbStore)
	if !ok {
		return nil, cm.Errorf(cm.EINVALID, "PolicyVerdicts: not a store of package store")
	}
	q := "SELECT cycle, group_id, at, mode, approve, applied, confidence, members, reasons FROM policy_verdicts"
	var where []string
	var args []any
	if f.Cycle != "" {
		where = append(where, "cycle = ?")
		args = append(args, f.Cycle)
	}
	var out []PolicyVerdict
	read := func(in []string) error {
		w, a := where, args
		if in != nil {
			w = append(slices.Clip(w), "group_id IN ("+placeholders(len(in))+")")
			a = append(slices.Clip(a), anys(in)...)
		}
		qq := q
		if len(w) > 0 {
			qq += " WHERE " + strings.Join(w, " AND ")
		}
		rs, err := s.b.reader().query(ctx, qq+" ORDER BY group_id, at, cycle", a...)
		if err != nil {
			return s.b.translate(fmt.Errorf("policy verdicts: %w", err))
		}
		defer rs.Close()
		for rs.Next() {
			var v PolicyVerdict
			var at, approve, applied, members int64
			var reasons string
			if err := rs.Scan(&v.Cycle, &v.GroupID, &at, &v.Mode, &approve, &applied, &v.Confidence, &members, &reasons); err != nil {
				return err
			}
			v.At, v.Approve, v.Applied, v.Members = fromMicros(at), approve != 0, applied != 0, int(members)
			if err := json.Unmarshal([]byte(reasons), &v.Reasons); err != nil {
				return fmt.Errorf("policy verdict %s %s: reasons: %w", v.Cycle, v.GroupID, err)
			}
			if len(v.Reasons) == 0 {
				v.Reasons = nil
			}
			out = append(out, v)
		}
		return s.b.translate(rs.Err())
	}
	if f.GroupIDs == nil {
		if err := read(nil); err != nil {
			return nil, err
		}
	} else {
		for c := range slices.Chunk(cm.SortedIDs(f.GroupIDs), chunkSize) {
			if err := read(c); err != nil {
				return nil, err
			}
		}
	}
	if f.Latest {
		// Rows are ordered by group, then time: the last of each run wins.
		latest := out[:0]
		for i, v := range out {
			if i+1 < len(out) && out[i+1].GroupID == v.GroupID {
				continue
			}
			latest = append(latest, v)
		}
		out = latest
	}
	return out, nil
}

// boolInt is b as the 0 or 1 of an INTEGER column.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
