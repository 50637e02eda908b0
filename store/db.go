package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// errNoRows is what the backends return for a query that found no row; each
// backend translates its driver's own sentinel into it.
var errNoRows = errors.New("store: no rows")

// rows is the subset of *sql.Rows and pgx.Rows the core needs.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// row is a single-row result; Scan returns errNoRows when there is none.
type row interface {
	Scan(dest ...any) error
}

// querier runs SQL written with '?' placeholders (the Postgres backend
// rewrites them to $n).
type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, error)
	queryRow(ctx context.Context, q string, args ...any) row
}

// tx is a write transaction of a backend.
type tx interface {
	querier
	// bulkInsert inserts many rows into table (COPY on Postgres, a prepared
	// statement on SQLite).
	bulkInsert(ctx context.Context, table string, cols []string, rows [][]any) error
	// refreshGroups rewrites the content of groups a match run found again,
	// each only if it is still in the state read, and reports for each
	// whether it did.
	refreshGroups(ctx context.Context, gs []groupRefresh) ([]bool, error)
	// deleteGroups deletes groups, each only if it is still in the state
	// read, and reports for each whether it did.
	deleteGroups(ctx context.Context, keys []groupKey) ([]bool, error)
	// upsertContacts writes contact rows, replacing stored ones only when
	// the incoming modify_date is not older.
	upsertContacts(ctx context.Context, cs []contactRow) error
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// backend is one database: SQLite or PostgreSQL.
type backend interface {
	kind() string
	// reader runs read-only statements outside any transaction.
	reader() querier
	// begin starts a write transaction (SQLite: BEGIN IMMEDIATE on the
	// single writer connection).
	begin(ctx context.Context) (tx, error)
	// forUpdate is the suffix that locks selected rows for the transaction.
	forUpdate() string
	// lockLedger serializes ledger appends so that sequence numbers become
	// visible in commit order.
	lockLedger(ctx context.Context, t tx) error
	// lockProposals serializes SaveProposals runs.
	lockProposals(ctx context.Context, t tx) error
	// translate maps driver errors (unique violations, serialization
	// failures) to cm error codes; other errors are returned unchanged.
	translate(err error) error
	close() error
}

// groupKey names a group in the state it was read in.
type groupKey struct {
	id    string
	state cm.GroupState
}

// groupRefresh is the new content of a group a match run found again: the
// columns that feed its content hash. The group's version is bumped.
type groupRefresh struct {
	key                         groupKey
	survivorID                  string
	confidence                  float64
	merged, unkept, explanation []byte // JSON; nil is NULL
	hash                        string
	updatedAt                   int64 // unix microseconds
}

// contactRow is a contact ready for writing.
type contactRow struct {
	id, divisionID, typ string
	modifyDate          int64
	data, norm          []byte
	updatedAt           int64
}

// micros converts t to unix microseconds; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros converts unix microseconds to a UTC time; 0 is the zero time.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// modifyKey is the comparable form of a ModifyDate: unix microseconds, with
// the zero time older than every real date.
func modifyKey(t time.Time) int64 {
	if t.IsZero() {
		return -1 << 62
	}
	return t.UnixMicro()
}

// placeholders returns "?,?,...,?" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// rebind rewrites '?' placeholders as $1, $2, ... for PostgreSQL. The SQL of
// this package never contains a literal '?'.
func rebind(q string) string {
	n := strings.Count(q, "?")
	if n == 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + n*3)
	i := 0
	for _, r := range q {
		if r == '?' {
			i++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(i))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// anys converts a string slice to arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// jsonArg binds nil JSON as SQL NULL.
func jsonArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}
