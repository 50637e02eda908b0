package match

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

func day(n int) time.Time { return time.Date(2025, 1, n, 0, 0, 0, 0, time.UTC) }

func TestSurvivorOrder(t *testing.T) {
	pol := DefaultConfig().Survivor
	eph := cm.Contact{ID: "a", Type: cm.TypeEphemeral, CreateDate: day(1)}
	ident := cm.Contact{ID: "b", Type: cm.TypeIdentified, FirstName: "A", LastName: "B", WorkEmail: "x@y.z", CreateDate: day(2)}
	cur := cm.Contact{ID: "c", Type: cm.TypeCurated, FirstName: "A", CreateDate: day(3)}
	if id, _, _ := Survive([]cm.Contact{eph, ident, cur}, pol); id != "c" {
		t.Errorf("type order: survivor %s, want c (curated)", id)
	}
	// Same type: most complete wins, then oldest.
	cur2 := cm.Contact{ID: "d", Type: cm.TypeCurated, FirstName: "A", LastName: "B", CreateDate: day(5)}
	if id, _, _ := Survive([]cm.Contact{cur, cur2}, pol); id != "d" {
		t.Errorf("completeness: survivor %s, want d", id)
	}
	cur3 := cm.Contact{ID: "e", Type: cm.TypeCurated, FirstName: "A", LastName: "B", CreateDate: day(4)}
	if id, _, _ := Survive([]cm.Contact{cur2, cur3}, pol); id != "e" {
		t.Errorf("oldest: survivor %s, want e", id)
	}
	pol.Order = []string{"newest"}
	cur2.ModifyDate, cur3.ModifyDate = day(9), day(8)
	if id, _, _ := Survive([]cm.Contact{cur2, cur3}, pol); id != "d" {
		t.Errorf("newest policy: survivor %s, want d", id)
	}
}

func TestSurviveMergedRecord(t *testing.T) {
	pol := DefaultConfig().Survivor
	yes := true
	surv := cm.Contact{
		ID: "s", Type: cm.TypeCurated, FirstName: "Robert", LastName: "Smith", CreateDate: day(1), ModifyDate: day(2),
		Division:  &cm.Ref{ID: "d1"},
		WorkEmail: "bob@work.com", CellPhone: &cm.PhoneNumber{Display: "312-555-0100", E164: "+13125550100", CountryCode: "US", UserInput: "312-555-0100", AcceptsSMS: &yes},
		MergedFrom:   []cm.Ref{{ID: "old"}},
		CustomFields: map[string]any{"tier": "gold"},
		Schema:       &cm.Schema{ID: "sch", Version: 3, JSONSchema: json.RawMessage(`{}`)},
	}
	newer := cm.Contact{
		ID: "n", Type: cm.TypeIdentified, FirstName: "Bob", MiddleName: "J", CreateDate: day(3), ModifyDate: day(20),
		WorkEmail:     "BOB@work.com", // same as the survivor's, other case
		PersonalEmail: "bob@home.com",
		OtherEmail:    "rs@other.com",
		CellPhone:     &cm.PhoneNumber{Display: "+1 312 555 0199", E164: "+13125550199"},
		Address:       &cm.Address{Address1: "1 Main St", City: "Springfield"},
		CustomFields:  map[string]any{"tier": "silver", "dob": "1980-01-01"},
	}
	older := cm.Contact{
		ID: "o", Type: cm.TypeIdentified, CreateDate: day(2), ModifyDate: day(10),
		WorkEmail:  "robert@corp.com", // no slot left: unkept
		HomePhone:  &cm.PhoneNumber{Display: "(312) 555-0177", E164: "+13125550177"},
		WorkPhone:  &cm.PhoneNumber{Display: "312 555 0166", E164: "+13125550166"},
		OtherPhone: &cm.PhoneNumber{Display: "312 555 0155", E164: "+13125550155"},
		Address:    &cm.Address{Address1: "9 Elm St", City: "Shelbyville"},
	}
	id, m, unkept := Survive([]cm.Contact{older, newer, surv}, pol)
	if id != "s" {
		t.Fatalf("survivor %s", id)
	}
	if m.ID != "" || m.Division != nil || m.MergedFrom != nil || !m.CreateDate.IsZero() {
		t.Errorf("merged record has id or read-only fields: %+v", m)
	}
	if m.Type != cm.TypeCurated {
		t.Errorf("merged type %q, want the survivor's Curated", m.Type)
	}
	if m.FirstName != "Robert" || m.MiddleName != "J" || m.LastName != "Smith" {
		t.Errorf("names %q %q %q", m.FirstName, m.MiddleName, m.LastName)
	}
	if m.Address == nil || m.Address.Address1 != "1 Main St" {
		t.Errorf("address should come whole from the newest member: %+v", m.Address)
	}
	if got := m.Emails(); got != [3]string{"bob@work.com", "bob@home.com", "rs@other.com"} {
		t.Errorf("emails %q", got)
	}
	wantUnkept := []cm.UnkeptValue{{ContactID: "o", Field: "workEmail", Value: "robert@corp.com"}}
	// Phones: four distinct numbers are kept in priority order (the
	// survivor's cell, newer's cell, older's work and home); older's other
	// is the fifth (no slot left). Each keeps its own slot where it is free;
	// newer's cell finds the cell slot taken and goes to otherPhone.
	ph := m.Phones()
	var got []string
	for _, p := range ph {
		if p == nil {
			got = append(got, "")
			continue
		}
		if p.E164 != "" || p.CountryCode != "" || p.UserInput != "" {
			t.Errorf("phone has read-only fields: %+v", p)
		}
		got = append(got, p.Display)
	}
	if !slices.Equal(got, []string{"+1 312-555-0166", "+1 312-555-0100", "+1 312-555-0177", "+1 312-555-0199"}) {
		t.Errorf("phones %q", got)
	}
	if m.CellPhone.AcceptsSMS == nil || !*m.CellPhone.AcceptsSMS {
		t.Error("acceptsSMS lost")
	}
	wantUnkept = append(wantUnkept, cm.UnkeptValue{ContactID: "o", Field: "otherPhone", Value: "+13125550155"})
	if !slices.Equal(unkept, wantUnkept) {
		t.Errorf("unkept %+v, want %+v", unkept, wantUnkept)
	}
	if m.CustomFields["tier"] != "gold" || m.CustomFields["dob"] != "1980-01-01" {
		t.Errorf("custom fields %v", m.CustomFields)
	}
	if m.Schema == nil || m.Schema.ID != "sch" || m.Schema.Version != 3 || m.Schema.JSONSchema != nil {
		t.Errorf("schema %+v", m.Schema)
	}
}

func TestSurviveNoPacking(t *testing.T) {
	pol := DefaultConfig().Survivor
	pol.PackContacts = false
	a := cm.Contact{ID: "a", Type: cm.TypeCurated, WorkEmail: "a@x.com"}
	b := cm.Contact{ID: "b", WorkEmail: "b@x.com", PersonalEmail: "b@home.com"}
	_, m, unkept := Survive([]cm.Contact{a, b}, pol)
	if m.WorkEmail != "a@x.com" || m.PersonalEmail != "b@home.com" || m.OtherEmail != "" {
		t.Errorf("emails %q", m.Emails())
	}
	if len(unkept) != 1 || unkept[0].Value != "b@x.com" {
		t.Errorf("unkept %+v", unkept)
	}
}
