package store

import (
	"errors"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

// countRow records how many values a Scan asked for.
type countRow struct{ n int }

func (r *countRow) Scan(dest ...any) error { r.n = len(dest); return errors.New("counted") }

// TestGroupColumns checks that groupValues, scanGroup and groupSet agree
// with groupColumns, the one column list of groups.
func TestGroupColumns(t *testing.T) {
	cols := groupColumns()
	g := cm.Group{ID: "g", Members: []string{"a", "b"}}
	e, err := encodeGroup(&g)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(groupValues(&g, e)); n != len(cols) {
		t.Fatalf("groupValues has %d values for %d columns", n, len(cols))
	}
	var r countRow
	if _, err := scanGroup(&r); err == nil || r.n != len(cols) {
		t.Fatalf("scanGroup reads %d values for %d columns", r.n, len(cols))
	}
	set, args := groupSet(&g, e)
	if n := strings.Count(set, "?"); n != len(args) || n != len(cols)-2 || strings.Contains(set, "created_at") ||
		strings.HasPrefix(set, "id ") || strings.Contains(set, " id ") {
		t.Fatalf("groupSet = %q with %d args", set, len(args))
	}
}
