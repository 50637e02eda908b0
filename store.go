package contactmerge

import (
	"context"
	"time"
)

// Store is contactmerge's persistence: the contact snapshot, scan progress,
// merge groups with their state machine, review decisions, member leases and
// the append-only audit ledger. store.Open returns the SQLite or PostgreSQL
// implementation; both pass the same conformance suite (store/storetest).
//
// Every method that changes a group writes its ledger rows in the same
// transaction. Errors carry the codes of error.go: ENOTFOUND for a missing
// group or contact, ECONFLICT for a lost race (state, version or lease),
// EINVALID for bad arguments.
type Store interface {
	// Close releases the store's connections.
	Close() error

	// UpsertContacts inserts or replaces snapshot contacts by id. A stored
	// contact is replaced only when the incoming ModifyDate is not older.
	UpsertContacts(ctx context.Context, cs []Contact) error
	// DeleteContacts removes contacts from the snapshot (merged away or
	// deleted on the platform). Unknown ids are ignored.
	DeleteContacts(ctx context.Context, ids []string) error
	// Contacts returns the stored contacts with the given ids; missing ids
	// are absent from the map.
	Contacts(ctx context.Context, ids []string) (map[string]Contact, error)
	// EachContact calls fn for every snapshot contact in id order, stopping at
	// the first error fn returns.
	EachContact(ctx context.Context, fn func(*Contact) error) error
	// EachNorm calls fn with every contact's id and the normalized form the
	// store's Normalizer produced when it was written (nil if it had none).
	// It is the matcher's fast path: it does not decode contact JSON.
	EachNorm(ctx context.Context, fn func(id string, norm []byte) error) error
	// CountContacts returns the number of snapshot contacts.
	CountContacts(ctx context.Context) (int64, error)

	// ScanState returns the progress of the named scan (zero value with the
	// name set when it never ran).
	ScanState(ctx context.Context, name string) (ScanState, error)
	// SaveScanPage upserts a page of contacts and records the new scan state
	// in one transaction, so a resumed scan never loses or re-counts a page.
	SaveScanPage(ctx context.Context, st ScanState, page []Contact) error
	// ResetScan forgets the named scan's cursor so that the next scan starts
	// from the beginning.
	ResetScan(ctx context.Context, name string) error

	// Org returns the organization the store is bound to, with the time
	// of the binding; ENOTFOUND when it is bound to none yet.
	Org(ctx context.Context) (Org, error)
	// BindOrg binds the store to o.ID (EINVALID when empty). The first
	// binding wins: binding again to the same id changes nothing (except
	// that it fills a name the store did not know), binding to another id
	// is ECONFLICT and changes nothing.
	BindOrg(ctx context.Context, o Org) error
	// AddRequestCounts adds each count's N to the durable counter of its
	// route and status (see RequestCount).
	AddRequestCounts(ctx context.Context, counts []RequestCount) error
	// RequestCounts returns every request counter, ordered by route and
	// status.
	RequestCounts(ctx context.Context) ([]RequestCount, error)

	// SaveProposals writes the groups of a match run (states are ignored:
	// new groups start proposed). Existing groups with the same id keep
	// their state and decisions and get the new explanation, confidence and
	// merged record while they are proposed, approved or rejected. Groups
	// that are proposed, approved, rejected or quarantined and absent from
	// groups are superseded: deleted, with a ledger note. Their decision
	// rows stay (Decisions still returns them), and pair constraints belong
	// to no group: superseding never loses a steward's decision.
	SaveProposals(ctx context.Context, groups []Group, actor string) (ProposalResult, error)
	// Group returns one group (ENOTFOUND if absent).
	Group(ctx context.Context, id string) (Group, error)
	// Groups returns the groups matching f, ordered by id.
	Groups(ctx context.Context, f GroupFilter) ([]Group, error)
	// CountByState returns the number of groups in each state.
	CountByState(ctx context.Context) (map[GroupState]int, error)
	// Transition applies t atomically: see Transition.
	Transition(ctx context.Context, t Transition) (Group, error)
	// TransitionMany applies ts in order in one database transaction, each
	// with every check of Transition; any failure writes nothing of any of
	// them (a decision file applies whole or not at all).
	TransitionMany(ctx context.Context, ts []Transition) ([]Group, error)
	// Decisions returns the review decisions recorded for a group, oldest first.
	Decisions(ctx context.Context, groupID string) ([]Decision, error)

	// Constraints returns the pair constraints matching f, oldest first.
	Constraints(ctx context.Context, f ConstraintFilter) ([]PairConstraint, error)
	// ChangeConstraints applies c atomically: see ConstraintChange. Groups
	// holding an added cannot-link pair change as with
	// Transition.Constraints. EINVALID for a bad pair or kind; ECONFLICT
	// when a removed constraint no longer exists or an added one
	// contradicts a stored one (a pair is never both must-link and
	// cannot-link).
	ChangeConstraints(ctx context.Context, c ConstraintChange) error

	// AcquireLeases leases every id to owner for ttl, all or none, and returns
	// a fencing token larger than any issued before. Ids already leased to
	// owner are extended. ECONFLICT if another owner holds an unexpired lease.
	AcquireLeases(ctx context.Context, owner string, ids []string, ttl time.Duration) (int64, error)
	// ReleaseLeases releases owner's leases on ids; others' leases are untouched.
	ReleaseLeases(ctx context.Context, owner string, ids []string) error

	// AppendLedger appends rows that record no state change (notes, reads).
	AppendLedger(ctx context.Context, events ...LedgerEvent) error
	// Ledger calls fn for each ledger row matching f in sequence order.
	Ledger(ctx context.Context, f LedgerFilter, fn func(LedgerEvent) error) error
}

