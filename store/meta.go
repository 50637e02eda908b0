package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// This file holds what a store knows about itself: the organization it is
// bound to (table meta, migration 0003) and the durable request counters
// (table request_stats, migration 0004).

// Org returns the organization the store is bound to; ENOTFOUND when none.
func (s *core) Org(ctx context.Context) (cm.Org, error) {
	return orgOf(ctx, s.b.reader())
}

func orgOf(ctx context.Context, q querier) (cm.Org, error) {
	var o cm.Org
	var at int64
	err := q.queryRow(ctx, "SELECT org_id, org_name, org_source, org_bound_at FROM meta WHERE singleton = 1").
		Scan(&o.ID, &o.Name, &o.Source, &at)
	switch {
	case errors.Is(err, errNoRows):
		return cm.Org{}, cm.Errorf(cm.ENOTFOUND, "the store is bound to no organization")
	case err != nil:
		return cm.Org{}, fmt.Errorf("store organization: %w", err)
	}
	o.BoundAt = fromMicros(at)
	return o, nil
}

// BindOrg binds the store to o (BoundAt is set to now). The first binding
// wins: the same id again only fills a name the store lacks; another id is
// ECONFLICT naming both organizations. EINVALID for an empty id.
func (s *core) BindOrg(ctx context.Context, o cm.Org) error {
	if strings.TrimSpace(o.ID) == "" {
		return cm.Errorf(cm.EINVALID, "BindOrg: the organization has no id")
	}
	now := s.clock()
	return s.inTxRetry(ctx, "BindOrg", func(t tx) error {
		// Two binders at once: the second INSERT waits for the first
		// (PostgreSQL) or for the writer lock (SQLite), does nothing, and
		// then reads the winner's row.
		if _, err := t.exec(ctx, `INSERT INTO meta (singleton, org_id, org_name, org_source, org_bound_at)
			VALUES (1, ?, ?, ?, ?) ON CONFLICT (singleton) DO NOTHING`,
			o.ID, o.Name, o.Source, micros(now)); err != nil {
			return fmt.Errorf("bind organization: %w", err)
		}
		have, err := orgOf(ctx, t)
		if err != nil {
			return err
		}
		if have.ID != o.ID {
			return cm.Errorf(cm.ECONFLICT, "the store belongs to %s, not to %s", have, o)
		}
		if have.Name == "" && o.Name != "" {
			if _, err := t.exec(ctx, "UPDATE meta SET org_name = ? WHERE singleton = 1", o.Name); err != nil {
				return fmt.Errorf("bind organization: %w", err)
			}
		}
		return nil
	})
}

// AddRequestCounts adds counts to the request counters in one transaction.
// Counts with N <= 0 are skipped; EINVALID for an empty route.
func (s *core) AddRequestCounts(ctx context.Context, counts []cm.RequestCount) error {
	counts = slices.DeleteFunc(slices.Clone(counts), func(c cm.RequestCount) bool { return c.N <= 0 })
	if len(counts) == 0 {
		return nil
	}
	for _, c := range counts {
		if c.Route == "" {
			return cm.Errorf(cm.EINVALID, "AddRequestCounts: a count has no route")
		}
	}
	// A fixed order keeps two concurrent writers (PostgreSQL) from
	// deadlocking on each other's rows.
	slices.SortFunc(counts, compareCounts)
	return s.inTxRetry(ctx, "add request counts", func(t tx) error {
		for _, c := range counts {
			if _, err := t.exec(ctx, `INSERT INTO request_stats (route, status, n) VALUES (?, ?, ?)
				ON CONFLICT (route, status) DO UPDATE SET n = request_stats.n + excluded.n`,
				c.Route, int64(c.Status), c.N); err != nil {
				return fmt.Errorf("add request counts: %w", err)
			}
		}
		return nil
	})
}

// RequestCounts returns every request counter, ordered by route and status.
func (s *core) RequestCounts(ctx context.Context) ([]cm.RequestCount, error) {
	rs, err := s.b.reader().query(ctx, "SELECT route, status, n FROM request_stats ORDER BY route, status")
	if err != nil {
		return nil, fmt.Errorf("request counts: %w", err)
	}
	defer rs.Close()
	var out []cm.RequestCount
	for rs.Next() {
		var c cm.RequestCount
		var status int64
		if err := rs.Scan(&c.Route, &status, &c.N); err != nil {
			return nil, fmt.Errorf("request counts: %w", err)
		}
		c.Status = int(status)
		out = append(out, c)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("request counts: %w", err)
	}
	return out, nil
}

func compareCounts(a, b cm.RequestCount) int {
	return cmp.Or(strings.Compare(a.Route, b.Route), cmp.Compare(a.Status, b.Status))
}

// sqliteMustExist returns ENOTFOUND when no file is at path (Options.MustExist).
func sqliteMustExist(path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return cm.Errorf(cm.ENOTFOUND, "no store at %s", path)
	}
	return nil
}

// mustExist returns ENOTFOUND when the current schema was never migrated
// (Options.MustExist).
func (b *pgBackend) mustExist(ctx context.Context) error {
	var ok bool
	err := b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables
		WHERE schemaname = current_schema() AND tablename = 'schema_migrations')`).Scan(&ok)
	if err != nil {
		return fmt.Errorf("PostgreSQL: %w", scrub(err))
	}
	if !ok {
		return cm.Errorf(cm.ENOTFOUND, "no store in PostgreSQL schema %s (it was never migrated)", b.schema)
	}
	return nil
}
