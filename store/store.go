package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	cm "github.com/contactmerge/contactmerge"
)

// DefaultSQLitePath is the SQLite file Open uses for an empty dsn.
const DefaultSQLitePath = "./contactmerge.db"

// Options configures Open. The zero value is usable.
type Options struct {
	// Normalizer, when set, is computed on every contact write and kept in
	// the norm column that EachNorm returns.
	Normalizer cm.Normalizer
	// Now is the clock; default time.Now. Stored times have microsecond
	// precision and are returned in UTC.
	Now func() time.Time
	// Logger receives the migration logs (the store's and River's) and,
	// at debug level, each retry of a transaction PostgreSQL aborted as a
	// deadlock or serialization failure; default: warnings and errors to
	// standard error.
	Logger *slog.Logger
	// MustExist makes Open refuse to create a store: it returns ENOTFOUND
	// when the SQLite file does not exist or the PostgreSQL schema was never
	// migrated (it has no schema_migrations table), and creates nothing. An
	// existing store is still migrated to the current schema. Default false:
	// Open creates the store.
	MustExist bool
}

// Store is a cm.Store with its database's job infrastructure.
type Store interface {
	cm.Store
	// Kind returns "sqlite" or "postgres".
	Kind() string
	// NewJobClient builds a River client on this store's database
	// (riversqlite on the SQLite writer connection, riverpgxv5 on the pgx
	// pool). River's migrations were applied by Open. cfg is passed
	// through; on PostgreSQL an empty cfg.Schema is set to the store's
	// schema. Stop the client before closing the store.
	NewJobClient(cfg *river.Config) (JobClient, error)
}

// JobClient is what both *river.Client[*sql.Tx] and *river.Client[pgx.Tx]
// offer, without the transaction type parameter.
type JobClient interface {
	// Start starts the client's producers and maintenance services.
	Start(ctx context.Context) error
	// Stop waits for running jobs to finish, then stops.
	Stop(ctx context.Context) error
	// StopAndCancel cancels running jobs' contexts, then stops.
	StopAndCancel(ctx context.Context) error
	// Stopped is closed when the client has stopped.
	Stopped() <-chan struct{}
	// Insert inserts one job.
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	// InsertMany inserts many jobs in one operation.
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	// Subscribe returns a channel of job events of the given kinds and a
	// function that cancels the subscription.
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	// JobGet returns one job by id.
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	// JobCancel cancels a job.
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	// JobList lists jobs.
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// dbStore is the Store of both backends.
type dbStore struct {
	*core
	jobs func(cfg *river.Config) (JobClient, error)
}

// Open opens, creating and migrating, the store named by dsn: a postgres://
// or postgresql:// URL selects PostgreSQL; anything else is a SQLite file
// path ("" → DefaultSQLitePath; ":memory:" is refused because River needs
// the file). The store's and River's migrations are embedded, versioned and
// applied under an exclusive lock, so running Open twice or from two
// processes at once is safe. EINVALID for a bad dsn.
func Open(ctx context.Context, dsn string, opts Options) (Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	c := &core{norm: opts.Normalizer, now: opts.Now, log: opts.Logger}
	s := &dbStore{core: c}
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		b, err := openPostgres(ctx, dsn)
		if err != nil {
			return nil, err
		}
		if opts.MustExist {
			if err := b.mustExist(ctx); err != nil {
				b.close()
				return nil, err
			}
		}
		if err := b.migrate(ctx, &opts); err != nil {
			b.close()
			return nil, fmt.Errorf("migrate PostgreSQL schema %s: %w", b.schema, b.translate(err))
		}
		c.b, s.jobs = b, b.newJobClient
	default:
		if dsn == "" {
			dsn = DefaultSQLitePath
		}
		if dsn == ":memory:" || strings.Contains(dsn, "mode=memory") {
			return nil, cm.Errorf(cm.EINVALID, "an in-memory SQLite store is not supported: use a file")
		}
		dsn = strings.TrimPrefix(dsn, "file:")
		if opts.MustExist {
			if err := sqliteMustExist(dsn); err != nil {
				return nil, err
			}
		}
		b, err := openSQLite(ctx, dsn)
		if err != nil {
			return nil, err
		}
		if err := b.migrate(ctx, &opts); err != nil {
			b.close()
			return nil, fmt.Errorf("migrate SQLite %s: %w", dsn, err)
		}
		c.b, s.jobs = b, b.newJobClient
	}
	return s, nil
}

// NewJobClient builds a River client on the store's database.
func (s *dbStore) NewJobClient(cfg *river.Config) (JobClient, error) {
	if cfg == nil {
		return nil, cm.Errorf(cm.EINVALID, "NewJobClient needs a River config")
	}
	return s.jobs(cfg)
}