// Normalizer computes the matcher's normalized form of a contact; a store
// keeps it beside the contact JSON (see Store.EachNorm). It must be safe for
// concurrent use.
type Normalizer func(*Contact) []byte

// ScanState is the saved progress of a cursor scan.
type ScanState struct {
	Name      string    `json:"name"`
	Cursor    string    `json:"cursor,omitempty"` // cursor of the next page; "" before the first page
	Pages     int       `json:"pages"`
	Contacts  int64     `json:"contacts"`
	Done      bool      `json:"done"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// ProposalResult counts what SaveProposals did.
type ProposalResult struct {
	Created    int `json:"created"`
	Kept       int `json:"kept"`
	Superseded int `json:"superseded"`
}

// GroupFilter selects groups. Zero fields select everything.
type GroupFilter struct {
	IDs           []string
	States        []GroupState
	MinConfidence float64   // groups with Confidence >= MinConfidence
	RetryBefore   time.Time // groups whose RetryAt is not after this time
	AfterID       string    // keyset paging: ids greater than this
	Limit         int
}

// Transition is an atomic change of one group. In a single transaction the
// store loads the group, checks that its state is one of From (when From is
// not empty) and its Version equals Version (when non-zero), checks
// CanTransition(state, To) (a group may also "move" to its own state to
// record an update), verifies Lease (when set), calls Update on a copy, sets
// State = To, bumps Version, writes the group, inserts Children, applies the
// contact changes, records Decision, lifts LiftConstraints and records
// Constraints, and appends a transition ledger row (Detail, Actor), a
// LedgerDecision row when constraints changed, and Events. Any failed check
// returns ECONFLICT and changes nothing.
type Transition struct {
	GroupID  string
	From     []GroupState
	To       GroupState
	Version  int64
	Actor    string
	Detail   string
	Update   func(*Group)
	Lease    *Lease
	Children []Group
	Decision *Decision
	// Constraints are pair constraints recorded with the change (a
	// steward's approval, rejection or split): both ends must be members
	// (EINVALID), GroupID defaults to the group's and Actor to the
	// transition's. One that contradicts a stored constraint not lifted by
	// the same transition is ECONFLICT. Other groups that hold a recorded
	// cannot-link pair change with it: a proposed one is withdrawn
	// (deleted, with a ledger note), a ready one goes back to approved, so
	// that preflight refuses it. LiftConstraints are the ids of constraints
	// removed with the change (ECONFLICT if one no longer exists).
	Constraints     []PairConstraint
	LiftConstraints []int64
	// Events are extra ledger rows (API calls, notes) for the same group.
	Events []LedgerEvent
	// UpsertContacts and DeleteContacts update the snapshot in the same
	// transaction (the merge result replaces its inputs).
	UpsertContacts []Contact
	DeleteContacts []string
}

// Lease identifies leases that must still be held, unexpired, by Owner with
// fencing token Token on every member of the group for a Transition to apply.
type Lease struct {
	Owner string
	Token int64
}

// LedgerFilter selects ledger rows. Zero fields select everything.
type LedgerFilter struct {
	GroupID  string
	AfterSeq int64
	Kinds    []LedgerKind
	Limit    int
}
