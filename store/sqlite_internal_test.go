package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestOpenSQLiteWatchesCtx: an Open that keeps finding the new file locked
// gives up when its ctx ends, not after sqliteOpenWait.
func TestOpenSQLiteWatchesCtx(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE x (a)"); err != nil {
		t.Fatal(err)
	}
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback() }()
	if _, err := lock.ExecContext(ctx, "PRAGMA locking_mode = EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, "INSERT INTO x VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	octx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	b, err := openSQLite(octx, path)
	if err == nil {
		_ = b.close()
		t.Fatal("Open of a locked file succeeded")
	}
	t.Logf("after %v: %v", time.Since(start), err)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Open ignored its ctx for %v: %v", d, err)
	}
}
