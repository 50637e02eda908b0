package cycle

import (
	"context"
	"fmt"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/review"
)

// Policy is the policy step: it approves what it may of the proposed
// groups. The policy package's file policy (FilePolicy) and the demo's
// confidence threshold (Threshold) implement it.
type Policy interface {
	// Apply judges the proposed groups and, in enforce mode, approves
	// those it lets through.
	Apply(ctx context.Context, st cm.Store, o PolicyOptions) (*PolicyResult, error)
	// Enforces reports whether Apply approves (false: shadow mode, which
	// only records what it would approve).
	Enforces() bool
}

// PolicyOptions are those of Policy.Apply.
type PolicyOptions struct {
	Cycle int64
	Actor string
	Now   func() time.Time
}

// PolicyResult is the policy step's.
type PolicyResult struct {
	// Policy names the policy (its file, or the threshold).
	Policy string `json:"policy"`
	// Mode is "enforce", "shadow" or "none".
	Mode      string `json:"mode"`
	Evaluated int    `json:"evaluated"`
	// Approved counts the groups approved; WouldApprove those a shadow
	// policy would have approved.
	Approved     int `json:"approved"`
	WouldApprove int `json:"wouldApprove"`
	// Held counts the groups left for a person, HeldBy by reason.
	Held   int            `json:"held"`
	HeldBy map[string]int `json:"heldBy,omitempty"`
}

// Threshold is the approve policy of the demo (review.ApprovePolicy):
// every proposed group at least this confident that no steward's
// constraint holds, in enforce mode.
type Threshold float64

// Apply implements Policy.
func (t Threshold) Apply(ctx context.Context, st cm.Store, o PolicyOptions) (*PolicyResult, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	out, err := review.ApprovePolicy(ctx, st, float64(t), o.Actor, now)
	res := &PolicyResult{Policy: "confidence threshold " + formatFloat(float64(t)), Mode: "enforce",
		Evaluated: out.Decided + len(out.Held), Approved: out.Decided, WouldApprove: out.Decided, Held: len(out.Held)}
	if len(out.Held) > 0 {
		res.HeldBy = map[string]int{"a steward's constraint": len(out.Held)}
	}
	return res, err
}

// Enforces implements Policy.
func (Threshold) Enforces() bool { return true }

// FilePolicy is a policy file's policy (policy.Load): guarded
// auto-approve, in shadow or enforce mode, with its per-cycle cap.
type FilePolicy struct{ P *policy.Policy }

// Enforces implements Policy.
func (f FilePolicy) Enforces() bool { return f.P.Mode == policy.Enforce }

// Apply implements Policy: policy.Apply under the cycle's name ("cycle
// N"), so that its verdicts are recorded per cycle.
func (f FilePolicy) Apply(ctx context.Context, st cm.Store, o PolicyOptions) (*PolicyResult, error) {
	res, err := f.P.Apply(ctx, st, policy.ApplyOptions{Cycle: fmt.Sprintf("cycle %d", o.Cycle), Actor: o.Actor, Now: o.Now})
	name := f.P.Path
	if name == "" {
		name = "policy"
	}
	out := &PolicyResult{Policy: name, Mode: string(res.Mode), Evaluated: res.Evaluated, Approved: res.Approved,
		WouldApprove: res.WouldApprove, Held: res.Evaluated - res.WouldApprove, HeldBy: res.HeldBy}
	if len(out.HeldBy) == 0 {
		out.HeldBy = nil
	}
	return out, err
}
