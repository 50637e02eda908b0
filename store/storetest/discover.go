package storetest

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

// unreadableStore is what package discover asks of a store to remember
// the ids it could not read (discover.UnreadableStore).
type unreadableStore interface {
	UnreadableSince(ctx context.Context, ids []string, since time.Time) (map[string]string, error)
	RecordUnreadable(ctx context.Context, at time.Time, missing, resolved []string) error
}

// testUnreadable: recorded ids come back with their outcome when read at
// or after since; a later record of an id replaces its outcome and time;
// bad input (an empty id, an id in both lists) is EINVALID and writes
// nothing; more ids than one statement takes are read and written whole.
func testUnreadable(t *testing.T, h Harness) {
	e := newEnv(t, h)
	us, ok := e.s.(unreadableStore)
	if !ok {
		t.Fatalf("%T does not remember unreadable ids", e.s)
	}
	c := ctx()
	day1 := t0()
	day2 := day1.Add(24 * time.Hour)
	must(t, us.RecordUnreadable(c, day1, []string{"gone-1", "gone-2"}, []string{"merged-1"}))
	got, err := us.UnreadableSince(c, []string{"gone-1", "merged-1", "never", "gone-2"}, day1)
	must(t, err)
	want := map[string]string{"gone-1": store.UnreadableMissing, "gone-2": store.UnreadableMissing, "merged-1": store.UnreadableResolved}
	if !maps.Equal(got, want) {
		t.Fatalf("UnreadableSince(day1) = %v, want %v", got, want)
	}
	// Read before since: not returned.
	got, err = us.UnreadableSince(c, []string{"gone-1", "merged-1"}, day1.Add(time.Microsecond))
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("UnreadableSince(after day1) = %v, want none", got)
	}
	// Read again a day later, one as merged away now: replaced.
	must(t, us.RecordUnreadable(c, day2, nil, []string{"gone-1"}))
	got, err = us.UnreadableSince(c, []string{"gone-1", "gone-2", "merged-1"}, day2)
	must(t, err)
	if !maps.Equal(got, map[string]string{"gone-1": store.UnreadableResolved}) {
		t.Fatalf("UnreadableSince(day2) = %v, want gone-1 resolved", got)
	}
	// Bad input changes nothing.
	wantCode(t, us.RecordUnreadable(c, day2, []string{"x", ""}, nil), cm.EINVALID)
	wantCode(t, us.RecordUnreadable(c, day2, []string{"gone-2"}, []string{"gone-2"}), cm.EINVALID)
	got, err = us.UnreadableSince(c, []string{"x", "gone-2"}, day2)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("a refused RecordUnreadable wrote %v", got)
	}
	// Many ids at once (several statements each way).
	var many []string
	for i := range 1234 {
		many = append(many, fmt.Sprintf("many-%04d", i))
	}
	must(t, us.RecordUnreadable(c, day2, many, nil))
	got, err = us.UnreadableSince(c, append([]string{"never"}, many...), day2)
	must(t, err)
	if len(got) != len(many) {
		t.Fatalf("UnreadableSince of %d recorded ids: %d", len(many), len(got))
	}
}
