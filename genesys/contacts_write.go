package genesys

import (
	"context"
	"errors"
	"net/http"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Writes of single contacts (restore: `contactmerge restore`).
//
// Sources: PY SDK ExternalContactsApi.md — post_externalcontacts_contacts
// ("Create an external contact", POST /api/v2/externalcontacts/contacts,
// requires externalContacts:contact:add) and put_externalcontacts_contact
// ("Update an external contact", PUT
// /api/v2/externalcontacts/contacts/{contactId}, requires
// externalContacts:contact:edit); both take and return an ExternalContact.
// The ExternalContact model has no version field (GO SDK
// platformclientv2/externalcontact.go); custom fields need schema.id and
// schema.version (GENESYS_API.md §2). Whether the platform refuses a PUT
// built from an outdated read is UNCONFIRMED: callers send the modifyDate
// they read (the sandbox answers 409 when it is not the stored one) and
// re-read and rebuild the record after a 409.

// The capabilities of a restore.
const (
	// CapCreateContacts: POST /api/v2/externalcontacts/contacts.
	CapCreateContacts Capability = "create contacts"
	// CapEditContacts: PUT /api/v2/externalcontacts/contacts/{id}.
	CapEditContacts Capability = "edit contacts"
)

// The write permissions, as the PY SDK documentation lists them.
const (
	PermContactAdd  = "externalContacts:contact:add"
	PermContactEdit = "externalContacts:contact:edit"
)

// writable returns c without the fields the platform sets itself (id,
// dates, merge fields, self URI, read-only phone parts): what a create or
// an update sends.
func writable(c *cm.Contact) *cm.Contact {
	w := *c
	w.ID, w.SelfURI = "", ""
	w.CanonicalContact, w.MergeSet, w.MergedFrom, w.MergedTo, w.MergeOperation = nil, nil, nil, nil, nil
	w.CreateDate = time.Time{}
	w.ExternalDataSources, w.Identifiers = nil, nil
	phones := w.Phones()
	for i, p := range phones {
		if p != nil {
			cp := *p
			cp.E164, cp.CountryCode = "", ""
			if cp.UserInput == cp.Display {
				cp.UserInput = ""
			}
			phones[i] = &cp
		}
	}
	w.SetPhones(phones)
	return &w
}

// CreateContact creates a contact with POST /api/v2/externalcontacts/contacts
// and returns it (with its new id). The fields the platform sets (id, dates,
// merge fields) are not sent. A create is never retried after a 5xx, a
// timeout or a network error (it is not idempotent): check IsAmbiguous(err)
// and look the contact up by an identifier it carries before sending it
// again. A 403 is a *PermissionError of CapCreateContacts.
func (s *ContactsService) CreateContact(ctx context.Context, c *cm.Contact) (*cm.Contact, *Response, error) {
	if c == nil {
		return nil, nil, errors.New("genesys: nil contact to create")
	}
	body := writable(c)
	body.ModifyDate = time.Time{}
	out, resp, err := s.contact(ctx, http.MethodPost, "/api/v2/externalcontacts/contacts", body)
	return out, resp, AsPermissionError(CapCreateContacts, err)
}

// UpdateContact replaces contact id with c with PUT
// /api/v2/externalcontacts/contacts/{id} and returns the stored record. c's
// ModifyDate should be the one of the record c was built from (the
// sandbox refuses another with 409, see the file comment); the other fields
// the platform sets are not sent. An ancestor id updates its canonical
// contact (GENESYS_API.md §4). Not retried after a 5xx, a timeout or a
// network error: re-read the contact to learn whether it was applied. A
// 403 is a *PermissionError of CapEditContacts.
func (s *ContactsService) UpdateContact(ctx context.Context, id string, c *cm.Contact) (*cm.Contact, *Response, error) {
	if c == nil {
		return nil, nil, errors.New("genesys: nil contact to update")
	}
	p, err := contactPath(id, "")
	if err != nil {
		return nil, nil, err
	}
	body := writable(c)
	out, resp, err := s.contact(ctx, http.MethodPut, p, body)
	return out, resp, AsPermissionError(CapEditContacts, err)
}
