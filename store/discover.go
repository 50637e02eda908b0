package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// The ids a discovery could not read as themselves (table
// discover_unreadable, migration 0011): package discover records them after
// its bulk read and does not read them again for a while, so that a daily
// cycle does not spend a bulk request a day on each deleted or merged-away
// contact its 31 days of conversations still name.

// Outcomes of an unreadable id.
const (
	// UnreadableMissing: the platform answered 404 (deleted, or an
	// auto-created contact aged out).
	UnreadableMissing = "missing"
	// UnreadableResolved: the platform answered with another contact (the
	// id was merged away).
	UnreadableResolved = "resolved"
)

// RecordUnreadable records the ids a discovery read at at: missing (404)
// and resolved (merged away) ones, replacing an earlier record of the same
// id. EINVALID, before anything is written, for an empty id or one in both
// lists.
func (s *core) RecordUnreadable(ctx context.Context, at time.Time, missing, resolved []string) error {
	type row struct{ id, outcome string }
	rows := make([]row, 0, len(missing)+len(resolved))
	seen := make(map[string]bool, cap(rows))
	for _, l := range []struct {
		ids     []string
		outcome string
	}{{missing, UnreadableMissing}, {resolved, UnreadableResolved}} {
		for _, id := range l.ids {
			if id == "" {
				return cm.Errorf(cm.EINVALID, "RecordUnreadable: an empty id (%s)", l.outcome)
			}
			if seen[id] {
				return cm.Errorf(cm.EINVALID, "RecordUnreadable: id %s is given twice", id)
			}
			seen[id] = true
			rows = append(rows, row{id, l.outcome})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.id, b.id) })
	return s.inTx(ctx, func(t tx) error {
		for c := range slices.Chunk(rows, chunkSize) {
			args := make([]any, 0, 3*len(c))
			for _, r := range c {
				args = append(args, r.id, r.outcome, micros(at))
			}
			vals := strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(c)), ", ")
			if _, err := t.exec(ctx, "INSERT INTO discover_unreadable (id, outcome, read_at) VALUES "+vals+
				" ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, read_at = excluded.read_at", args...); err != nil {
				return fmt.Errorf("record unreadable contacts: %w", err)
			}
		}
		return nil
	})
}

// UnreadableSince returns, of ids, those recorded (RecordUnreadable) as
// read at or after since, with their outcome.
func (s *core) UnreadableSince(ctx context.Context, ids []string, since time.Time) (map[string]string, error) {
	out := map[string]string{}
	for c := range slices.Chunk(ids, chunkSize) {
		args := append(anys(c), micros(since))
		rs, err := s.b.reader().query(ctx, "SELECT id, outcome FROM discover_unreadable WHERE id IN ("+placeholders(len(c))+") AND read_at >= ?", args...)
		if err != nil {
			return nil, s.b.translate(fmt.Errorf("query unreadable contacts: %w", err))
		}
		for rs.Next() {
			var id, outcome string
			if err := rs.Scan(&id, &outcome); err != nil {
				rs.Close()
				return nil, fmt.Errorf("scan unreadable contact: %w", err)
			}
			out[id] = outcome
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, s.b.translate(err)
		}
	}
	return out, nil
}
