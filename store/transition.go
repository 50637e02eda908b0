package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

func (s *core) loadGroupForUpdate(ctx context.Context, t tx, id string) (cm.Group, error) {
	g, err := scanGroup(t.queryRow(ctx, "SELECT "+groupSelectList()+" FROM groups WHERE id = ?"+s.b.forUpdate(), id))
	if errors.Is(err, errNoRows) {
		return g, cm.Errorf(cm.ENOTFOUND, "group %s not found", id)
	}
	return g, err
}

// Transition applies tr atomically; see cm.Transition. ENOTFOUND for a
// missing group, ECONFLICT for a failed check (nothing is written), EINVALID
// for a bad target state.
func (s *core) Transition(ctx context.Context, tr cm.Transition) (cm.Group, error) {
	out, err := s.TransitionMany(ctx, []cm.Transition{tr})
	if err != nil {
		return cm.Group{}, err
	}
	return out[0], nil
}

// TransitionMany applies ts in order in one database transaction, each with
// every check of Transition; the first failure writes nothing of any of
// them and is returned as it is (a steward's decision file applies whole or
// not at all).
func (s *core) TransitionMany(ctx context.Context, ts []cm.Transition) ([]cm.Group, error) {
	now := s.clock()
	contacts := make([][]contactRow, len(ts))
	for i, tr := range ts {
		c, err := s.prepareTransition(tr, now)
		if err != nil {
			return nil, err
		}
		contacts[i] = c
	}
	out := make([]cm.Group, len(ts))
	err := s.inTxRetry(ctx, "transition", func(t tx) error {
		if err := s.lockGroups(ctx, t, ts); err != nil {
			return err
		}
		for i, tr := range ts {
			g, err := s.applyTransition(ctx, t, tr, now, contacts[i])
			if err != nil {
				return err
			}
			out[i] = g
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lockGroups locks the groups of ts in id order (PostgreSQL: SELECT ... FOR
// UPDATE), before any of them is changed. applyTransition locks its group
// and, last, the ledger (lockLedger): without this, a TransitionMany of two
// groups would hold the first group and the ledger while it waits for the
// second, which a Transition of the second may hold while it waits for the
// ledger, and two TransitionMany of the same groups in different orders
// would each hold what the other waits for. A single transition needs
// nothing more than its own lock.
func (s *core) lockGroups(ctx context.Context, t tx, ts []cm.Transition) error {
	if len(ts) < 2 || s.b.forUpdate() == "" {
		return nil
	}
	ids := make([]string, len(ts))
	for i, tr := range ts {
		ids[i] = tr.GroupID
	}
	for c := range slices.Chunk(cm.SortedIDs(ids), chunkSize) {
		rs, err := t.query(ctx, "SELECT id FROM groups WHERE id IN ("+placeholders(len(c))+") ORDER BY id"+s.b.forUpdate(), anys(c)...)
		if err != nil {
			return fmt.Errorf("lock groups: %w", err)
		}
		var id string
		for rs.Next() {
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return fmt.Errorf("lock groups: %w", err)
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return fmt.Errorf("lock groups: %w", err)
		}
	}
	return nil
}

// prepareTransition checks what tr can be checked without the database and
// returns the rows of its contact changes.
func (s *core) prepareTransition(tr cm.Transition, now time.Time) ([]contactRow, error) {
	if tr.GroupID == "" {
		return nil, cm.Errorf(cm.EINVALID, "transition without group id")
	}
	if !tr.To.Valid() {
		return nil, cm.Errorf(cm.EINVALID, "transition of %s to invalid state %q", tr.GroupID, tr.To)
	}
	if err := validateEvents("transition", tr.Events); err != nil {
		return nil, err
	}
	if _, err := prepareConstraints(tr.Constraints, tr.GroupID, tr.Actor, now, nil); err != nil {
		return nil, err
	}
	return s.contactRows(tr.UpsertContacts, now)
}

// applyTransition is the part of a Transition inside the database
// transaction t.
func (s *core) applyTransition(ctx context.Context, t tx, tr cm.Transition, now time.Time, contacts []contactRow) (cm.Group, error) {
	g, err := s.loadGroupForUpdate(ctx, t, tr.GroupID)
	if err != nil {
		return cm.Group{}, err
	}
	if len(tr.From) > 0 && !slices.Contains(tr.From, g.State) {
		return cm.Group{}, cm.Errorf(cm.ECONFLICT, "group %s is %s, not %v", g.ID, g.State, tr.From)
	}
	if tr.Version != 0 && g.Version != tr.Version {
		return cm.Group{}, cm.Errorf(cm.ECONFLICT, "group %s is at version %d, not %d", g.ID, g.Version, tr.Version)
	}
	if g.State != tr.To && !cm.CanTransition(g.State, tr.To) {
		return cm.Group{}, cm.Errorf(cm.ECONFLICT, "group %s cannot move from %s to %s", g.ID, g.State, tr.To)
	}
	if tr.Lease != nil {
		if err := checkLease(ctx, t, g.Members, *tr.Lease, now); err != nil {
			return cm.Group{}, err
		}
	}
	from := g.State
	ng := g
	ng.Members = slices.Clone(g.Members)
	ng.Unkept = slices.Clone(g.Unkept)
	if tr.Update != nil {
		tr.Update(&ng)
	}
	ng.ID, ng.State, ng.Version, ng.CreatedAt, ng.UpdatedAt = g.ID, tr.To, g.Version+1, g.CreatedAt, now
	ng.Members = cm.SortedIDs(ng.Members)
	ng.RetryAt = fromMicros(micros(ng.RetryAt))
	e, err := encodeGroup(&ng)
	if err != nil {
		return cm.Group{}, cm.Errorf(cm.EINVALID, "group %s: %v", g.ID, err)
	}
	set, args := groupSet(&ng, e)
	n, err := t.exec(ctx, "UPDATE groups SET "+set+" WHERE id = ? AND version = ?", append(args, g.ID, g.Version)...)
	if err != nil {
		return cm.Group{}, fmt.Errorf("update group %s: %w", g.ID, err)
	}
	if n != 1 {
		return cm.Group{}, cm.Errorf(cm.ECONFLICT, "group %s changed concurrently", g.ID)
	}
	if !slices.Equal(ng.Members, g.Members) {
		if _, err := t.exec(ctx, "DELETE FROM group_members WHERE group_id = ?", g.ID); err != nil {
			return cm.Group{}, err
		}
		mrows := make([][]any, len(ng.Members))
		for i, m := range ng.Members {
			mrows[i] = []any{m, g.ID}
		}
		if err := t.bulkInsert(ctx, "group_members", memberColumns(), mrows); err != nil {
			return cm.Group{}, err
		}
	}
	ledger := [][]any{ledgerValues(cm.LedgerEvent{
		At: now, Kind: cm.LedgerTransition, GroupID: g.ID, From: from, To: ng.State, Actor: tr.Actor,
		Attempt: ng.Attempts, IdempotencyKey: ng.IdempotencyKey, CanonicalID: ng.CanonicalID,
		Detail: tr.Detail,
	})}
	if len(tr.Children) > 0 {
		childLedger, err := insertChildren(ctx, t, g.ID, tr.Children, tr.Actor, now)
		if err != nil {
			return cm.Group{}, err
		}
		ledger = append(ledger, childLedger...)
	}
	if len(contacts) > 0 {
		if err := t.upsertContacts(ctx, contacts); err != nil {
			return cm.Group{}, err
		}
	}
	if len(tr.DeleteContacts) > 0 {
		if err := deleteContacts(ctx, t, tr.DeleteContacts); err != nil {
			return cm.Group{}, err
		}
	}
	if d := tr.Decision; d != nil {
		at := d.At
		if at.IsZero() {
			at = now
		}
		take, err := encodeTake(d.Take)
		if err != nil {
			return cm.Group{}, err
		}
		_, err = t.exec(ctx, "INSERT INTO decisions (group_id, approve, actor, reason, at, survivor, take) VALUES (?, ?, ?, ?, ?, ?, ?)",
			g.ID, d.Approve, d.Actor, d.Reason, micros(at), d.Survivor, take)
		if err != nil {
			return cm.Group{}, fmt.Errorf("record decision: %w", err)
		}
	}
	if len(tr.Constraints) > 0 || len(tr.LiftConstraints) > 0 {
		add, err := prepareConstraints(tr.Constraints, g.ID, tr.Actor, now, ng.Members)
		if err != nil {
			return cm.Group{}, err
		}
		detail, _, err := changeConstraints(ctx, t, add, tr.LiftConstraints)
		if err != nil {
			return cm.Group{}, fmt.Errorf("group %s: %w", g.ID, err)
		}
		ledger = append(ledger, ledgerValues(cm.LedgerEvent{
			At: now, Kind: cm.LedgerDecision, GroupID: g.ID, From: from, To: ng.State, Actor: tr.Actor, Detail: detail,
		}))
		withdrawn, err := withdrawHolding(ctx, t, add, g.ID, tr.Actor, now)
		if err != nil {
			return cm.Group{}, err
		}
		ledger = append(ledger, withdrawn...)
	}
	for _, ev := range tr.Events {
		if ev.GroupID == "" {
			ev.GroupID = g.ID
		}
		ledger = append(ledger, ledgerValues(fillEvent(ev, now)))
	}
	if err := s.b.lockLedger(ctx, t); err != nil {
		return cm.Group{}, err
	}
	if err := t.bulkInsert(ctx, "ledger", ledgerColumns(), ledger); err != nil {
		return cm.Group{}, fmt.Errorf("append ledger: %w", err)
	}
	return ng, nil
}

// insertChildren creates the child groups of a split, each with a creation
// transition row, and returns those rows.
func insertChildren(ctx context.Context, t tx, parent string, children []cm.Group, actor string, now time.Time) ([][]any, error) {
	var grows, mrows, ledger [][]any
	for i := range children {
		c := children[i]
		c.Members = cm.SortedIDs(c.Members)
		if c.ID == "" {
			if len(c.Members) == 0 {
				return nil, cm.Errorf(cm.EINVALID, "child %d of %s has neither id nor members", i, parent)
			}
			c.ID = cm.GroupID(c.Members)
		}
		if c.ParentID == "" {
			c.ParentID = parent
		}
		if !c.State.Valid() {
			c.State = cm.StateProposed
		}
		e, err := encodeGroup(&c)
		if err != nil {
			return nil, cm.Errorf(cm.EINVALID, "child %s: %v", c.ID, err)
		}
		var one int
		err = t.queryRow(ctx, "SELECT 1 FROM groups WHERE id = ?", c.ID).Scan(&one)
		if err == nil {
			return nil, cm.Errorf(cm.ECONFLICT, "child group %s of %s already exists", c.ID, parent)
		}
		if !errors.Is(err, errNoRows) {
			return nil, err
		}
		r := newGroupRows(c, e, now, actor, "child of "+parent)
		grows = append(grows, r.group)
		mrows = append(mrows, r.members...)
		ledger = append(ledger, r.ledger)
	}
	if err := t.bulkInsert(ctx, "groups", groupColumns(), grows); err != nil {
		return nil, fmt.Errorf("insert children: %w", err)
	}
	if err := t.bulkInsert(ctx, "group_members", memberColumns(), mrows); err != nil {
		return nil, fmt.Errorf("insert child members: %w", err)
	}
	return ledger, nil
}

// checkLease verifies that owner holds every member's lease, unexpired, with
// the given token.
func checkLease(ctx context.Context, t tx, members []string, l cm.Lease, now time.Time) error {
	held := 0
	for c := range slices.Chunk(members, chunkSize) {
		rs, err := t.query(ctx, "SELECT member_id, owner, token, expires_at FROM leases WHERE member_id IN ("+
			placeholders(len(c))+")", anys(c)...)
		if err != nil {
			return fmt.Errorf("check leases: %w", err)
		}
		for rs.Next() {
			var id, owner string
			var token, exp int64
			if err := rs.Scan(&id, &owner, &token, &exp); err != nil {
				rs.Close()
				return err
			}
			if owner != l.Owner || token != l.Token || exp <= micros(now) {
				rs.Close()
				return cm.Errorf(cm.ECONFLICT, "lease on %s is not held by %s with token %d", id, l.Owner, l.Token)
			}
			held++
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
	}
	if held != len(members) {
		return cm.Errorf(cm.ECONFLICT, "%d of %d member leases are not held by %s", len(members)-held, len(members), l.Owner)
	}
	return nil
}
