package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// constraintColumns are the insertable columns of pair_constraints, in
// constraintValues order.
func constraintColumns() []string {
	return []string{"kind", "a", "b", "group_id", "actor", "reason", "at"}
}

// constraintSelect is the select list scanConstraint reads.
const constraintSelect = "SELECT id, kind, a, b, group_id, actor, reason, at FROM pair_constraints"

// constraintBatch bounds the rows of one multi-row INSERT (7 columns each).
const constraintBatch = 200

func scanConstraint(r row) (cm.PairConstraint, error) {
	var c cm.PairConstraint
	var kind string
	var at int64
	if err := r.Scan(&c.ID, &kind, &c.A, &c.B, &c.GroupID, &c.Actor, &c.Reason, &at); err != nil {
		return c, err
	}
	c.Kind, c.At = cm.ConstraintKind(kind), fromMicros(at)
	return c, nil
}

// Constraints returns the pair constraints matching f, in id (recording)
// order.
func (s *core) Constraints(ctx context.Context, f cm.ConstraintFilter) ([]cm.PairConstraint, error) {
	out, err := queryConstraints(ctx, s.b.reader(), f)
	return out, s.b.translate(err)
}

// queryConstraints runs f on q: the kind, group and id conditions in SQL,
// contact ids in chunks (either end), Within in memory.
func queryConstraints(ctx context.Context, q querier, f cm.ConstraintFilter) ([]cm.PairConstraint, error) {
	var where []string
	var args []any
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN ("+placeholders(len(f.Kinds))+")")
		for _, k := range f.Kinds {
			args = append(args, string(k))
		}
	}
	if f.GroupID != "" {
		where = append(where, "group_id = ?")
		args = append(args, f.GroupID)
	}
	if f.IDs != nil {
		if len(f.IDs) == 0 {
			return nil, nil
		}
		where = append(where, "id IN ("+placeholders(len(f.IDs))+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	run := func(where []string, args []any, seen map[int64]bool, out []cm.PairConstraint) ([]cm.PairConstraint, error) {
		sql := constraintSelect
		if len(where) > 0 {
			sql += " WHERE " + strings.Join(where, " AND ")
		}
		rs, err := q.query(ctx, sql+" ORDER BY id", args...)
		if err != nil {
			return nil, fmt.Errorf("query constraints: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			c, err := scanConstraint(rs)
			if err != nil {
				return nil, err
			}
			if seen != nil {
				if seen[c.ID] {
					continue
				}
				seen[c.ID] = true
			}
			out = append(out, c)
		}
		return out, rs.Err()
	}
	if f.Contacts == nil {
		return run(where, args, nil, nil)
	}
	ids := cm.SortedIDs(f.Contacts)
	in := make(map[string]bool, len(ids))
	for _, id := range ids {
		in[id] = true
	}
	var out []cm.PairConstraint
	seen := map[int64]bool{}
	for c := range slices.Chunk(ids, chunkSize) {
		p := placeholders(len(c))
		w := append(slices.Clip(where), "(a IN ("+p+") OR b IN ("+p+"))")
		a := append(append(slices.Clip(args), anys(c)...), anys(c)...)
		var err error
		if out, err = run(w, a, seen, out); err != nil {
			return nil, err
		}
	}
	if f.Within {
		out = slices.DeleteFunc(out, func(c cm.PairConstraint) bool { return !in[c.A] || !in[c.B] })
	}
	slices.SortFunc(out, func(x, y cm.PairConstraint) int { return int(x.ID - y.ID) })
	return out, nil
}

// ChangeConstraints applies c in one transaction; see cm.ConstraintChange.
// Other groups holding an added cannot-link pair are withdrawn or sent back
// to preflight (withdrawHolding).
func (s *core) ChangeConstraints(ctx context.Context, c cm.ConstraintChange) error {
	if len(c.Add) == 0 && len(c.Remove) == 0 {
		return nil
	}
	now := s.clock()
	add, err := prepareConstraints(c.Add, "", c.Actor, now, nil)
	if err != nil {
		return err
	}
	return s.inTxRetry(ctx, "ChangeConstraints", func(t tx) error {
		detail, group, err := changeConstraints(ctx, t, add, c.Remove)
		if err != nil {
			return err
		}
		if c.Detail != "" {
			detail = c.Detail + "; " + detail
		}
		ledger := [][]any{ledgerValues(cm.LedgerEvent{At: now, Kind: cm.LedgerDecision, GroupID: group, Actor: c.Actor, Detail: detail})}
		withdrawn, err := withdrawHolding(ctx, t, add, "", c.Actor, now)
		if err != nil {
			return err
		}
		if err := s.b.lockLedger(ctx, t); err != nil {
			return err
		}
		return t.bulkInsert(ctx, "ledger", ledgerColumns(), append(ledger, withdrawn...))
	})
}

// prepareConstraints validates and orders cs (A < B), defaulting GroupID to
// group, Actor to actor and At to now. With members set, both ends must be
// among them and GroupID must be group. EINVALID for a bad kind, an empty
// or self pair, a pair given both kinds.
func prepareConstraints(cs []cm.PairConstraint, group, actor string, now time.Time, members []string) ([]cm.PairConstraint, error) {
	out := make([]cm.PairConstraint, 0, len(cs))
	kinds := map[cm.Pair]cm.ConstraintKind{}
	for i, c := range cs {
		if !c.Kind.Valid() {
			return nil, cm.Errorf(cm.EINVALID, "constraint %d: kind %q is not %s or %s", i, c.Kind, cm.MustLink, cm.CannotLink)
		}
		if c.A == "" || c.B == "" || c.A == c.B {
			return nil, cm.Errorf(cm.EINVALID, "constraint %d: %q and %q are not two contacts", i, c.A, c.B)
		}
		p := cm.MakePair(c.A, c.B)
		c.A, c.B = p.A, p.B
		if k, ok := kinds[p]; ok && k != c.Kind {
			return nil, cm.Errorf(cm.EINVALID, "constraint %d: %s–%s is given as both %s and %s", i, p.A, p.B, k, c.Kind)
		}
		kinds[p] = c.Kind
		if c.GroupID == "" {
			c.GroupID = group
		}
		if c.Actor == "" {
			c.Actor = actor
		}
		if c.At.IsZero() {
			c.At = now
		}
		c.At = c.At.UTC().Truncate(time.Microsecond)
		if members != nil {
			if c.GroupID != group {
				return nil, cm.Errorf(cm.EINVALID, "constraint %d of a transition of %s names group %s", i, group, c.GroupID)
			}
			for _, id := range []string{c.A, c.B} {
				if !slices.Contains(members, id) {
					return nil, cm.Errorf(cm.EINVALID, "constraint %d: %s is not a member of group %s", i, id, group)
				}
			}
		}
		c.ID = 0
		out = append(out, c)
	}
	return out, nil
}

// changeConstraints removes the constraints lift (ECONFLICT if one is
// gone), checks that no constraint of add contradicts one that stays
// (ECONFLICT naming both), inserts add (a same-kind row of the same pair
// and group already stored is kept instead) and returns the detail of the
// decision's ledger row (what was recorded and what was lifted) and the
// group all of them were made on ("" if not one).
func changeConstraints(ctx context.Context, t tx, add []cm.PairConstraint, lift []int64) (detail, group string, err error) {
	lift = slices.Compact(slices.Sorted(slices.Values(lift)))
	var lifted []cm.PairConstraint
	if len(lift) > 0 {
		for c := range slices.Chunk(lift, chunkSize) {
			got, err := queryConstraints(ctx, t, cm.ConstraintFilter{IDs: c})
			if err != nil {
				return "", "", err
			}
			lifted = append(lifted, got...)
		}
		if len(lifted) != len(lift) {
			return "", "", cm.Errorf(cm.ECONFLICT, "%d of the %d constraints to lift no longer exist", len(lift)-len(lifted), len(lift))
		}
		for c := range slices.Chunk(lift, chunkSize) {
			args := make([]any, len(c))
			for i, id := range c {
				args[i] = id
			}
			if _, err := t.exec(ctx, "DELETE FROM pair_constraints WHERE id IN ("+placeholders(len(c))+")", args...); err != nil {
				return "", "", fmt.Errorf("lift constraints: %w", err)
			}
		}
	}
	if len(add) > 0 {
		var ids []string
		want := map[cm.Pair]cm.ConstraintKind{}
		for _, c := range add {
			ids = append(ids, c.A, c.B)
			want[c.Pair()] = c.Kind
		}
		stored, err := queryConstraints(ctx, t, cm.ConstraintFilter{Contacts: ids, Within: true})
		if err != nil {
			return "", "", err
		}
		for _, old := range stored {
			if k, ok := want[old.Pair()]; ok && k != old.Kind {
				return "", "", cm.Errorf(cm.ECONFLICT, "contacts %s and %s cannot be %s: %s (constraint %d) stands; remove it first",
					old.A, old.B, k.Verb(), old, old.ID)
			}
		}
		for b := range slices.Chunk(add, constraintBatch) {
			one := "(" + placeholders(len(constraintColumns())) + ")"
			var args []any
			for _, c := range b {
				args = append(args, string(c.Kind), c.A, c.B, c.GroupID, c.Actor, c.Reason, micros(c.At))
			}
			q := "INSERT INTO pair_constraints (" + strings.Join(constraintColumns(), ", ") + ") VALUES " +
				strings.TrimSuffix(strings.Repeat(one+",", len(b)), ",") + " ON CONFLICT (a, b, kind, group_id) DO NOTHING"
			if _, err := t.exec(ctx, q, args...); err != nil {
				return "", "", fmt.Errorf("record constraints: %w", err)
			}
		}
	}
	return constraintDetail(add, lifted), commonGroup(add, lifted), nil
}

// constraintDetail describes recorded and lifted constraints, e.g.
// "recorded cannot_link c1–c2, c1–c3; lifted must_link c1–c2 (#4, group g_1)".
func constraintDetail(add, lifted []cm.PairConstraint) string {
	var parts []string
	for _, k := range []cm.ConstraintKind{cm.MustLink, cm.CannotLink} {
		var ps []string
		for _, c := range add {
			if c.Kind == k {
				ps = append(ps, c.A+"–"+c.B)
			}
		}
		if len(ps) > 0 {
			parts = append(parts, fmt.Sprintf("recorded %s %s", k, strings.Join(ps, ", ")))
		}
	}
	if len(lifted) > 0 {
		ps := make([]string, len(lifted))
		for i, c := range lifted {
			ps[i] = fmt.Sprintf("%s %s–%s (#%d by %s", c.Kind, c.A, c.B, c.ID, c.Actor)
			if c.GroupID != "" {
				ps[i] += ", group " + c.GroupID
			}
			ps[i] += ")"
		}
		parts = append(parts, "lifted "+strings.Join(ps, ", "))
	}
	return strings.Join(parts, "; ")
}

// commonGroup returns the group every constraint of add and lifted was
// made on, or "".
func commonGroup(add, lifted []cm.PairConstraint) string {
	g := ""
	for _, c := range append(slices.Clip(add), lifted...) {
		switch {
		case c.GroupID == "":
			return ""
		case g == "":
			g = c.GroupID
		case g != c.GroupID:
			return ""
		}
	}
	return g
}

// withdrawHolding acts on the other groups that hold a cannot-link pair of
// add, now that a steward rejected it (except group skip, the one decided):
// a proposed group, the matcher's suggestion, is withdrawn (deleted, as a
// match run supersedes it, its decision rows kept); a ready group goes back
// to approved, so that preflight, which fails a group holding a rejected
// pair, checks it before anything is sent (a worker about to submit it
// loses its state check). Groups in other states are left to preflight
// (approved, quarantined) or are past the point where a decision can stop
// them (in_flight, unknown, merged) or inert. It returns their ledger rows.
func withdrawHolding(ctx context.Context, t tx, add []cm.PairConstraint, skip, actor string, now time.Time) ([][]any, error) {
	pairs := map[cm.Pair]cm.PairConstraint{}
	var ends []string
	for _, c := range add {
		if c.Kind == cm.CannotLink {
			pairs[c.Pair()] = c
			ends = append(ends, c.A, c.B)
		}
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	ends = cm.SortedIDs(ends)
	held := map[string][]string{} // group → its members among ends
	for c := range slices.Chunk(ends, chunkSize) {
		rs, err := t.query(ctx, "SELECT group_id, member_id FROM group_members WHERE member_id IN ("+placeholders(len(c))+")", anys(c)...)
		if err != nil {
			return nil, fmt.Errorf("groups holding rejected pairs: %w", err)
		}
		for rs.Next() {
			var g, m string
			if err := rs.Scan(&g, &m); err != nil {
				rs.Close()
				return nil, err
			}
			if g != skip {
				held[g] = append(held[g], m)
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	var ledger [][]any
	for _, id := range slices.Sorted(maps.Keys(held)) {
		ms := cm.SortedIDs(held[id])
		var hit *cm.PairConstraint
		for _, p := range cm.Pairs(ms) {
			if c, ok := pairs[p]; ok {
				hit = &c
				break
			}
		}
		if hit == nil {
			continue
		}
		var st string
		if err := t.queryRow(ctx, "SELECT state FROM groups WHERE id = ?", id).Scan(&st); err != nil {
			if errors.Is(err, errNoRows) {
				continue
			}
			return nil, err
		}
		why := fmt.Sprintf("holds %s–%s, which %s rejected on group %s", hit.A, hit.B, hit.Actor, hit.GroupID)
		switch cm.GroupState(st) {
		case cm.StateProposed:
			if _, err := t.exec(ctx, "DELETE FROM groups WHERE id = ? AND state = ?", id, st); err != nil {
				return nil, fmt.Errorf("withdraw group %s: %w", id, err)
			}
			if _, err := t.exec(ctx, "DELETE FROM group_members WHERE group_id = ?", id); err != nil {
				return nil, fmt.Errorf("withdraw group %s: %w", id, err)
			}
			ledger = append(ledger, ledgerValues(cm.LedgerEvent{
				At: now, Kind: cm.LedgerNote, GroupID: id, From: cm.StateProposed, Actor: actor,
				Detail: "withdrawn: the proposal " + why,
			}))
		case cm.StateReady:
			reason := "preflight again: the group " + why
			if _, err := t.exec(ctx, "UPDATE groups SET state = ?, reason = ?, version = version + 1, updated_at = ? WHERE id = ? AND state = ?",
				string(cm.StateApproved), reason, micros(now), id, st); err != nil {
				return nil, fmt.Errorf("return group %s to preflight: %w", id, err)
			}
			ledger = append(ledger, ledgerValues(cm.LedgerEvent{
				At: now, Kind: cm.LedgerTransition, GroupID: id, From: cm.StateReady, To: cm.StateApproved, Actor: actor, Detail: reason,
			}))
		}
	}
	return ledger, nil
}
