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

// ledgerValues returns the column values of e in ledgerColumns order.
func ledgerValues(e cm.LedgerEvent) []any {
	var unkept []byte
	if len(e.Unkept) > 0 {
		unkept, _ = json.Marshal(e.Unkept) // []UnkeptValue of strings always encodes
	}
	var before []byte
	if len(e.BeforeImages) > 0 {
		before = e.BeforeImages
	}
	return []any{
		micros(e.At), string(e.Kind), e.GroupID, string(e.From), string(e.To), e.Actor, int64(e.Attempt),
		e.IdempotencyKey, e.Request, int64(e.Status), e.CorrelationID, e.CanonicalID, jsonArg(before),
		jsonArg(unkept), e.Detail,
	}
}

// validateEvents checks events given to AppendLedger or Transition (what
// names the caller in the error): EINVALID for a transition row (only
// Transition and SaveProposals write those) and for BeforeImages that are
// not JSON.
func validateEvents(what string, events []cm.LedgerEvent) error {
	for i, e := range events {
		if e.Kind == cm.LedgerTransition {
			return cm.Errorf(cm.EINVALID, "%s event %d has kind transition: transition rows are written by Transition", what, i)
		}
		if len(e.BeforeImages) > 0 && !json.Valid(e.BeforeImages) {
			return cm.Errorf(cm.EINVALID, "%s event %d: before images are not JSON", what, i)
		}
	}
	return nil
}

// fillEvent defaults an event's kind (note) and time (now).
func fillEvent(e cm.LedgerEvent, now time.Time) cm.LedgerEvent {
	if e.Kind == "" {
		e.Kind = cm.LedgerNote
	}
	if e.At.IsZero() {
		e.At = now
	}
	return e
}

// AppendLedger appends rows that record no state change. Kind defaults to
// note and At to now. EINVALID for transition rows (only Transition and
// SaveProposals write those) and for BeforeImages that are not JSON.
func (s *core) AppendLedger(ctx context.Context, events ...cm.LedgerEvent) error {
	if len(events) == 0 {
		return nil
	}
	if err := validateEvents("ledger", events); err != nil {
		return err
	}
	now := s.clock()
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = ledgerValues(fillEvent(e, now))
	}
	return s.inTxRetry(ctx, "append ledger", func(t tx) error {
		if err := s.b.lockLedger(ctx, t); err != nil {
			return err
		}
		return t.bulkInsert(ctx, "ledger", ledgerColumns(), rows)
	})
}

// Ledger calls fn for each ledger row matching f in sequence order, stopping
// at the first error fn returns.
func (s *core) Ledger(ctx context.Context, f cm.LedgerFilter, fn func(cm.LedgerEvent) error) error {
	var where []string
	var args []any
	if f.GroupID != "" {
		where = append(where, "group_id = ?")
		args = append(args, f.GroupID)
	}
	if f.AfterSeq > 0 {
		where = append(where, "seq > ?")
		args = append(args, f.AfterSeq)
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN ("+placeholders(len(f.Kinds))+")")
		for _, k := range f.Kinds {
			args = append(args, string(k))
		}
	}
	q := "SELECT seq, " + strings.Join(ledgerColumns(), ", ") + " FROM ledger"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rs, err := s.b.reader().query(ctx, q, args...)
	if err != nil {
		return s.b.translate(fmt.Errorf("query ledger: %w", err))
	}
	defer rs.Close()
	for rs.Next() {
		var e cm.LedgerEvent
		var at, attempt, status int64
		var kind, from, to string
		var before, unkept []byte
		if err := rs.Scan(&e.Seq, &at, &kind, &e.GroupID, &from, &to, &e.Actor, &attempt, &e.IdempotencyKey,
			&e.Request, &status, &e.CorrelationID, &e.CanonicalID, &before, &unkept, &e.Detail); err != nil {
			return fmt.Errorf("scan ledger: %w", err)
		}
		e.At, e.Kind, e.From, e.To = fromMicros(at), cm.LedgerKind(kind), cm.GroupState(from), cm.GroupState(to)
		e.Attempt, e.Status = int(attempt), int(status)
		if before != nil {
			e.BeforeImages = json.RawMessage(slices.Clone(before))
		}
		if unkept != nil {
			if err := json.Unmarshal(unkept, &e.Unkept); err != nil {
				return fmt.Errorf("ledger %d unkept: %w", e.Seq, err)
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return s.b.translate(rs.Err())
}
