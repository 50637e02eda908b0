package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// encodedGroup is a group's JSON columns.
type encodedGroup struct {
	members, merged, unkept, explanation []byte
	hash                                 string
}

// encodeGroup encodes g's JSON columns and its content hash (survivor,
// parent, confidence, members, merged record, unkept values, explanation).
func encodeGroup(g *cm.Group) (encodedGroup, error) {
	var e encodedGroup
	var err error
	if e.members, err = json.Marshal(g.Members); err != nil {
		return e, err
	}
	if g.Merged != nil {
		if e.merged, err = json.Marshal(g.Merged); err != nil {
			return e, err
		}
	}
	if len(g.Unkept) > 0 {
		if e.unkept, err = json.Marshal(g.Unkept); err != nil {
			return e, err
		}
	}
	if g.Explanation != nil {
		if e.explanation, err = json.Marshal(g.Explanation); err != nil {
			return e, err
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%g\x00", g.SurvivorID, g.ParentID, g.Confidence)
	for _, b := range [][]byte{e.members, e.merged, e.unkept, e.explanation} {
		h.Write(b)
		h.Write([]byte{0})
	}
	e.hash = hex.EncodeToString(h.Sum(nil)[:16])
	return e, nil
}

// groupValues returns the column values of g in groupColumns order.
func groupValues(g *cm.Group, e encodedGroup) []any {
	return []any{
		g.ID, g.ParentID, string(g.State), e.members, g.SurvivorID, g.Confidence, jsonArg(e.merged),
		jsonArg(e.unkept), jsonArg(e.explanation), e.hash, int64(g.PlanVersion), int64(g.Attempts),
		g.IdempotencyKey, g.CanonicalID, g.Reason, micros(g.RetryAt), int64(g.Quarantines),
		micros(g.CreatedAt), micros(g.UpdatedAt), g.Version,
	}
}

// groupSelectList is the select list that scanGroup reads.
func groupSelectList() string { return strings.Join(groupColumns(), ", ") }

// groupSet returns the "col = ?, ..." list and arguments that rewrite every
// column of g but the fixed ones (id, created_at).
func groupSet(g *cm.Group, e encodedGroup) (string, []any) {
	vals := groupValues(g, e)
	var set []string
	var args []any
	for i, c := range groupColumns() {
		if !groupFixed(c) {
			set = append(set, c+" = ?")
			args = append(args, vals[i])
		}
	}
	return strings.Join(set, ", "), args
}

// scanGroup reads a row selected with groupSelectList.
func scanGroup(r row) (cm.Group, error) {
	var g cm.Group
	var state string
	var members, merged, unkept, explanation []byte
	var hash string
	var planVersion, attempts, quarantines int64
	var retry, created, updated int64
	err := r.Scan(&g.ID, &g.ParentID, &state, &members, &g.SurvivorID, &g.Confidence, &merged, &unkept,
		&explanation, &hash, &planVersion, &attempts, &g.IdempotencyKey, &g.CanonicalID, &g.Reason, &retry,
		&quarantines, &created, &updated, &g.Version)
	if err != nil {
		return g, err
	}
	g.State = cm.GroupState(state)
	g.PlanVersion, g.Attempts, g.Quarantines = int(planVersion), int(attempts), int(quarantines)
	g.RetryAt, g.CreatedAt, g.UpdatedAt = fromMicros(retry), fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal(members, &g.Members); err != nil {
		return g, fmt.Errorf("group %s members: %w", g.ID, err)
	}
	if merged != nil {
		g.Merged = new(cm.Contact)
		if err := json.Unmarshal(merged, g.Merged); err != nil {
			return g, fmt.Errorf("group %s merged: %w", g.ID, err)
		}
	}
	if unkept != nil {
		if err := json.Unmarshal(unkept, &g.Unkept); err != nil {
			return g, fmt.Errorf("group %s unkept: %w", g.ID, err)
		}
	}
	if explanation != nil {
		g.Explanation = new(cm.Explanation)
		if err := json.Unmarshal(explanation, g.Explanation); err != nil {
			return g, fmt.Errorf("group %s explanation: %w", g.ID, err)
		}
	}
	return g, nil
}

// Group returns one group; ENOTFOUND if absent.
func (s *core) Group(ctx context.Context, id string) (cm.Group, error) {
	g, err := scanGroup(s.b.reader().queryRow(ctx, "SELECT "+groupSelectList()+" FROM groups WHERE id = ?", id))
	if errors.Is(err, errNoRows) {
		return g, cm.Errorf(cm.ENOTFOUND, "group %s not found", id)
	}
	if err != nil {
		return g, s.b.translate(fmt.Errorf("group %s: %w", id, err))
	}
	return g, nil
}

// Groups returns the groups matching f, ordered by id.
func (s *core) Groups(ctx context.Context, f cm.GroupFilter) ([]cm.Group, error) {
	var where []string
	var args []any
	if len(f.States) > 0 {
		col := "state"
		if f.IDs != nil {
			// Keep the planner on the primary key (SQLite would pick the
			// state index and scan it once per id chunk).
			col = "(state || '')"
		}
		where = append(where, col+" IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if f.MinConfidence > 0 {
		where = append(where, "confidence >= ?")
		args = append(args, f.MinConfidence)
	}
	if !f.RetryBefore.IsZero() {
		where = append(where, "retry_at <= ?")
		args = append(args, micros(f.RetryBefore))
	}
	if f.AfterID != "" {
		where = append(where, "id > ?")
		args = append(args, f.AfterID)
	}
	limit := ""
	if f.Limit > 0 {
		limit = fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	if f.IDs == nil {
		return s.queryGroups(ctx, where, args, limit)
	}
	var out []cm.Group
	for c := range slices.Chunk(cm.SortedIDs(f.IDs), chunkSize) {
		w := append(slices.Clip(where), "id IN ("+placeholders(len(c))+")")
		gs, err := s.queryGroups(ctx, w, append(slices.Clip(args), anys(c)...), limit)
		if err != nil {
			return nil, err
		}
		out = append(out, gs...)
		if f.Limit > 0 && len(out) >= f.Limit {
			return out[:f.Limit], nil
		}
	}
	return out, nil
}

func (s *core) queryGroups(ctx context.Context, where []string, args []any, limit string) ([]cm.Group, error) {
	q := "SELECT " + groupSelectList() + " FROM groups"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rs, err := s.b.reader().query(ctx, q+" ORDER BY id"+limit, args...)
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("query groups: %w", err))
	}
	defer rs.Close()
	var out []cm.Group
	for rs.Next() {
		g, err := scanGroup(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, s.b.translate(rs.Err())
}

// CountByState returns the number of groups in each state that has any.
func (s *core) CountByState(ctx context.Context) (map[cm.GroupState]int, error) {
	rs, err := s.b.reader().query(ctx, "SELECT state, count(*) FROM groups GROUP BY state")
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("count groups: %w", err))
	}
	defer rs.Close()
	out := make(map[cm.GroupState]int)
	for rs.Next() {
		var st string
		var n int64
		if err := rs.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[cm.GroupState(st)] = int(n)
	}
	return out, s.b.translate(rs.Err())
}

// Decisions returns the review decisions of a group, oldest first.
func (s *core) Decisions(ctx context.Context, groupID string) ([]cm.Decision, error) {
	rs, err := s.b.reader().query(ctx,
		"SELECT approve, actor, reason, at, survivor, take FROM decisions WHERE group_id = ? ORDER BY id", groupID)
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("query decisions: %w", err))
	}
	defer rs.Close()
	var out []cm.Decision
	for rs.Next() {
		d := cm.Decision{GroupID: groupID}
		var at int64
		var take string
		if err := rs.Scan(&d.Approve, &d.Actor, &d.Reason, &at, &d.Survivor, &take); err != nil {
			return nil, err
		}
		d.At = fromMicros(at)
		if take != "" {
			if err := json.Unmarshal([]byte(take), &d.Take); err != nil {
				return nil, fmt.Errorf("decision of group %s: take: %w", groupID, err)
			}
		}
		out = append(out, d)
	}
	return out, s.b.translate(rs.Err())
}

