package contactmerge

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ConstraintKind is what a steward decided about a pair of contacts.
type ConstraintKind string

// The constraint kinds.
const (
	// MustLink: the two contacts are one customer. Match links them even
	// when their score would not, and approving a group records one for
	// each of its pairs.
	MustLink ConstraintKind = "must_link"
	// CannotLink: the two contacts are different customers. No group that
	// match proposes, no policy approves and no preflight passes holds
	// both. Rejecting a group records one for each of its pairs (or only
	// between the members split off and the rest).
	CannotLink ConstraintKind = "cannot_link"
)

// LedgerDecision is the ledger kind of the row that records a steward's
// decision about pairs of contacts: the constraints an approval, rejection
// or split recorded, and every link, unlink and unreject, with its actor.
const LedgerDecision LedgerKind = "decision"

// Valid reports whether k is MustLink or CannotLink.
func (k ConstraintKind) Valid() bool { return k == MustLink || k == CannotLink }

// Opposite returns the kind that contradicts k.
func (k ConstraintKind) Opposite() ConstraintKind {
	if k == MustLink {
		return CannotLink
	}
	return MustLink
}

// Verb is the past participle a message uses for k: "linked" or "rejected".
func (k ConstraintKind) Verb() string {
	if k == MustLink {
		return "linked"
	}
	return "rejected"
}

// PairConstraint is a steward's durable decision about two contacts. It is
// independent of groups: superseding, re-grouping or merging a group
// leaves it in place, and only a person removes it (unlink, unreject, or a
// new decision on the group it was made on).
type PairConstraint struct {
	ID   int64          `json:"id,omitempty"` // assigned by the store
	Kind ConstraintKind `json:"kind"`
	// A and B are the contact ids, A < B (the store orders them).
	A string `json:"a"`
	B string `json:"b"`
	// GroupID is the group the decision was made on; "" for a pair linked
	// by itself (plan link).
	GroupID string    `json:"groupId,omitempty"`
	Actor   string    `json:"actor"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// Pair returns the constraint's contact pair.
func (c PairConstraint) Pair() Pair { return Pair{c.A, c.B} }

// String describes c in one phrase, e.g. "c1–c2 rejected by ann at
// 2026-05-01T10:00:00Z on group g_1: different people".
func (c PairConstraint) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s–%s %s by %s", c.A, c.B, c.Kind.Verb(), c.Actor)
	if !c.At.IsZero() {
		fmt.Fprintf(&b, " at %s", c.At.UTC().Format(time.RFC3339))
	}
	if c.GroupID != "" {
		fmt.Fprintf(&b, " on group %s", c.GroupID)
	}
	if c.Reason != "" {
		fmt.Fprintf(&b, ": %s", c.Reason)
	}
	return b.String()
}

// Pair is an unordered pair of contact ids, stored in order: A < B.
type Pair struct{ A, B string }

// MakePair returns the pair of a and b in order.
func MakePair(a, b string) Pair {
	if b < a {
		a, b = b, a
	}
	return Pair{a, b}
}

// Pairs returns every pair of the distinct ids, in order.
func Pairs(ids []string) []Pair {
	m := SortedIDs(ids)
	out := make([]Pair, 0, len(m)*(len(m)-1)/2)
	for i := range m {
		for j := i + 1; j < len(m); j++ {
			out = append(out, Pair{m[i], m[j]})
		}
	}
	return out
}

// CrossPairs returns every pair with one end in side and the other in
// rest, in order; ids in both are paired with neither.
func CrossPairs(side, rest []string) []Pair {
	s, r := SortedIDs(side), SortedIDs(rest)
	var out []Pair
	for _, a := range s {
		for _, b := range r {
			if a != b && !slices.Contains(s, b) {
				out = append(out, MakePair(a, b))
			}
		}
	}
	slices.SortFunc(out, func(x, y Pair) int {
		if c := strings.Compare(x.A, y.A); c != 0 {
			return c
		}
		return strings.Compare(x.B, y.B)
	})
	return slices.Compact(out)
}

// ConstraintFilter selects pair constraints. Zero fields select everything.
type ConstraintFilter struct {
	Kinds []ConstraintKind
	// Contacts selects constraints with an end among these ids (with
	// Within, both ends); nil selects all.
	Contacts []string
	Within   bool
	// GroupID selects the constraints recorded on this group.
	GroupID string
	IDs     []int64
}

// ConstraintChange records and removes pair constraints that belong to no
// group transition (plan link, plan unlink), atomically, with one
// LedgerDecision row naming Actor and Detail.
type ConstraintChange struct {
	Actor  string
	Detail string
	// Add are recorded; Actor and At default to the change's actor and the
	// store's clock. A pair already holding a constraint of the same kind
	// on the same group keeps the older one.
	Add []PairConstraint
	// Remove are the ids of constraints removed (ECONFLICT if one no
	// longer exists).
	Remove []int64
}
