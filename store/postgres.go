package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	cm "github.com/contactmerge/contactmerge"
)

// Advisory lock classes (first key of pg_advisory_xact_lock(int, int); the
// second is a hash of the schema name, so schemas do not block each other).
const (
	lockMigrate   = 0x636d01
	lockLedger    = 0x636d02
	lockProposals = 0x636d03
)

// pgDefaultMaxConns is the pool size when the URL sets no pool_max_conns.
const pgDefaultMaxConns = 10

// pgBackend is a PostgreSQL database reached through a pgxpool. All tables,
// River's included, live in the connection's current schema (the first
// existing schema of search_path).
type pgBackend struct {
	pool   *pgxpool.Pool
	schema string
}

func openPostgres(ctx context.Context, url string) (*pgBackend, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, cm.Errorf(cm.EINVALID, "bad PostgreSQL URL: %v", scrub(err))
	}
	if !strings.Contains(url, "pool_max_conns") && cfg.MaxConns < pgDefaultMaxConns {
		cfg.MaxConns = pgDefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", scrub(err))
	}
	var schema *string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", scrub(err))
	}
	if schema == nil {
		pool.Close()
		return nil, cm.Errorf(cm.EINVALID, "PostgreSQL search_path names no existing schema")
	}
	return &pgBackend{pool: pool, schema: *schema}, nil
}

// scrub drops the connection string (which may hold a password) from pgx
// connection errors, keeping the cause.
func scrub(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return errors.New(ce.Unwrap().Error())
	}
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if u := pe.Unwrap(); u != nil {
			return errors.New("invalid connection string: " + u.Error())
		}
		return errors.New("invalid connection string")
	}
	return err
}

func (b *pgBackend) kind() string      { return "postgres" }
func (b *pgBackend) reader() querier   { return pgQuerier{b.pool} }
func (b *pgBackend) forUpdate() string { return " FOR UPDATE" }
func (b *pgBackend) close() error      { b.pool.Close(); return nil }

func (b *pgBackend) xactLock(ctx context.Context, t tx, class int) error {
	_, err := t.exec(ctx, "SELECT pg_advisory_xact_lock(?::int, hashtext(?))", class, b.schema)
	return err
}

func (b *pgBackend) lockLedger(ctx context.Context, t tx) error {
	return b.xactLock(ctx, t, lockLedger)
}
func (b *pgBackend) lockProposals(ctx context.Context, t tx) error {
	return b.xactLock(ctx, t, lockProposals)
}

func (b *pgBackend) begin(ctx context.Context) (tx, error) {
	t, err := b.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &pgTx{pgQuerier{t}, t}, nil
}

// translate maps unique violations, serialization failures and deadlocks to
// ECONFLICT.
func (b *pgBackend) translate(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return errors.Join(cm.Errorf(cm.ECONFLICT, "already exists"), err)
		case "40001", "40P01":
			return errors.Join(cm.Errorf(cm.ECONFLICT, "concurrent update"), err)
		}
	}
	return err
}

// migrate applies the store's migrations (one transaction) and River's
// (which must commit an enum change between versions, so River runs them
// each in its own transaction) while holding a session advisory lock, so
// that concurrent Opens apply each version once.
func (b *pgBackend) migrate(ctx context.Context, o *Options) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1::int, hashtext($2))", lockMigrate, b.schema); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1::int, hashtext($2))", lockMigrate, b.schema)
	}()
	t, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() { _ = t.Rollback(context.WithoutCancel(ctx)) }()
	applied, err := migrate(ctx, &pgTx{pgQuerier{t}, t}, "postgres", o.Now())
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		o.Logger.Info("store schema migrated", "store", "postgres", "versions", applied)
	}
	if err := t.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(b.pool), &rivermigrate.Config{Logger: o.Logger, Schema: b.schema})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

func (b *pgBackend) newJobClient(cfg *river.Config) (JobClient, error) {
	if cfg != nil && cfg.Schema == "" {
		c := *cfg
		c.Schema = b.schema
		cfg = &c
	}
	return river.NewClient(riverpgxv5.New(b.pool), cfg)
}

// pgConn is what *pgxpool.Pool and pgx.Tx share.
type pgConn interface {
	Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) pgx.Row
}

type pgQuerier struct{ c pgConn }

func (q pgQuerier) exec(ctx context.Context, s string, args ...any) (int64, error) {
	tag, err := q.c.Exec(ctx, rebind(s), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q pgQuerier) query(ctx context.Context, s string, args ...any) (rows, error) {
	rs, err := q.c.Query(ctx, rebind(s), args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

func (q pgQuerier) queryRow(ctx context.Context, s string, args ...any) row {
	return pgRow{q.c.QueryRow(ctx, rebind(s), args...)}
}

type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoRows
	}
	return err
}

type pgTx struct {
	pgQuerier
	t pgx.Tx
}

func (t *pgTx) commit(ctx context.Context) error   { return t.t.Commit(ctx) }
func (t *pgTx) rollback(ctx context.Context) error { return t.t.Rollback(ctx) }

func (t *pgTx) bulkInsert(ctx context.Context, table string, cols []string, rs [][]any) error {
	if len(rs) == 0 {
		return nil
	}
	_, err := t.t.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rs))
	return err
}

