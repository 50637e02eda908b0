// Package review holds what a person (or a policy) does between match and
// run: approving, rejecting and splitting merge groups, linking and
// unlinking pairs of contacts, reading a data steward's decisions back from
// a plan CSV, showing a group side by side with the evidence that formed it,
// and, after the run, the map from old contact ids to the canonical contacts
// that replaced them.
//
// Every function works on a cm.Store and nothing else: no matcher run, no
// API client. cmd/contactmerge calls it from `match --auto-approve`,
// `plan show/import/approve/reject/link/unlink/unreject`, `report --id-map`
// and the demo; the web console is meant to call it too.
//
// # Decisions
//
// A decision moves a group to approved or rejected along an edge of the state
// machine (cm.CanTransition): a proposed group either way; an approved, ready
// or quarantined one to rejected; a rejected, quarantined or failed one (or a
// ready one, back to preflight) to approved; a rejected one back to proposed
// (Unreject). Decide takes the edge with one store Transition that checks the
// group's state and version, records the cm.Decision and appends the ledger
// row in one transaction, so a group another process moved in the meantime is
// refused (ECONFLICT) rather than overwritten. DecideWhere decides every group
// a filter selects, skipping those lost to such a race, and ApproveAbove is
// the approve policy (proposed groups at or above a confidence threshold).
//
// # Decisions are constraints
//
// A steward's decision is law: nothing the tool does later may override it.
// So a person's decision is recorded, in the same Transition, as pair
// constraints (cm.PairConstraint) that belong to no group and outlive it:
// approving records a must-link for every pair of members; rejecting a
// cannot-link for every pair; Split rejects only the members it names
// against the rest. Link records one must-link, Unlink removes the
// must-links (or cannot-links) of a pair, Unreject lifts a rejection's
// cannot-links and proposes the group again. Every match respects them
// (package match), the policy never approves a group they touch unless a
// person linked it whole (PolicyHold), and preflight fails an approved group
// that holds a cannot-link pair. A new decision on a group replaces the
// constraints the group's earlier decision recorded; a decision that would
// contradict any other constraint is refused (EINVALID, naming the pair and
// the command that removes it), as is a link of a rejected pair: the steward
// removes the earlier decision first. ConstraintsFor and WriteConstraints
// show the decisions touching a group's members. Every decision writes a
// cm.LedgerDecision row with its actor.
//
// # The decision CSV
//
// `plan export` writes one row per group with empty decision and members
// columns; a steward fills decision with approve, reject or split (a split
// names the members to reject against the rest in members), and may name
// another member as survivorId and give a reason. ReadDecisionsCSV checks every row against
// the store and returns either the rows to apply or every bad row with its
// line number; Apply then applies them. Apply re-checks all groups first, so
// a file is refused as a whole when anything changed since it was read, and
// it writes every row in one store transaction (TransitionMany), so a write
// that fails part-way applies nothing. Rows that are already in effect are
// skipped when a file is read, so importing a file twice changes nothing the
// second time.
//
// # Showing groups and the id map
//
// MemberContacts returns a group's members from the snapshot, or, for members
// a merge removed from it, from the before-images the ledger kept
// (BeforeImages). ViewGroup builds what a reviewer sees of one group
// (GroupView): survivorship recomputed on the members with the latest
// decision's survivor (else the group's) and per-field choices, so it says which
// rule chose the survivor and what becomes of every member's value (kept,
// moved to a free slot, the same as a kept value, overridden, or not kept
// and why). WriteGroup renders it within a terminal width: one row per
// cm.ReviewFields field, members side by side or, when they do not fit, in
// bands of members, fields where members disagree marked DiffMark; then the
// merged record field by field, and the match-weight waterfall of every
// link. List selects, orders (review order by default: the proposed groups
// below the approve threshold first, least confident first) and limits
// groups; WriteList renders them. Choose approves a group with a steward's
// survivor and per-field choices (cm.Decision.Take) and recomputes its
// merged record in the same transition; preflight applies the choices to
// the live data again.
//
// IDMap lists, for every contact a merged group replaced, the contact it now
// resolves to, following chains of merges (rounds, bisection, re-plans).
package review
