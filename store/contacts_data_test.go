package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
)

// TestUpsertContactData: the data a batch carries is what is stored (and
// read back) for its contact, json.Marshal's where it carries none; across
// batches, in memory (UpsertContactData, small and chunked) and streamed
// (UpsertContactDataStream), the newest of an id wins, the later on a tie;
// a contact without id writes nothing.
func TestUpsertContactData(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, dsn(t), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			// data names the contact otherwise than the contact does, to
			// show that it is the data that is stored.
			withData := func(cs []cm.Contact, name string) store.ContactData {
				b := store.ContactData{Contacts: cs, Data: make([][]byte, len(cs))}
				for i := range cs {
					c := cs[i]
					c.FirstName = name
					b.Data[i], _ = json.Marshal(&c)
				}
				return b
			}
			if err := store.UpsertContactData(ctx, st, []store.ContactData{{Contacts: []cm.Contact{{FirstName: "no id"}}}}); !cm.IsCode(err, cm.EINVALID) {
				t.Fatalf("a contact without id: %v, want EINVALID", err)
			}
			for _, n := range []int{10, 20000} {
				err := store.UpsertContactData(ctx, st, []store.ContactData{
					withData(streamContacts(n, "x", t0), "older"),
					withData(streamContacts(n, "x", t0.Add(2*time.Hour)), "newest"),
					{Contacts: streamContacts(3, "tie, marshalled", t0.Add(2*time.Hour))},
					withData(streamContacts(1, "x", t0.Add(time.Hour)), "older again"),
				})
				if err != nil {
					t.Fatal(err)
				}
				got, err := st.Contacts(ctx, []string{"c00000", "c00003", "c00009"})
				if err != nil {
					t.Fatal(err)
				}
				for id, want := range map[string]string{"c00000": "tie, marshalled", "c00003": "newest", "c00009": "newest"} {
					if got[id].FirstName != want {
						t.Errorf("%d contacts: %s is %q, want %q", n, id, got[id].FirstName, want)
					}
				}
			}
			err = store.UpsertContactDataStream(ctx, st, 30000, func(put func(store.ContactData) error) error {
				for _, b := range []store.ContactData{
					withData(streamContacts(5, "x", t0), "older"),
					withData(streamContacts(30000, "x", t0.Add(3*time.Hour)), "streamed"),
					{Contacts: streamContacts(2, "streamed tie", t0.Add(3*time.Hour))},
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
			got, err := st.Contacts(ctx, []string{"c00000", "c00004", "c29999"})
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]string{"c00000": "streamed tie", "c00004": "streamed", "c29999": "streamed"} {
				if got[id].FirstName != want {
					t.Errorf("streamed: %s is %q, want %q", id, got[id].FirstName, want)
				}
			}
		})
	}
}

// TestUpsertEncoded: contacts an Encoder encoded ahead are stored with
// their data (json.Marshal's where none) and the Encoder's norm; across
// batches the newest of an id wins, the later on a tie; Encode refuses a
// contact without id.
func TestUpsertEncoded(t *testing.T) {
	norm := func(c *cm.Contact) []byte { return []byte(`"` + c.FirstName + `"`) }
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, dsn(t), store.Options{Normalizer: norm})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			enc := store.NewEncoder(norm)
			if _, err := enc.Encode(&cm.Contact{FirstName: "no id"}, nil); !cm.IsCode(err, cm.EINVALID) {
				t.Fatalf("a contact without id: %v, want EINVALID", err)
			}
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			encode := func(cs []cm.Contact, data string) []store.EncodedContact {
				out := make([]store.EncodedContact, len(cs))
				for i := range cs {
					var d []byte
					if data != "" {
						c := cs[i]
						c.LastName = data
						d, _ = json.Marshal(&c)
					}
					if out[i], err = enc.Encode(&cs[i], d); err != nil {
						t.Fatal(err)
					}
				}
				return out
			}
			err = store.UpsertEncoded(ctx, st, [][]store.EncodedContact{
				encode(streamContacts(20000, "older", t0), "from data"),
				encode(streamContacts(20000, "newest", t0.Add(time.Hour)), "from data"),
				encode(streamContacts(3, "tie", t0.Add(time.Hour)), ""),
				encode(streamContacts(1, "older again", t0), ""),
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.Contacts(ctx, []string{"c00000", "c00003", "c19999"})
			if err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string][2]string{"c00000": {"tie", ""}, "c00003": {"newest", "from data"}, "c19999": {"newest", "from data"}} {
				if c := got[id]; c.FirstName != want[0] || c.LastName != want[1] {
					t.Errorf("%s is %q %q, want %q %q", id, c.FirstName, c.LastName, want[0], want[1])
				}
			}
			norms := map[string]string{}
			if err := st.EachNorm(ctx, func(id string, n []byte) error { norms[id] = string(n); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(norms) != 20000 || norms["c00000"] != `"tie"` || norms["c00003"] != `"newest"` {
				t.Errorf("%d norms, c00000 %s, c00003 %s", len(norms), norms["c00000"], norms["c00003"])
			}
		})
	}
}
