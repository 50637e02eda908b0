package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
	"github.com/contactmerge/contactmerge/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		// The crash test's child process: no leak check, it gets killed.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

func TestConformanceSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Harness{NewDSN: testdb.SQLite, Exec: rawExec, Query: rawQuery})
}

func TestConformancePostgres(t *testing.T) {
	testdb.PostgresURL(t)
	t.Parallel()
	storetest.Run(t, storetest.Harness{NewDSN: testdb.Postgres, Exec: rawExec, Query: rawQuery})
}

// isPostgres reports whether dsn names a PostgreSQL database (else it is a
// SQLite file).
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// rawExec runs q on the database named by dsn, bypassing the store.
func rawExec(tb testing.TB, dsn, q string) error {
	ctx := context.Background()
	if isPostgres(dsn) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Fatal(err)
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, q)
		return err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, q)
	return err
}

// rawQuery runs q on the database named by dsn, bypassing the store, and
// returns its rows with every value formatted as text. It fails tb on error.
func rawQuery(tb testing.TB, dsn, q string) [][]string {
	tb.Helper()
	ctx := context.Background()
	var out [][]string
	if isPostgres(dsn) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Fatal(err)
		}
		defer conn.Close(ctx)
		rs, err := conn.Query(ctx, q)
		if err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
		defer rs.Close()
		for rs.Next() {
			vals, err := rs.Values()
			if err != nil {
				tb.Fatal(err)
			}
			r := make([]string, len(vals))
			for i, v := range vals {
				r[i] = fmt.Sprint(v)
			}
			out = append(out, r)
		}
		if err := rs.Err(); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
		return out
	}
	db, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	rs, err := db.QueryContext(ctx, q)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		tb.Fatal(err)
	}
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		dest := make([]any, len(cols))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rs.Scan(dest...); err != nil {
			tb.Fatal(err)
		}
		r := make([]string, len(cols))
		for i, v := range vals {
			r[i] = v.String
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return out
}

// A SQLite store that cannot be created where it is asked for is bad input
// naming the location (SQLite alone says "unable to open database file").
// As root a read-only directory is writable, so the test puts the store
// under a regular file.
func TestOpenUnwritableLocation(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := filepath.Join(notDir, "cm.db")
	_, err := store.Open(context.Background(), dsn, store.Options{})
	if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), "cannot create the store "+dsn) || !strings.Contains(err.Error(), "--db") {
		t.Fatalf("Open(%s) = %v, want EINVALID naming the location", dsn, err)
	}
}