// encodeTake encodes a decision's per-field choices for the take column:
// a JSON object, or "" when there are none.
func encodeTake(take map[string]string) (string, error) {
	if len(take) == 0 {
		return "", nil
	}
	b, err := json.Marshal(take)
	if err != nil {
		return "", cm.Errorf(cm.EINVALID, "decision take: %v", err)
	}
	return string(b), nil
}

// groupRows are the rows that create one group: the group, its member index
// rows and its creation ledger row.
type groupRows struct {
	group   []any
	members [][]any
	ledger  []any
}

// newGroupRows returns the rows that create g, whose JSON columns are e, at
// version 1, created and updated now, with a ""→g.State transition row by
// actor.
func newGroupRows(g cm.Group, e encodedGroup, now time.Time, actor, detail string) groupRows {
	g.Version, g.CreatedAt, g.UpdatedAt = 1, now, now
	r := groupRows{group: groupValues(&g, e), members: make([][]any, len(g.Members))}
	for i, m := range g.Members {
		r.members[i] = []any{m, g.ID}
	}
	r.ledger = ledgerValues(cm.LedgerEvent{
		At: now, Kind: cm.LedgerTransition, GroupID: g.ID, To: g.State, Actor: actor,
		Attempt: g.Attempts, IdempotencyKey: g.IdempotencyKey, Detail: detail,
	})
	return r
}
