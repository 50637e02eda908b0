package store_test

import (
	"context"
	"os"
	"slices"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
)

// TestMigrationBackfillsRejections: a database of schema version 1 with a
// rejected group (and a decision row) and another rejected without one
// gets, from migration 2, a cannot-link for every pair of each, with the
// rejection's actor, reason and time; a proposed group gets none.
func TestMigrationBackfillsRejections(t *testing.T) {
	for name, newDSN := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			dsn := newDSN(t)
			dialect := "sqlite"
			if isPostgres(dsn) {
				dialect = "postgres"
			}
			v1, err := os.ReadFile("migrations/" + dialect + "/0001_init.sql")
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				string(v1),
				`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
				`INSERT INTO schema_migrations VALUES (1, 'init', 1)`,
				`INSERT INTO groups (id, state, members, created_at, updated_at, version) VALUES
					('g_rej', 'rejected', '["c2","c1","c3"]', 1, 2000000, 2),
					('g_old', 'rejected', '["d1","d2"]', 1, 3000000, 2),
					('g_new', 'proposed', '["e1","e2"]', 1, 4000000, 1)`,
				`INSERT INTO decisions (group_id, approve, actor, reason, at) VALUES
					('g_rej', ` + boolSQL(dialect, true) + `, 'ann', 'yes', 1000000),
					('g_rej', ` + boolSQL(dialect, false) + `, 'bob', 'different people', 1500000)`,
			} {
				if err := rawExec(t, dsn, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			st, err := store.Open(context.Background(), dsn, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			cs, err := st.Constraints(context.Background(), cm.ConstraintFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cs {
				got = append(got, string(c.Kind)+" "+c.A+"-"+c.B+" "+c.GroupID+" "+c.Actor+" "+c.Reason+" "+c.At.Format("05.000000"))
			}
			slices.Sort(got)
			want := []string{
				"cannot_link c1-c2 g_rej bob different people 01.500000",
				"cannot_link c1-c3 g_rej bob different people 01.500000",
				"cannot_link c2-c3 g_rej bob different people 01.500000",
				"cannot_link d1-d2 g_old migration  03.000000",
			}
			if !slices.Equal(got, want) {
				t.Fatalf("backfilled constraints:\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func boolSQL(dialect string, b bool) string {
	switch {
	case dialect == "postgres" && b:
		return "TRUE"
	case dialect == "postgres":
		return "FALSE"
	case b:
		return "1"
	}
	return "0"
}
