package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
)

// streamContacts returns n contacts c00000, c00001, ... modified at t.
func streamContacts(n int, name string, t time.Time) []cm.Contact {
	cs := make([]cm.Contact, n)
	for i := range cs {
		cs[i] = cm.Contact{ID: fmt.Sprintf("c%05d", i), FirstName: name, ModifyDate: t}
	}
	return cs
}

// TestUpsertContactStream: a stream of batches is written in one
// transaction with UpsertContacts' rules across batches (the newest of an
// id wins, the later on a tie; an older one does not replace a stored
// one), and an error anywhere — the stream's own, a contact without id —
// writes nothing. Large batches (UpsertContacts' chunked path) too.
func TestUpsertContactStream(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, dsn(t), store.Options{Normalizer: func(c *cm.Contact) []byte { return []byte(`"` + c.FirstName + `"`) }})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := st.UpsertContacts(ctx, streamContacts(10, "stored", t0.Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			boom := errors.New("boom")
			for what, each := range map[string]func(put func([]cm.Contact) error) error{
				"the stream's error": func(put func([]cm.Contact) error) error {
					if err := put(streamContacts(3000, "lost", t0.Add(2*time.Hour))); err != nil {
						return err
					}
					return boom
				},
				"a contact without id": func(put func([]cm.Contact) error) error {
					if err := put(streamContacts(3000, "lost", t0.Add(2*time.Hour))); err != nil {
						return err
					}
					return put([]cm.Contact{{FirstName: "no id"}})
				},
			} {
				err := store.UpsertContactStream(ctx, st, each)
				if err == nil {
					t.Fatalf("%s: no error", what)
				}
				if n, _ := st.CountContacts(ctx); n != 10 {
					t.Errorf("%s (%v): %d contacts stored, want the 10 from before", what, err, n)
				}
			}
			err = store.UpsertContactStream(ctx, st, func(put func([]cm.Contact) error) error {
				// c00000..c00009 are stored at t0+1h: an older one keeps them.
				for _, b := range [][]cm.Contact{
					streamContacts(5, "older", t0),
					streamContacts(20000, "first", t0.Add(2*time.Hour)),
					streamContacts(3, "tie", t0.Add(2*time.Hour)),
					streamContacts(1, "older again", t0.Add(time.Hour)),
				} {
					if err := put(b); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := st.CountContacts(ctx); n != 20000 {
				t.Errorf("%d contacts stored, want 20000", n)
			}
			got, err := st.Contacts(ctx, []string{"c00000", "c00003", "c19999"})
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]string{"c00000": "tie", "c00003": "first", "c19999": "first"} {
				if got[id].FirstName != want {
					t.Errorf("%s: %q, want %q", id, got[id].FirstName, want)
				}
			}
			norms := map[string]string{}
			if err := st.EachNorm(ctx, func(id string, n []byte) error { norms[id] = string(n); return nil }); err != nil {
				t.Fatal(err)
			}
			if norms["c00000"] != `"tie"` || norms["c12345"] != `"first"` {
				t.Errorf("norms %q %q: not the written contacts'", norms["c00000"], norms["c12345"])
			}
		})
	}
}

// TestUpsertContactsLargeBatchKeepsWinner: a batch large enough to be
// written in chunks, in id order, keeps UpsertContacts' winner among
// contacts of one id wherever they are in the batch (the newest; the later
// on a tie).
func TestUpsertContactsLargeBatchKeepsWinner(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, dsn(t), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			cs := streamContacts(20000, "plain", t0)
			// Reverse, so that id order is not the batch's order.
			for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
				cs[i], cs[j] = cs[j], cs[i]
			}
			cs = append(cs,
				cm.Contact{ID: "c00005", FirstName: "tie, later", ModifyDate: t0},
				cm.Contact{ID: "c00007", FirstName: "newer", ModifyDate: t0.Add(time.Hour)},
				cm.Contact{ID: "c00007", FirstName: "older", ModifyDate: t0},
			)
			if err := st.UpsertContacts(ctx, cs); err != nil {
				t.Fatal(err)
			}
			if n, _ := st.CountContacts(ctx); n != 20000 {
				t.Errorf("%d contacts, want 20000", n)
			}
			got, err := st.Contacts(ctx, []string{"c00005", "c00007", "c00008"})
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]string{"c00005": "tie, later", "c00007": "newer", "c00008": "plain"} {
				if got[id].FirstName != want {
					t.Errorf("%s: %q, want %q", id, got[id].FirstName, want)
				}
			}
			var ids []string
			if err := st.EachContact(ctx, func(c *cm.Contact) error { ids = append(ids, c.ID); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(ids) != 20000 || ids[0] != "c00000" || ids[19999] != "c19999" {
				t.Errorf("EachContact: %d ids, %v … %v", len(ids), ids[:1], ids[len(ids)-1:])
			}
		})
	}
}
