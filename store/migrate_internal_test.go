package store

import "testing"

func TestEmbeddedMigrations(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		ms, err := migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range ms {
			if m.version != i+1 {
				t.Fatalf("%s: migration %d has version %d; versions must be 1, 2, 3, ...", d, i, m.version)
			}
		}
		if last := ms[len(ms)-1].version; last != SchemaVersion {
			t.Fatalf("%s: last migration %d, SchemaVersion %d", d, last, SchemaVersion)
		}
	}
}

func TestRebind(t *testing.T) {
	if got := rebind("a = ? AND b IN (?, ?)"); got != "a = $1 AND b IN ($2, $3)" {
		t.Fatalf("rebind = %q", got)
	}
}
