package store

import (
	"bytes"
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

// TestSQLiteBlobsAreFresh pins what LoadMatchState relies on to keep a
// part of one row without copying it: the SQLite driver gives every row's
// blob a slice of its own, which a sql.RawBytes holds on to after the next
// row, the end of the rows and more statements. Should a new driver reuse
// its buffers, this fails, and LoadMatchState must copy on SQLite too.
func TestSQLiteBlobsAreFresh(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "blobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE b (n INTEGER, data BLOB)"); err != nil {
		t.Fatal(err)
	}
	big := func(c byte) []byte { return bytes.Repeat([]byte{c}, 3<<20) }
	for n, c := range []byte{'a', 'b', 'c'} {
		if _, err := db.ExecContext(ctx, "INSERT INTO b VALUES (?, ?)", n, big(c)); err != nil {
			t.Fatal(err)
		}
	}
	var kept [][]byte
	for range 2 {
		rs, err := db.QueryContext(ctx, "SELECT data FROM b ORDER BY n")
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var data sql.RawBytes
			if err := rs.Scan(&data); err != nil {
				t.Fatal(err)
			}
			kept = append(kept, data)
		}
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range kept {
		if want := big("abc"[i%3]); !bytes.Equal(b, want) {
			t.Fatalf("blob %d changed after later rows and statements: the driver reuses its buffers", i)
		}
	}
}
