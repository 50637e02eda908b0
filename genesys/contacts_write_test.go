package genesys_test

import (
	"errors"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestCreateAndUpdateContact(t *testing.T) {
	sb, c := newSandbox(t, 0, nil, nil)
	ctx := t.Context()
	in := cm.Contact{ID: "c-old", FirstName: "Ann", LastName: "Lee", PersonalEmail: "ann@example.com",
		CellPhone:  &cm.PhoneNumber{Display: "+1 704 298 4733", E164: "+17042984733", UserInput: "+1 704 298 4733"},
		MergedTo:   &cm.Ref{ID: "c-canon"},
		CreateDate: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	got, resp, err := c.Contacts.CreateContact(ctx, &in)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == "" || got.ID == "c-old" || got.MergedTo != nil || got.FirstName != "Ann" || got.CellPhone.E164 != "+17042984733" || resp.StatusCode != 200 {
		t.Fatalf("created %+v", got)
	}
	if in.ID != "c-old" || in.MergedTo == nil {
		t.Fatal("CreateContact changed its argument")
	}
	upd := *got
	upd.PersonalEmail = ""
	got2, _, err := c.Contacts.UpdateContact(ctx, got.ID, &upd)
	if err != nil {
		t.Fatal(err)
	}
	if got2.ID != got.ID || got2.PersonalEmail != "" || !got2.ModifyDate.After(got.ModifyDate) {
		t.Fatalf("updated %+v", got2)
	}
	// The version read before is outdated now: 409, ErrConflict.
	_, _, err = c.Contacts.UpdateContact(ctx, got.ID, &upd)
	if !errors.Is(err, genesys.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if s, _ := sb.Contact(got.ID); s.PersonalEmail != "" {
		t.Fatalf("stored %+v", s)
	}
}

func TestWriteForbidden(t *testing.T) {
	_, c := newSandbox(t, 0, func(cfg *sandbox.Config) { cfg.Permissions = []string{sandbox.PermContactView} }, nil)
	_, _, err := c.Contacts.CreateContact(t.Context(), &cm.Contact{FirstName: "A"})
	var pe *genesys.PermissionError
	if !errors.As(err, &pe) || pe.Capability != genesys.CapCreateContacts || pe.Permissions[0] != genesys.PermContactAdd {
		t.Fatalf("create: %v", err)
	}
	_, _, err = c.Contacts.UpdateContact(t.Context(), "c-ann-1", &cm.Contact{FirstName: "A"})
	if !errors.As(err, &pe) || pe.Capability != genesys.CapEditContacts || pe.Permissions[0] != genesys.PermContactEdit {
		t.Fatalf("update: %v", err)
	}
}

func TestCreateAmbiguous(t *testing.T) {
	sb, c := newSandbox(t, 0, func(cfg *sandbox.Config) {
		cfg.Faults = sandbox.Faults{sandbox.FaultTimeout504: 1}
		cfg.GatewayTimeout = 5 * time.Millisecond
	}, nil)
	_, _, err := c.Contacts.CreateContact(t.Context(), &cm.Contact{FirstName: "A"})
	if !genesys.IsAmbiguous(err) {
		t.Fatalf("create under timeout504: %v, want ambiguous", err)
	}
	creates := 0
	for _, op := range sb.Oplog() {
		if op.Op == "create" {
			creates++
		}
	}
	if creates != 1 {
		t.Fatalf("%d creates applied, want 1 (a create is never re-sent after a 504)", creates)
	}
}
