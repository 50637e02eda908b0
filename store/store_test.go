package store_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		// The crash test's child process: no leak check, it gets killed.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// sqliteDSN returns a fresh SQLite file in t's temp dir.
func sqliteDSN(t testing.TB) string { return testdb.SQLite(t) }

func sqliteExec(t *testing.T, dsn, q string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.ExecContext(context.Background(), q)
	return err
}

// pgBaseURL returns TEST_DATABASE_URL or skips t.
func pgBaseURL(t testing.TB) string { return testdb.PostgresURL(t) }

// pgDSN creates a fresh schema, dropped at cleanup, and returns a URL whose
// search_path selects it.
func pgDSN(t testing.TB) string { return testdb.Postgres(t) }

func pgExec(t *testing.T, dsn, q string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, q)
	return err
}

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, storetest.Harness{NewDSN: func(t *testing.T) string { return sqliteDSN(t) }, Exec: sqliteExec})
}

func TestConformancePostgres(t *testing.T) {
	pgBaseURL(t)
	storetest.Run(t, storetest.Harness{NewDSN: func(t *testing.T) string { return pgDSN(t) }, Exec: pgExec})
}
