package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// AcquireLeases leases every id to owner for ttl, all or none, and returns a
// new fencing token larger than any issued before; every leased id carries
// it. Ids already leased to owner are extended. ECONFLICT if another owner
// holds an unexpired lease; EINVALID for an empty owner, no ids or ttl <= 0.
func (s *core) AcquireLeases(ctx context.Context, owner string, ids []string, ttl time.Duration) (int64, error) {
	ids = cm.SortedIDs(ids)
	if owner == "" || len(ids) == 0 || ttl <= 0 {
		return 0, cm.Errorf(cm.EINVALID, "AcquireLeases needs an owner, ids and a positive ttl")
	}
	now := s.clock()
	exp := micros(now.Add(ttl))
	var token int64
	// Lock order: the counter row, then the leases in id order (ids is
	// sorted; the rows of one INSERT are upserted, and locked, in VALUES
	// order), as ReleaseLeases and TakeOver lock them.
	err := s.inTxRetry(ctx, "acquire leases", func(t tx) error {
		if err := t.queryRow(ctx, "UPDATE counters SET value = value + 1 WHERE name = 'lease_token' RETURNING value").Scan(&token); err != nil {
			return fmt.Errorf("next fencing token: %w", err)
		}
		var got int64
		for c := range slices.Chunk(ids, chunkSize/4) {
			vals := make([]string, len(c))
			args := make([]any, 0, len(c)*4+1)
			for i, id := range c {
				vals[i] = "(?, ?, ?, ?)"
				args = append(args, id, owner, token, exp)
			}
			args = append(args, micros(now))
			n, err := t.exec(ctx, "INSERT INTO leases (member_id, owner, token, expires_at) VALUES "+strings.Join(vals, ", ")+
				` ON CONFLICT (member_id) DO UPDATE SET owner = excluded.owner, token = excluded.token,
				expires_at = excluded.expires_at WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`, args...)
			if err != nil {
				return fmt.Errorf("acquire leases: %w", err)
			}
			got += n
		}
		if got != int64(len(ids)) {
			return cm.Errorf(cm.ECONFLICT, "%d of %d ids are leased by another owner", int64(len(ids))-got, len(ids))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return token, nil
}

// ReleaseLeases releases owner's leases on ids; others' leases are untouched.
func (s *core) ReleaseLeases(ctx context.Context, owner string, ids []string) error {
	// The rows are locked in id order before they are deleted (a DELETE
	// alone locks them in whatever order its plan reads them, which may
	// cross AcquireLeases' id order on the same rows).
	return s.inTxRetry(ctx, "release leases", func(t tx) error {
		for c := range slices.Chunk(cm.SortedIDs(ids), chunkSize) {
			if _, err := t.exec(ctx, "DELETE FROM leases WHERE member_id IN (SELECT member_id FROM leases WHERE owner = ? AND member_id IN ("+
				placeholders(len(c))+") ORDER BY member_id"+s.b.forUpdate()+") AND owner = ?",
				append(append([]any{owner}, anys(c)...), owner)...); err != nil {
				return fmt.Errorf("release leases: %w", err)
			}
		}
		return nil
	})
}
