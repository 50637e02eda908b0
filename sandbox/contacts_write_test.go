package sandbox

import (
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

func TestCreateContact(t *testing.T) {
	e := loadEnv(t, Config{}, simpleContacts(2))
	before := e.sb.Len()
	body := cm.Contact{
		ID: "ignored", FirstName: " Ann ", LastName: "Lee", Type: cm.TypeEphemeral,
		PersonalEmail: "ann@example.com", CellPhone: &cm.PhoneNumber{Display: "+1 704 298 4733"},
		ExternalIDs: []cm.ExternalID{{ExternalSource: &cm.ExternalSource{Name: "crm"}, Value: "CRM-1"}},
		MergedTo:    &cm.Ref{ID: "x"},
	}
	r := e.do("POST", "/api/v2/externalcontacts/contacts", body)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var got cm.Contact
	r.decode(t, &got)
	if got.ID == "" || got.ID == "ignored" || got.FirstName != "Ann" || got.Type != cm.TypeCurated || got.MergedTo != nil ||
		got.CellPhone == nil || got.CellPhone.E164 != "+17042984733" || got.CreateDate.IsZero() || !got.ModifyDate.Equal(got.CreateDate) {
		t.Fatalf("created %+v", got)
	}
	stored, ok := e.sb.Contact(got.ID)
	if !ok || stored.ExternalIDs[0].Value != "CRM-1" || e.sb.Len() != before+1 {
		t.Fatalf("stored %+v (%v), len %d", stored, ok, e.sb.Len())
	}
	ops := e.sb.Oplog()
	if len(ops) != 1 || ops[0].Op != "create" || ops[0].Result != got.ID {
		t.Fatalf("oplog %+v", ops)
	}
	// It is found by its external id, as any contact.
	if r := e.do("POST", "/api/v2/externalcontacts/identifierlookup/contacts", map[string]string{"type": "ExternalId", "value": "CRM-1"}); r.status != 200 ||
		!strings.Contains(string(r.body), got.ID) {
		t.Fatalf("lookup: %d %s", r.status, r.body)
	}
}

func TestCreateContactValidation(t *testing.T) {
	e := loadEnv(t, Config{}, simpleContacts(1))
	eleven := make([]cm.ExternalID, 11)
	for i := range eleven {
		eleven[i] = cm.ExternalID{Value: "v" + pad(i, 2)}
	}
	for _, tc := range []struct {
		name string
		body any
		want string
	}{
		{"bad email", cm.Contact{FirstName: "A", WorkEmail: "not-an-email"}, "workEmail"},
		{"long name", cm.Contact{FirstName: strings.Repeat("a", cm.MaxNameLen+1)}, "firstName"},
		{"eleven external ids", cm.Contact{FirstName: "A", ExternalIDs: eleven}, "at most 10"},
		{"custom fields without schema", cm.Contact{FirstName: "A", CustomFields: map[string]any{"x": "y"}}, "schema.id and schema.version"},
		{"not an object", []int{1}, "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v2/externalcontacts/contacts", tc.body)
			if r.status != 400 || !strings.Contains(string(r.body), tc.want) {
				t.Fatalf("got %d %s, want 400 naming %q", r.status, r.body, tc.want)
			}
		})
	}
	if ops := e.sb.Oplog(); len(ops) != 0 {
		t.Fatalf("a refused create was applied: %+v", ops)
	}
}

