// Package testdb gives tests an isolated database: a SQLite file in the
// test's temp dir, or a fresh PostgreSQL schema (dropped at cleanup) on the
// server named by TEST_DATABASE_URL. scripts/test.sh always sets
// TEST_DATABASE_URL, starting a throwaway server when none answers.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

// SQLite returns the path of a new SQLite database file in t's temp dir.
func SQLite(t testing.TB) string {
	return filepath.Join(t.TempDir(), "contactmerge.db")
}

// PostgresURL returns TEST_DATABASE_URL or skips t with a message saying how
// to run the PostgreSQL tests.
func PostgresURL(t testing.TB) string {
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		t.Skip("TEST_DATABASE_URL is not set: skipping PostgreSQL tests (make test sets it, " +
			"or e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// Postgres creates a fresh schema on TEST_DATABASE_URL's server, dropped at
// cleanup, and returns a URL whose search_path selects it. It skips t when
// TEST_DATABASE_URL is not set.
func Postgres(t testing.TB) string {
	base := PostgresURL(t)
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
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
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

// Stores returns the DSNs of the stores a test should run against: SQLite
// always, PostgreSQL when TEST_DATABASE_URL is set. Each DSN is fresh.
func Stores(t testing.TB) map[string]func(testing.TB) string {
	m := map[string]func(testing.TB) string{"sqlite": SQLite}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		m["postgres"] = Postgres
	}
	return m
}
