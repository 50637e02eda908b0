package store

import (
	"context"
	"errors"
	"fmt"

	cm "github.com/contactmerge/contactmerge"
)

// ScanState returns the progress of the named scan (the zero value with the
// name set when it never ran).
func (s *core) ScanState(ctx context.Context, name string) (cm.ScanState, error) {
	return scanState(ctx, s.b.reader(), name)
}

func scanState(ctx context.Context, q querier, name string) (cm.ScanState, error) {
	st := cm.ScanState{Name: name}
	var started, updated int64
	err := q.queryRow(ctx, "SELECT cursor, pages, contacts, done, started_at, updated_at FROM scans WHERE name = ?", name).
		Scan(&st.Cursor, &st.Pages, &st.Contacts, &st.Done, &started, &updated)
	switch {
	case errors.Is(err, errNoRows):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("scan state %s: %w", name, err)
	}
	st.StartedAt, st.UpdatedAt = fromMicros(started), fromMicros(updated)
	return st, nil
}

// SaveScanPage upserts a page of contacts and records st in one transaction.
// UpdatedAt is set to now; a zero StartedAt keeps the stored one (now for a
// new scan).
func (s *core) SaveScanPage(ctx context.Context, st cm.ScanState, page []cm.Contact) error {
	if st.Name == "" {
		return cm.Errorf(cm.EINVALID, "scan state has no name")
	}
	now := s.clock()
	rs, err := s.contactRows(page, now)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(t tx) error {
		if len(rs) > 0 {
			if err := t.upsertContacts(ctx, rs); err != nil {
				return err
			}
		}
		started := st.StartedAt
		if started.IsZero() {
			old, err := scanState(ctx, t, st.Name)
			if err != nil {
				return err
			}
			started = old.StartedAt
			if started.IsZero() {
				started = now
			}
		}
		_, err := t.exec(ctx, `INSERT INTO scans (name, cursor, pages, contacts, done, started_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, pages = excluded.pages,
				contacts = excluded.contacts, done = excluded.done, started_at = excluded.started_at,
				updated_at = excluded.updated_at`,
			st.Name, st.Cursor, int64(st.Pages), st.Contacts, st.Done, micros(started), micros(now))
		if err != nil {
			return fmt.Errorf("save scan %s: %w", st.Name, err)
		}
		return nil
	})
}

// ResetScan forgets the named scan's progress.
func (s *core) ResetScan(ctx context.Context, name string) error {
	return s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, "DELETE FROM scans WHERE name = ?", name)
		return err
	})
}
