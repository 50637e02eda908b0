package contactmerge

import "slices"

// GroupState is the state of a merge group. The state machine is drawn in
// ARCHITECTURE.md; transitions below is its exact edge list, and
// TestCanTransition checks all 11×11 pairs against a literal table, so a new
// edge is always a reviewed diff. engine/doc.go names the function that takes
// each edge.
type GroupState string

// The group states.
const (
	StateProposed    GroupState = "proposed"    // found by match, awaiting review
	StateApproved    GroupState = "approved"    // approved by a person or a policy, awaiting preflight
	StateRejected    GroupState = "rejected"    // rejected by review; never merged
	StateReady       GroupState = "ready"       // preflight passed; may be submitted
	StateInFlight    GroupState = "in_flight"   // intent committed; a merge request may be on the wire
	StateUnknown     GroupState = "unknown"     // the outcome of a request is not known; verify before anything else
	StateMerged      GroupState = "merged"      // merged exactly once; CanonicalID is the result
	StateQuarantined GroupState = "quarantined" // waiting for activity to end (RetryAt) or a conflict to clear
	StateSplit       GroupState = "split"       // replaced by child groups (bisection or re-plan)
	StateDropped     GroupState = "dropped"     // nothing left to merge (members deleted or already one contact)
	StateFailed      GroupState = "failed"      // permanent error; Reason says why
)

// AllStates lists every group state in display order.
var AllStates = []GroupState{ //nolint:gochecknoglobals // immutable table
	StateProposed, StateApproved, StateRejected, StateReady, StateInFlight, StateUnknown,
	StateMerged, StateQuarantined, StateSplit, StateDropped, StateFailed,
}

// transitions is the complete edge list of the state machine: nothing is
// implicit. Review edges (a steward's approve or reject) are marked; every
// other edge is taken by the engine.
//
// Deliberately absent:
//   - unknown → in_flight: an ambiguous outcome is verified first; only
//     unknown → ready (verified not applied) may lead to a new submission.
//   - approved → merged, approved → proposed, ready → quarantined,
//     ready → split, ready → failed, quarantined → failed: nothing takes
//     them.
//   - merged, split, dropped: terminal, no edge leaves them.
//
// A Transition to a group's own state is not an edge: the store allows it to
// record an update (a refreshed plan, a new retry time).
var transitions = map[GroupState][]GroupState{ //nolint:gochecknoglobals // immutable table
	StateProposed: {
		StateApproved, StateRejected, // review
	},
	StateApproved: {
		StateReady, StateQuarantined, StateDropped, StateSplit, StateFailed, // preflight, re-plan
		StateRejected, // review
	},
	StateRejected: {
		StateApproved, // review: a steward changes their mind
		StateProposed, // review: unreject (the rejection's cannot-link pairs are lifted with it)
	},
	StateReady: {
		StateInFlight, // submit: intent committed before the request
		StateApproved, // members changed since preflight: preflight again
		StateMerged,   // every round already applied
		StateDropped,  // nothing left to merge
		StateRejected, // review
	},
	StateInFlight: {
		StateMerged, StateUnknown, StateReady, // 2xx / ambiguous / not applied
		StateSplit, StateQuarantined, // 409: bisect, or the isolated member
		StateFailed, // permanent 4xx, attempts exhausted
	},
	StateUnknown: {
		StateMerged, StateReady, StateFailed, // verify: applied / not applied / anomaly
	},
	StateQuarantined: {
		StateApproved, // retry time reached, or review
		StateRejected, // review
	},
	StateFailed: {
		StateApproved, // review: try again
	},
}

// Valid reports whether s is one of the defined states.
func (s GroupState) Valid() bool { return slices.Contains(AllStates, s) }

// CanTransition reports whether the state machine has the edge from → to.
func CanTransition(from, to GroupState) bool {
	return slices.Contains(transitions[from], to)
}