func TestCreateSchemaVersion(t *testing.T) {
	cs := simpleContacts(1)
	cs[0].Schema = &cm.Schema{ID: "s1", Version: 3}
	cs[0].CustomFields = map[string]any{"loyaltyId": "LY1"}
	e := loadEnv(t, Config{}, cs)
	r := e.do("POST", "/api/v2/externalcontacts/contacts", cm.Contact{FirstName: "A", Schema: &cm.Schema{ID: "s1", Version: 2}, CustomFields: map[string]any{"loyaltyId": "LY2"}})
	if r.status != 400 || !strings.Contains(string(r.body), "version 3") {
		t.Fatalf("old schema version: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v2/externalcontacts/contacts", cm.Contact{FirstName: "A", Schema: &cm.Schema{ID: "s1", Version: 3}, CustomFields: map[string]any{"loyaltyId": "LY2"}})
	if r.status != 200 {
		t.Fatalf("current schema version: %d %s", r.status, r.body)
	}
}

func TestUpdateContact(t *testing.T) {
	e := loadEnv(t, Config{}, simpleContacts(3))
	var m cm.Contact
	if r := e.merge([]string{"c0000", "c0001"}, nil); r.status != 200 {
		t.Fatalf("merge: %d %s", r.status, r.body)
	} else {
		r.decode(t, &m)
	}
	body := m
	body.FirstName, body.PersonalEmail = "Changed", ""
	// Through an ancestor id: the canonical contact is updated.
	r := e.do("PUT", "/api/v2/externalcontacts/contacts/c0000", body)
	if r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	var got cm.Contact
	r.decode(t, &got)
	if got.ID != m.ID || got.FirstName != "Changed" || got.PersonalEmail != "" || !got.ModifyDate.After(m.ModifyDate) ||
		len(got.MergeSet) != 3 || !got.CreateDate.Equal(m.CreateDate) {
		t.Fatalf("updated %+v, merged %+v", got, m)
	}
	if anc, _ := e.sb.Contact("c0000"); anc.FirstName != "First0000" {
		t.Fatalf("the ancestor record changed: %+v", anc)
	}
	// Built from the old version: 409, nothing changed.
	body.FirstName = "Again"
	r = e.do("PUT", "/api/v2/externalcontacts/contacts/"+m.ID, body)
	if r.status != 409 || r.errBody(t).Code != "conflict" {
		t.Fatalf("stale update: %d %s", r.status, r.body)
	}
	if c, _ := e.sb.Contact(m.ID); c.FirstName != "Changed" {
		t.Fatalf("a refused update was applied: %+v", c)
	}
	// Without a version: applied.
	body.ModifyDate = time.Time{}
	if r := e.do("PUT", "/api/v2/externalcontacts/contacts/"+m.ID, body); r.status != 200 {
		t.Fatalf("unversioned update: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/api/v2/externalcontacts/contacts/nope", body); r.status != 404 {
		t.Fatalf("unknown id: %d %s", r.status, r.body)
	}
}

func TestWritePermissions(t *testing.T) {
	cfg := Config{Permissions: []string{PermContactView}}
	e := loadEnv(t, cfg, simpleContacts(1))
	for _, tc := range []struct{ method, path, perm string }{
		{"POST", "/api/v2/externalcontacts/contacts", PermContactAdd},
		{"PUT", "/api/v2/externalcontacts/contacts/c0000", PermContactEdit},
	} {
		r := e.do(tc.method, tc.path, cm.Contact{FirstName: "A"})
		if r.status != 403 || !strings.Contains(string(r.body), tc.perm) {
			t.Errorf("%s %s: %d %s, want 403 naming %s", tc.method, tc.path, r.status, r.body, tc.perm)
		}
	}
	if ops := e.sb.Oplog(); len(ops) != 0 {
		t.Fatalf("a forbidden write was applied: %+v", ops)
	}
}

func TestWriteFaults(t *testing.T) {
	t.Run("timeout504 applies the create", func(t *testing.T) {
		e := loadEnv(t, Config{Faults: Faults{FaultTimeout504: 1}, GatewayTimeout: 10 * time.Millisecond}, simpleContacts(1))
		r := e.do("POST", "/api/v2/externalcontacts/contacts", cm.Contact{FirstName: "A"})
		if r.status != 504 {
			t.Fatalf("got %d %s, want 504", r.status, r.body)
		}
		if ops := e.sb.Oplog(); len(ops) != 1 || ops[0].Op != "create" {
			t.Fatalf("oplog %+v, want the create applied", ops)
		}
	})
	t.Run("reset before or after", func(t *testing.T) {
		e := loadEnv(t, Config{Faults: Faults{FaultReset: 1}, Seed: 3}, simpleContacts(1))
		for range 8 {
			if _, err := e.send(e.token, "POST", "/api/v2/externalcontacts/contacts", cm.Contact{FirstName: "A"}); err == nil {
				t.Fatal("a reset request was answered")
			}
		}
		st := e.sb.Stats()
		if n := len(e.sb.Oplog()); n != st.Faults["reset.after"] || st.Faults["reset.before"] == 0 || n == 0 {
			t.Fatalf("%d creates applied, faults %v", n, st.Faults)
		}
	})
}
