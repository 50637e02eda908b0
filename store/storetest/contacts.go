package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
)

func testContacts(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	a, b := contact("c2", "Smith", t0()), contact("c1", "Jones", t0())
	must(t, s.UpsertContacts(ctx(), []cm.Contact{a, b}))
	got, err := s.Contacts(ctx(), []string{"c1", "c2", "nope"})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("Contacts returned %d, want 2", len(got))
	}
	if d := cmp.Diff(a, got["c2"]); d != "" {
		t.Fatalf("round trip changed the contact (-want +got):\n%s", d)
	}
	n, err := s.CountContacts(ctx())
	must(t, err)
	if n != 2 {
		t.Fatalf("CountContacts = %d", n)
	}
	wantCode(t, s.UpsertContacts(ctx(), []cm.Contact{{FirstName: "no id"}}), cm.EINVALID)
	must(t, s.DeleteContacts(ctx(), []string{"c1", "unknown"}))
	got, err = s.Contacts(ctx(), []string{"c1", "c2"})
	must(t, err)
	if _, ok := got["c1"]; ok || len(got) != 1 {
		t.Fatalf("after delete: %v", slices.Collect(maps.Keys(got)))
	}
	// Many contacts in one call (several statement batches and chunks).
	var many []cm.Contact
	for i := range 1234 {
		many = append(many, contact(fmt.Sprintf("m%05d", i), "Many", t0()))
	}
	must(t, s.UpsertContacts(ctx(), many))
	ids := make([]string, 0, len(many))
	for _, c := range many {
		ids = append(ids, c.ID)
	}
	got, err = s.Contacts(ctx(), ids)
	must(t, err)
	if len(got) != len(many) {
		t.Fatalf("Contacts(1234 ids) = %d", len(got))
	}
}

func testContactsModifyDate(t *testing.T, h Harness) {
	s := newEnv(t, h).s
	get := func() cm.Contact {
		t.Helper()
		m, err := s.Contacts(ctx(), []string{"c1"})
		must(t, err)
		return m["c1"]
	}
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "V1", t0())}))
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "Older", t0().Add(-time.Second))}))
	if got := get().LastName; got != "V1" {
		t.Fatalf("an older modifyDate replaced the contact: %s", got)
	}
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "Same", t0())}))
	if got := get().LastName; got != "Same" {
		t.Fatalf("an equal modifyDate did not replace the contact: %s", got)
	}
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "Newer", t0().Add(time.Millisecond))}))
	if got := get().LastName; got != "Newer" {
		t.Fatalf("a newer modifyDate did not replace the contact: %s", got)
	}
	must(t, s.UpsertContacts(ctx(), []cm.Contact{contact("c1", "NoDate", time.Time{})}))
	if got := get().LastName; got != "Newer" {
		t.Fatalf("a contact without modifyDate replaced a dated one: %s", got)
	}
	// Within one call, the newest version of an id wins whatever the order.
	must(t, s.UpsertContacts(ctx(), []cm.Contact{
		contact("c2", "B-new", t0().Add(time.Hour)), contact("c2", "B-old", t0()),
	}))
	m, err := s.Contacts(ctx(), []string{"c2"})
	must(t, err)
	if m["c2"].LastName != "B-new" {
		t.Fatalf("duplicate ids in one call: got %s", m["c2"].LastName)
	}
}

func testEachOrderAndStop(t *testing.T, h Harness) {
	s := newEnv(t, h).s
	ids := []string{"b", "a", "d", "c"}
	for _, id := range ids {
		must(t, s.UpsertContacts(ctx(), []cm.Contact{contact(id, "L"+id, t0())}))
	}
	var seen []string
	must(t, s.EachContact(ctx(), func(c *cm.Contact) error { seen = append(seen, c.ID); return nil }))
	if !slices.Equal(seen, []string{"a", "b", "c", "d"}) {
		t.Fatalf("EachContact order = %v", seen)
	}
	seen = nil
	norms := map[string]string{}
	must(t, s.EachNorm(ctx(), func(id string, norm []byte) error {
		seen = append(seen, id)
		norms[id] = string(norm)
		return nil
	}))
	if !slices.Equal(seen, []string{"a", "b", "c", "d"}) || norms["c"] != "Lc|Lc@example.com" {
		t.Fatalf("EachNorm = %v %v", seen, norms)
	}
	stop := errors.New("stop")
	n := 0
	err := s.EachContact(ctx(), func(*cm.Contact) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("EachContact did not stop: %v after %d", err, n)
	}
	n = 0
	err = s.EachNorm(ctx(), func(string, []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("EachNorm did not stop: %v after %d", err, n)
	}
	// A store without a Normalizer stores nil norms.
	plain, err := store.Open(ctx(), h.NewDSN(t), store.Options{})
	must(t, err)
	defer plain.Close()
	must(t, plain.UpsertContacts(ctx(), []cm.Contact{contact("x", "X", t0())}))
	must(t, plain.EachNorm(ctx(), func(id string, norm []byte) error {
		if norm != nil {
			t.Fatalf("norm without Normalizer = %q", norm)
		}
		return nil
	}))
}
