package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

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
func sqliteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "contactmerge.db")
}

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
func pgBaseURL(t testing.TB) string {
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		t.Skip("TEST_DATABASE_URL is not set: skipping the PostgreSQL store tests " +
			"(e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// pgDSN creates a fresh schema, dropped at cleanup, and returns a URL whose
// search_path selects it.
func pgDSN(t testing.TB) string {
	base := pgBaseURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "cmtest_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

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
