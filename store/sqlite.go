package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	cm "github.com/contactmerge/contactmerge"
)

// sqlitePragmas are the settings of every connection: wait up to 10 s for
// a lock, enforce foreign keys, and synchronous=NORMAL, which in WAL mode is
// durable against process crashes (kill -9); only a power loss may drop the
// last commits.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

// sqliteWriterPragmas are the writer connection's own settings. WAL lets
// readers run beside the single writer. The writer gets a 64 MiB page cache
// so that bulk transactions do not spill to the WAL midway, temporary tables
// in memory, and checkpoints every 8192 pages (32 MiB of WAL) instead of
// 1000. Its transactions BEGIN IMMEDIATE.
const sqliteWriterPragmas = "&_pragma=journal_mode(WAL)&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)" +
	"&_pragma=wal_autocheckpoint(8192)&_txlock=immediate"

// sqliteBackend keeps two pools on one file: w, the single writer
// connection (River uses it too), and r, read-only connections.
type sqliteBackend struct {
	path string
	w, r *sql.DB
}

// sqliteOpenWait bounds how long Open retries a locked new file.
const sqliteOpenWait = 10 * time.Second

// sqliteBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED.
func sqliteBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

func openSQLite(ctx context.Context, path string) (*sqliteBackend, error) {
	start := time.Now()
	if strings.ContainsAny(path, "?#") {
		return nil, cm.Errorf(cm.EINVALID, "SQLite path %q must not contain '?' or '#'", path)
	}
	w, err := sql.Open("sqlite", "file:"+path+"?"+sqlitePragmas+sqliteWriterPragmas)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Switching a new file to WAL needs an exclusive lock and SQLite does
	// not wait for it, so a concurrent Open of a fresh file retries.
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := w.PingContext(ctx)
		if err == nil {
			break
		}
		if !sqliteBusy(err) || delay >= 100*time.Millisecond && time.Since(start) > sqliteOpenWait {
			w.Close()
			if ro := readOnlyLocation(path); ro != nil {
				return nil, ro
			}
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		if err := sleepCtx(ctx, delay); err != nil {
			w.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	return &sqliteBackend{path: path, w: w, r: r}, nil
}

// readOnlyLocation returns an EINVALID error naming the problem when the
// SQLite file at path cannot be written because it, or the directory that
// would hold it, is read-only (SQLite itself only says "unable to open
// database file"); nil when the location looks writable.
func readOnlyLocation(path string) error {
	hint := "choose another location with --db or CONTACTMERGE_DB"
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return cm.Errorf(cm.EINVALID, "store %s is read-only for this user (%v): %s", path, err, hint)
		}
		f.Close()
	}
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".contactmerge-write-check-*")
	if err != nil {
		return cm.Errorf(cm.EINVALID, "cannot create the store %s: the directory %s is not writable for this user (%v): %s", path, dir, err, hint)
	}
	probe.Close()
	_ = os.Remove(probe.Name())
	return nil
}

// sleepCtx waits for d or until ctx is done, returning ctx's error then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *sqliteBackend) kind() string      { return "sqlite" }
func (b *sqliteBackend) reader() querier   { return sqlQuerier{b.r} }
func (b *sqliteBackend) forUpdate() string { return "" }

func (b *sqliteBackend) lockLedger(context.Context, tx) error    { return nil }
func (b *sqliteBackend) lockProposals(context.Context, tx) error { return nil }

func (b *sqliteBackend) close() error {
	return errors.Join(b.r.Close(), b.w.Close())
}

func (b *sqliteBackend) begin(ctx context.Context) (tx, error) {
	t, err := b.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqliteTx{sqlQuerier{t}, t}, nil
}

// translate maps SQLite constraint violations to ECONFLICT.
func (b *sqliteBackend) translate(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return errors.Join(cm.Errorf(cm.ECONFLICT, "already exists"), err)
		}
	}
	return err
}

// migrate applies the store's and River's migrations in one IMMEDIATE
// transaction: a second process waits for the first and then finds nothing
// to do.
func (b *sqliteBackend) migrate(ctx context.Context, o *Options) error {
	t, err := b.begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	st := t.(*sqliteTx)
	defer func() { _ = st.t.Rollback() }()
	applied, err := migrate(ctx, t, "sqlite", o.Now())
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		o.Logger.Info("store schema migrated", "store", "sqlite", "versions", applied)
	}
	m, err := rivermigrate.New(riversqlite.New(b.w), &rivermigrate.Config{Logger: o.Logger})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	// MigrateTx is deprecated because some PostgreSQL migrations cannot
	// share a transaction; on SQLite the one IMMEDIATE transaction is what
	// serializes concurrent Opens (storetest's Migrations test).
	if _, err := m.MigrateTx(ctx, st.t, rivermigrate.DirectionUp, nil); err != nil { //nolint:staticcheck // SA1019: see above
		return fmt.Errorf("river migrations: %w", err)
	}
	return st.t.Commit()
}

func (b *sqliteBackend) newJobClient(cfg *river.Config) (JobClient, error) {
	return river.NewClient(riversqlite.New(b.w), cfg)
}

// sqlConn is what *sql.DB and *sql.Tx share.
type sqlConn interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, q string) (*sql.Stmt, error)
}

type sqlQuerier struct{ c sqlConn }

func (q sqlQuerier) exec(ctx context.Context, s string, args ...any) (int64, error) {
	res, err := q.c.ExecContext(ctx, s, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqlQuerier) query(ctx context.Context, s string, args ...any) (rows, error) {
	rs, err := q.c.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rs}, nil
}

func (q sqlQuerier) queryRow(ctx context.Context, s string, args ...any) row {
	return sqlRow{q.c.QueryRowContext(ctx, s, args...)}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRows
	}
	return err
}

