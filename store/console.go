package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	cm "github.com/contactmerge/contactmerge"
)

// This file holds the one read the web console needs beyond cm.Store: the
// few columns of every group that its review queue filters and orders by
// (QueueRows), without decoding a group's JSON (merged record,
// explanation). The console keeps them in memory and pages through
// 100,000 groups in milliseconds; cm.GroupFilter pages by id only and
// decodes every group it returns.

// QueueRow is what the review queue knows of a group.
type QueueRow struct {
	ID         string
	State      cm.GroupState
	Confidence float64
	Members    []string
	Version    int64
	// Divisions and Types are the distinct division ids and contact types
	// of the members in the snapshot, sorted.
	Divisions, Types []string
}

// QueueRows returns the QueueRow of every group of st (ids nil), or of the
// groups among ids that exist, ordered by id, and the sequence number of
// the last ledger row written before they were read: every later change of
// a group appends a ledger row with a larger one naming it (creation,
// transition, refresh, supersede), so that a reader of the ledger after it
// misses no change. EINVALID for a store this package did not open.
func QueueRows(ctx context.Context, st Store, ids []string) ([]QueueRow, int64, error) {
	s, ok := st.(*dbStore)
	if !ok {
		return nil, 0, cm.Errorf(cm.EINVALID, "QueueRows: not a store of package store")
	}
	var seq int64
	if err := s.b.reader().queryRow(ctx, "SELECT coalesce(max(seq), 0) FROM ledger").Scan(&seq); err != nil {
		return nil, 0, s.b.translate(fmt.Errorf("queue rows: ledger: %w", err))
	}
	if ids == nil {
		rows, err := s.queueRows(ctx, "", nil)
		return rows, seq, err
	}
	var out []QueueRow
	for c := range slices.Chunk(cm.SortedIDs(ids), chunkSize) {
		rows, err := s.queueRows(ctx, " IN ("+placeholders(len(c))+")", anys(c))
		if err != nil {
			return nil, 0, err
		}
		out = append(out, rows...)
	}
	return out, seq, nil
}

// queueRows reads the rows of the groups whose id matches in ("" for all;
// else " IN (?, …)" with args).
func (s *core) queueRows(ctx context.Context, in string, args []any) ([]QueueRow, error) {
	q := "SELECT id, state, confidence, members, version FROM groups"
	if in != "" {
		q += " WHERE id" + in
	}
	rs, err := s.b.reader().query(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("queue rows: %w", err))
	}
	var out []QueueRow
	for rs.Next() {
		var r QueueRow
		var state string
		var members []byte
		if err := rs.Scan(&r.ID, &state, &r.Confidence, &members, &r.Version); err != nil {
			rs.Close()
			return nil, err
		}
		r.State = cm.GroupState(state)
		if err := json.Unmarshal(members, &r.Members); err != nil {
			rs.Close()
			return nil, fmt.Errorf("group %s members: %w", r.ID, err)
		}
		out = append(out, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, s.b.translate(err)
	}
	switch {
	case in != "":
		q = "SELECT gm.group_id, c.division_id, c.type FROM group_members gm JOIN contacts c ON c.id = gm.member_id WHERE gm.group_id" + in
	case s.b.kind() == "sqlite":
		// Every contact, in table order, each looking up its groups in the
		// small group_members index: far fewer page reads than one contact
		// lookup per member.
		q = "SELECT gm.group_id, c.division_id, c.type FROM contacts c CROSS JOIN group_members gm ON gm.member_id = c.id"
	default:
		q = "SELECT gm.group_id, c.division_id, c.type FROM contacts c JOIN group_members gm ON gm.member_id = c.id"
	}
	rs, err = s.b.reader().query(ctx, q, args...)
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("queue rows: members: %w", err))
	}
	defer rs.Close()
	at := make(map[string]int, len(out))
	for i, r := range out {
		at[r.ID] = i
	}
	for rs.Next() {
		var id, div, typ string
		if err := rs.Scan(&id, &div, &typ); err != nil {
			return nil, err
		}
		i, ok := at[id]
		if !ok {
			continue // created between the two reads
		}
		r := &out[i]
		if div != "" && !slices.Contains(r.Divisions, div) {
			r.Divisions = append(r.Divisions, div)
		}
		if typ != "" && !slices.Contains(r.Types, typ) {
			r.Types = append(r.Types, typ)
		}
	}
	for i := range out {
		slices.Sort(out[i].Divisions)
		slices.Sort(out[i].Types)
	}
	return out, s.b.translate(rs.Err())
}
