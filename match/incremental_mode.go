package match

// MatchOptions chooses how Match runs.
type MatchOptions struct {
	// Prev is the state of the last match (nil: none); Match uses it up
	// (its blocking keys are freed as they are replaced).
	Prev *State
	// Full forces a full match (with the kept model unless Reestimate).
	Full bool
	// Reestimate re-runs the estimation (EM, u, term frequencies).
	Reestimate bool
	// MaxDrift is the drift (State.DriftShare) above which the model is
	// re-estimated (0: DefaultMaxDrift).
	MaxDrift float64
	// Writes are the first reads of an incremental match against Prev,
	// read while it was loaded (LoadState); nil, or of another state: the
	// match reads them.
	Writes *Writes
}

// DefaultMaxDrift is the share of contacts new, edited or deleted since the
// model was estimated above which a match re-estimates it.
const DefaultMaxDrift = 0.10

// Mode says how a match ran and why.
type Mode struct {
	// Incremental is true for an incremental match.
	Incremental bool `json:"incremental"`
	// Estimated is true when the model was estimated by this match.
	Estimated bool `json:"estimated"`
	// Reason says why this mode ran.
	Reason string `json:"reason"`
}

func (m Mode) String() string {
	var kind string
	switch {
	case m.Incremental:
		kind = "incremental match"
	case m.Estimated:
		kind = "full match, model estimated"
	default:
		kind = "full match, kept model"
	}
	return kind + ": " + m.Reason
}

// Changes counts what an incremental match found changed.
type Changes struct {
	New         int `json:"new"`
	Edited      int `json:"edited"`
	Deleted     int `json:"deleted"`
	Constraints int `json:"constraints"` // contacts whose decisions changed
	// Affected is the number of contacts re-clustered, and ScoredPairs the
	// pairs scored.
	Affected    int `json:"affected"`
	ScoredPairs int `json:"scoredPairs"`
	// Written is the number of contacts read as written since the last
	// match: those written after it, and those written in the margin
	// before it when the count of these changed (see State.window).
	Written int `json:"written"`
}

func (c *Changes) total() int { return c.New + c.Edited + c.Deleted }

// churn counts the contacts of b new, edited or deleted since a.
func churn(a, b *State) int {
	n, seen := 0, 0
	for r, id := range a.ids {
		if a.dead[r] {
			continue
		}
		k := b.liveSlot(id)
		if k < 0 {
			n++
			continue
		}
		seen++
		if a.hash[r] != b.hash[k] {
			n++
		}
	}
	return n + b.live - seen
}