type sqliteTx struct {
	sqlQuerier
	t *sql.Tx
}

func (t *sqliteTx) commit(context.Context) error   { return t.t.Commit() }
func (t *sqliteTx) rollback(context.Context) error { return t.t.Rollback() }

// sqliteBatchRows is how many rows one multi-row INSERT carries.
const sqliteBatchRows = 64

func (t *sqliteTx) bulkInsert(ctx context.Context, table string, cols []string, rs [][]any) error {
	one := "(" + placeholders(len(cols)) + ")"
	prefix := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	return t.batched(ctx, rs, func(n int) string {
		return prefix + strings.TrimSuffix(strings.Repeat(one+",", n), ",")
	})
}

// batched runs rows through a prepared multi-row statement built by stmt(n).
func (t *sqliteTx) batched(ctx context.Context, rs [][]any, stmt func(n int) string) error {
	if len(rs) == 0 {
		return nil
	}
	var full *sql.Stmt
	if len(rs) >= sqliteBatchRows {
		var err error
		if full, err = t.t.PrepareContext(ctx, stmt(sqliteBatchRows)); err != nil {
			return err
		}
		defer full.Close()
	}
	args := make([]any, 0, sqliteBatchRows*len(rs[0]))
	for len(rs) > 0 {
		n := min(len(rs), sqliteBatchRows)
		args = args[:0]
		for _, r := range rs[:n] {
			args = append(args, r...)
		}
		var err error
		if n == sqliteBatchRows {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = t.t.ExecContext(ctx, stmt(n), args...)
		}
		if err != nil {
			return err
		}
		rs = rs[n:]
	}
	return nil
}

// refreshSQL updates a group a match run found again, if it is still in
// the state read.
const refreshSQL = `UPDATE groups SET survivor_id = ?, confidence = ?, merged = ?, unkept = ?,
	explanation = ?, content_hash = ?, version = version + 1, updated_at = ?
	WHERE id = ? AND state = ?`

// deleteGroupSQL deletes a group only if it is still in the state read.
const deleteGroupSQL = "DELETE FROM groups WHERE id = ? AND state = ?"

func (t *sqliteTx) refreshGroups(ctx context.Context, gs []groupRefresh) ([]bool, error) {
	return t.execEach(ctx, refreshSQL, len(gs), func(i int) []any {
		g := &gs[i]
		return []any{g.survivorID, g.confidence, jsonArg(g.merged), jsonArg(g.unkept), jsonArg(g.explanation),
			g.hash, g.updatedAt, g.key.id, string(g.key.state)}
	})
}

func (t *sqliteTx) deleteGroups(ctx context.Context, keys []groupKey) ([]bool, error) {
	return t.execEach(ctx, deleteGroupSQL, len(keys), func(i int) []any {
		return []any{keys[i].id, string(keys[i].state)}
	})
}

// execEach runs the prepared statement q n times with args(i) and reports
// for each run whether it affected a row.
func (t *sqliteTx) execEach(ctx context.Context, q string, n int, args func(i int) []any) ([]bool, error) {
	st, err := t.t.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := make([]bool, n)
	for i := range n {
		res, err := st.ExecContext(ctx, args(i)...)
		if err != nil {
			return nil, err
		}
		c, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		out[i] = c == 1
	}
	return out, nil
}

func (t *sqliteTx) upsertContacts(ctx context.Context, cs []contactRow) error {
	rs := make([][]any, len(cs))
	for i, c := range cs {
		rs[i] = []any{c.id, c.divisionID, c.typ, c.modifyDate, c.data, jsonArg(c.norm), c.updatedAt}
	}
	return t.batched(ctx, rs, func(n int) string {
		return "INSERT INTO contacts (id, division_id, type, modify_date, data, norm, updated_at) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?),", n), ",") +
			` ON CONFLICT (id) DO UPDATE SET division_id = excluded.division_id, type = excluded.type,
			modify_date = excluded.modify_date, data = excluded.data, norm = excluded.norm,
			updated_at = excluded.updated_at WHERE excluded.modify_date >= contacts.modify_date`
	})
}

// sqliteBulkPageBytes is the page cache a bulk write of contacts gets per
// contact: about what the two indexes of contacts (id, contacts_updated)
// take when their entries arrive in random order (a streamed import), so
// that they stay in the cache while the table's pages, written once, are
// spilled to the WAL. With the usual cache, a write of millions of
// contacts spills and reads back index pages for nearly every insert.
const sqliteBulkPageBytes = 200

// sqliteBulkCacheMax bounds that cache (10 million contacts need it all).
const sqliteBulkCacheMax = 2 << 30

// sqliteCacheKiB is the writer's usual page cache, in KiB (the negated
// cache_size of sqliteWriterPragmas).
const sqliteCacheKiB = 65536

// bulkContacts gives the writer, for this transaction, a page cache sized
// to n contacts (sqliteBulkPageBytes each, at most sqliteBulkCacheMax, at
// least its usual one), and returns the function restoring the usual one.
func (t *sqliteTx) bulkContacts(ctx context.Context, n int) (func() error, error) {
	kib := min(n*sqliteBulkPageBytes, sqliteBulkCacheMax) >> 10
	if kib <= sqliteCacheKiB {
		return func() error { return nil }, nil
	}
	if _, err := t.t.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", kib)); err != nil {
		return nil, fmt.Errorf("bulk write: page cache: %w", err)
	}
	return func() error {
		// Not ctx: the cache must shrink even when ctx is done.
		if _, err := t.t.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA cache_size = -%d", sqliteCacheKiB)); err != nil {
			return fmt.Errorf("bulk write: page cache: %w", err)
		}
		return nil
	}, nil
}