// pgSetChunk bounds the rows of one set-based UPDATE or DELETE.
const pgSetChunk = 20000

// appliedByID reports for each of ids whether a set statement returned it.
func appliedByID(rs pgx.Rows, ids []string) ([]bool, error) {
	hit := make(map[string]bool, len(ids))
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return nil, err
		}
		hit[id] = true
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	out := make([]bool, len(ids))
	for i, id := range ids {
		out[i] = hit[id]
	}
	return out, nil
}

// jsonText is a nullable JSON argument as text for a text[] array.
func jsonText(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// refreshGroups updates the groups of a chunk in one statement (unnest).
func (t *pgTx) refreshGroups(ctx context.Context, gs []groupRefresh) ([]bool, error) {
	out := make([]bool, 0, len(gs))
	for c := range slices.Chunk(gs, pgSetChunk) {
		n := len(c)
		surv, hash, ids, states := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		conf := make([]float64, n)
		merged, unkept, expl := make([]*string, n), make([]*string, n), make([]*string, n)
		upd := make([]int64, n)
		for i, g := range c {
			surv[i], conf[i], merged[i], unkept[i], expl[i] = g.survivorID, g.confidence, jsonText(g.merged), jsonText(g.unkept), jsonText(g.explanation)
			hash[i], upd[i], ids[i], states[i] = g.hash, g.updatedAt, g.key.id, string(g.key.state)
		}
		rs, err := t.t.Query(ctx, `UPDATE groups g SET survivor_id = u.survivor_id, confidence = u.confidence,
				merged = u.merged::json, unkept = u.unkept::json, explanation = u.explanation::json,
				content_hash = u.hash, version = g.version + 1, updated_at = u.updated_at
			FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[], $9::text[])
				AS u (survivor_id, confidence, merged, unkept, explanation, hash, updated_at, id, state)
			WHERE g.id = u.id AND g.state = u.state
			RETURNING g.id`, surv, conf, merged, unkept, expl, hash, upd, ids, states)
		if err != nil {
			return nil, err
		}
		applied, err := appliedByID(rs, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, applied...)
	}
	return out, nil
}

// deleteGroups deletes the groups of a chunk in one statement (unnest).
func (t *pgTx) deleteGroups(ctx context.Context, keys []groupKey) ([]bool, error) {
	out := make([]bool, 0, len(keys))
	for c := range slices.Chunk(keys, pgSetChunk) {
		ids, states := make([]string, len(c)), make([]string, len(c))
		for i, k := range c {
			ids[i], states[i] = k.id, string(k.state)
		}
		rs, err := t.t.Query(ctx, `DELETE FROM groups g USING unnest($1::text[], $2::text[]) AS u (id, state)
			WHERE g.id = u.id AND g.state = u.state RETURNING g.id`, ids, states)
		if err != nil {
			return nil, err
		}
		applied, err := appliedByID(rs, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, applied...)
	}
	return out, nil
}

// pgUpsertChunk bounds the rows of one upsert statement.
const pgUpsertChunk = 5000

func (t *pgTx) upsertContacts(ctx context.Context, cs []contactRow) error {
	for c := range slices.Chunk(cs, pgUpsertChunk) {
		ids := make([]string, len(c))
		divs := make([]string, len(c))
		types := make([]string, len(c))
		mds := make([]int64, len(c))
		data := make([]string, len(c))
		norms := make([][]byte, len(c))
		upd := make([]int64, len(c))
		for i, r := range c {
			ids[i], divs[i], types[i], mds[i], data[i], norms[i], upd[i] = r.id, r.divisionID, r.typ, r.modifyDate, string(r.data), r.norm, r.updatedAt
		}
		_, err := t.t.Exec(ctx, `INSERT INTO contacts (id, division_id, type, modify_date, data, norm, updated_at)
			SELECT u.id, u.division_id, u.type, u.modify_date, u.data::json, u.norm, u.updated_at
			FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::bytea[], $7::int8[])
				AS u (id, division_id, type, modify_date, data, norm, updated_at)
			ON CONFLICT (id) DO UPDATE SET division_id = excluded.division_id, type = excluded.type,
				modify_date = excluded.modify_date, data = excluded.data, norm = excluded.norm,
				updated_at = excluded.updated_at
			WHERE excluded.modify_date >= contacts.modify_date`,
			ids, divs, types, mds, data, norms, upd)
		if err != nil {
			return fmt.Errorf("upsert contacts: %w", err)
		}
	}
	return nil
}
