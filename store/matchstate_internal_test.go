package store

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/contactmerge/contactmerge/internal/testdb"
)

// TestMatchStateParts: parts of several rows, immutable ('@') and not,
// come back as they were saved, whichever statement read them, and one by
// one (LoadMatchStatePart); an immutable part whose rows a full match
// deleted after they were listed is left out, not returned as zeros.
func TestMatchStateParts(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			s, _ := openLogged(t, dsn(t))
			s.stateChunk = 1000
			ctx := context.Background()
			rnd := rand.New(rand.NewPCG(1, 2))
			bytesOf := func(n int) []byte {
				b := make([]byte, n)
				for i := range b {
					b[i] = byte(rnd.IntN(256))
				}
				return b
			}
			parts := map[string][]byte{
				"meta": bytesOf(10), "delta": bytesOf(2500), "links": {},
				"blocks@b1": bytesOf(3500), "contacts@b1": bytesOf(1000), "model@b1": bytesOf(1), "empty@b1": {},
			}
			if _, err := s.SaveMatch(ctx, nil, nil, parts, nil, "test"); err != nil {
				t.Fatal(err)
			}
			got, err := s.LoadMatchState(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(parts) {
				t.Fatalf("loaded %d parts, saved %d", len(got), len(parts))
			}
			for name, want := range parts {
				if !bytes.Equal(got[name], want) {
					t.Fatalf("part %s: %d bytes loaded, %d saved (or different)", name, len(got[name]), len(want))
				}
			}
			for _, name := range []string{"delta", "blocks@b1", "empty@b1", "nope"} {
				part, err := s.LoadMatchStatePart(ctx, name)
				if err != nil || !bytes.Equal(part, parts[name]) || (part == nil) != (name == "nope") {
					t.Fatalf("LoadMatchStatePart(%s): %d bytes (nil %v), %v", name, len(part), part == nil, err)
				}
			}
			// The rows as listed, then a full match's replacement deletes one
			// of them before it is read.
			rows, err := s.matchStateRows(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(rows); n != 3+4+1+1+1+1+1 { // delta 3 rows, blocks 4, the others 1 each
				t.Fatalf("%d rows: %v", n, rows)
			}
			if err := s.inTx(ctx, func(t tx) error {
				_, err := t.exec(ctx, "DELETE FROM match_state WHERE name = 'blocks@b1' AND seq = 2")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			got, err = s.loadMatchState(ctx, rows)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got["blocks@b1"]; ok || !bytes.Equal(got["contacts@b1"], parts["contacts@b1"]) {
				t.Fatalf("a part whose row went was loaded (%d bytes), or another one lost", len(got["blocks@b1"]))
			}
		})
	}
}
