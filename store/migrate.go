package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one embedded schema version.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations of a dialect in version order.
// File names are NNNN_name.sql.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	ents, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range ents {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out, nil
}

// SchemaVersion is the latest version of the embedded schema.
const SchemaVersion = 11

// migrate applies the dialect's missing migrations inside t, which the
// caller has made exclusive (SQLite: BEGIN IMMEDIATE; Postgres: an advisory
// lock), so that two processes migrating at once apply each version once.
func migrate(ctx context.Context, t tx, dialect string, now time.Time) (applied []int, err error) {
	ms, err := migrations(dialect)
	if err != nil {
		return nil, err
	}
	if _, err := t.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	rs, err := t.query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	have := map[int]bool{}
	for rs.Next() {
		var v int64
		if err := rs.Scan(&v); err != nil {
			rs.Close()
			return nil, err
		}
		have[int(v)] = true
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	for v := range have {
		if v > ms[len(ms)-1].version {
			return nil, fmt.Errorf("database schema version %d is newer than this program's %d", v, ms[len(ms)-1].version)
		}
	}
	for _, m := range ms {
		if have[m.version] {
			continue
		}
		if _, err := t.exec(ctx, m.sql); err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		if _, err := t.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			int64(m.version), m.name, micros(now)); err != nil {
			return applied, fmt.Errorf("record migration %d: %w", m.version, err)
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}
