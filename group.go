package contactmerge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// GroupID returns the stable id of a group: a hash of its sorted, distinct
// member ids. The same members always give the same id.
func GroupID(members []string) string {
	m := SortedIDs(members)
	h := sha256.Sum256([]byte(strings.Join(m, "\n")))
	return "g_" + hex.EncodeToString(h[:10])
}

// IdempotencyKey returns the key recorded with each merge attempt: a hash of
// the sorted member ids and the plan version. Genesys Cloud honours no
// Idempotency-Key header on External Contacts, so the key lives in the ledger.
func IdempotencyKey(members []string, planVersion int) string {
	m := SortedIDs(members)
	h := sha256.Sum256(fmt.Appendf(nil, "%s\nv%d", strings.Join(m, "\n"), planVersion))
	return hex.EncodeToString(h[:16])
}

// SortedIDs returns a sorted copy of ids without duplicates or empty ids.
func SortedIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Group is a set of contacts believed to be one customer, and everything
// needed to merge them exactly once.
type Group struct {
	ID         string     `json:"groupId"`
	ParentID   string     `json:"parentId,omitempty"` // set on groups created by bisection or re-plan
	Members    []string   `json:"memberIds"`          // sorted contact ids
	SurvivorID string     `json:"survivorId"`         // the member whose values win
	State      GroupState `json:"state"`
	Confidence float64    `json:"confidence"` // 0..1, the weakest link's match probability

	// Merged is the record sent as valueOverride: the survivorship result.
	Merged *Contact `json:"merged,omitempty"`
	// Unkept lists values that fit no slot of the merged record.
	Unkept      []UnkeptValue `json:"unkept,omitempty"`
	Explanation *Explanation  `json:"explanation,omitempty"`

	PlanVersion    int       `json:"planVersion"`
	Attempts       int       `json:"attempts"`
	IdempotencyKey string    `json:"idempotencyKey,omitempty"`
	CanonicalID    string    `json:"canonicalId,omitempty"` // the platform's merge result
	Reason         string    `json:"reason,omitempty"`      // why quarantined, failed, dropped or split
	RetryAt        time.Time `json:"retryAt,omitzero"`      // when a quarantined group is retried
	Quarantines    int       `json:"quarantines,omitempty"` // how often it was quarantined (backoff exponent)
	CreatedAt      time.Time `json:"createdAt,omitzero"`
	UpdatedAt      time.Time `json:"updatedAt,omitzero"`
	// Version increases with every change; Transition uses it for optimistic
	// concurrency.
	Version int64 `json:"version"`
}

// UnkeptValue is a member's value that survivorship could not place in the
// merged record (for example a fifth distinct phone number).
type UnkeptValue struct {
	ContactID string `json:"contactId"`
	Field     string `json:"field"`
	Value     string `json:"value"`
}

// Explanation is why a group was formed: the scored links between members.
type Explanation struct {
	Links []PairEvidence `json:"links"`
	Notes []string       `json:"notes,omitempty"`
}

// PairEvidence is the score of one candidate pair, with each field's
// contribution (a Splink-style waterfall: prior + Σ field weights = total).
type PairEvidence struct {
	A           string          `json:"a"`
	B           string          `json:"b"`
	Weight      float64         `json:"weight"`      // total match weight, log2 Bayes factor incl. prior
	Probability float64         `json:"probability"` // match probability from Weight
	Fields      []FieldEvidence `json:"fields"`
}

// FieldEvidence is one field comparison of a pair.
type FieldEvidence struct {
	Field  string  `json:"field"`
	Level  string  `json:"level"`  // e.g. "exact", "jw>=0.92", "missing"
	Weight float64 `json:"weight"` // log2(m/u), term-frequency adjusted
	A      string  `json:"a,omitempty"`
	B      string  `json:"b,omitempty"`
}

// Decision is a reviewer's verdict on a group.
type Decision struct {
	GroupID  string    `json:"groupId"`
	Approve  bool      `json:"approve"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
	Survivor string    `json:"survivorId,omitempty"` // optional override of the survivor
	// Take maps a field (a cm.ContactFields name survivorship fills) to the
	// member whose value the merged record takes for it: a steward's
	// per-field choice (plan approve --take FIELD=CONTACT_ID).
	Take map[string]string `json:"take,omitempty"`
}

// LedgerKind classifies an audit ledger row.
type LedgerKind string

// Ledger row kinds.
const (
	LedgerTransition LedgerKind = "transition" // a group changed state
	LedgerAPI        LedgerKind = "api"        // a mutation request was sent to the platform
	LedgerNote       LedgerKind = "note"       // an observation (anomaly, re-plan, unkept values)
	// LedgerRestore rows record a restore of merged-away contacts from
	// their before-images (package restore): each intent, each create or
	// update request and its answer, and the id-map entry old → restored.
	LedgerRestore LedgerKind = "restore"
)

// LedgerEvent is one row of the append-only audit ledger. Rows are written in
// the same transaction as the state change they record and never updated.
type LedgerEvent struct {
	Seq            int64           `json:"seq"`
	At             time.Time       `json:"at"`
	Kind           LedgerKind      `json:"kind"`
	GroupID        string          `json:"groupId,omitempty"`
	From           GroupState      `json:"from,omitempty"`
	To             GroupState      `json:"to,omitempty"`
	Actor          string          `json:"actor,omitempty"`
	Attempt        int             `json:"attempt,omitempty"`
	IdempotencyKey string          `json:"idempotencyKey,omitempty"`
	Request        string          `json:"request,omitempty"` // a summary, never a secret
	Status         int             `json:"status,omitempty"`  // HTTP status of the response, 0 if none
	CorrelationID  string          `json:"correlationId,omitempty"`
	CanonicalID    string          `json:"canonicalId,omitempty"`
	BeforeImages   json.RawMessage `json:"beforeImages,omitempty"` // []Contact as read before the merge
	Unkept         []UnkeptValue   `json:"unkept,omitempty"`
	Detail         string          `json:"detail,omitempty"`
}

// AppliedMerge is one merge the platform applied, as the ledger records it
// (engine.AppliedMerges reads them back): every round of a multi-round group
// is one, whether the group ended merged or not. Following Inputs → Result
// through them maps every merged-away contact id to its canonical contact
// (review.IDMap).
type AppliedMerge struct {
	Seq     int64  // the ledger row
	GroupID string // the group whose round it was
	// Inputs are the contacts merged (the request's contactIds); in later
	// rounds the first is the previous round's result.
	Inputs []string
	Result string // the new canonical contact
	// Verified is set when the merge was found applied by verification
	// after an ambiguous answer (a note row), not by a 2xx (an api row).
	Verified bool
}
