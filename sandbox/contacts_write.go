package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Contact create and update, with the platform's rules as the SDK
// documents them (PY SDK ExternalContactsApi.md: post_externalcontacts_contacts
// needs externalContacts:contact:add, put_externalcontacts_contact needs
// externalContacts:contact:edit; GENESYS_API.md §2 for the field rules):
//
//   - the body passes the field validation of DecodeContact (lengths, emails,
//     UTF-8); at most MaxExternalIDs external ids; custom fields need
//     schema.id and schema.version, and the version must be the one the
//     organization's contacts use for that schema;
//   - the fields the platform sets (id, dates, merge fields, e164) are
//     ignored in a body; a created contact is Curated (created through the
//     API, SCV);
//   - a PUT whose modifyDate is set and is not the stored record's is
//     refused with 409 (the record changed since it was read; the real
//     platform's check is UNCONFIRMED, see genesys/contacts_write.go); a PUT
//     on an ancestor id updates its canonical contact, a merged-away record
//     itself is read-only.
//
// Faults apply as to merges: reset drops the connection before or after
// the write (at random), timeout504 applies the write and answers 504.

// MaxExternalIDs is the most external ids one contact holds.
const MaxExternalIDs = 10

// The routes of the writes.
const (
	routeCreate = "POST /api/v2/externalcontacts/contacts"
	routeUpdate = "PUT /api/v2/externalcontacts/contacts/{id}"
)

// writeRoutes registers the create and update handlers on m, and their
// permissions beside those of RequiredPermissions.
func (s *Sandbox) writeRoutes(m *http.ServeMux) {
	m.HandleFunc(routeCreate, s.handleCreate)
	m.HandleFunc(routeUpdate, s.handleUpdate)
	s.perms[routeCreate] = []string{PermContactAdd}
	s.perms[routeUpdate] = []string{PermContactEdit}
}

// faultsAfter reports whether a route's faults may strike after the
// request took effect (merges and contact writes: reset after the write,
// timeout504); other routes' resets drop the request before it is served.
func faultsAfter(route string) bool {
	return isMergeRoute(route) || route == routeCreate || route == routeUpdate
}

// decodeWrite decodes and checks the body of a create or an update.
func (s *Sandbox) decodeWrite(w http.ResponseWriter, r *http.Request) (cm.Contact, bool) {
	var raw json.RawMessage
	if !s.readJSON(w, r, &raw) {
		return cm.Contact{}, false
	}
	c, err := DecodeContact(raw)
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "The contact is not valid: "+err.Error())
		return cm.Contact{}, false
	}
	if aerr := s.checkWrite(&c); aerr != nil {
		s.writeAPIError(w, r, aerr)
		return cm.Contact{}, false
	}
	return c, true
}

// checkWrite applies the rules a decoded body must also pass.
func (s *Sandbox) checkWrite(c *cm.Contact) *apiError {
	if len(c.ExternalIDs) > MaxExternalIDs {
		return errBad("externalIds holds %d entries; at most %d are allowed.", len(c.ExternalIDs), MaxExternalIDs)
	}
	for i, x := range c.ExternalIDs {
		if x.Value == "" {
			return errBad("externalIds[%d].value is required.", i)
		}
	}
	if len(c.CustomFields) == 0 {
		return nil
	}
	if c.Schema == nil || c.Schema.ID == "" || c.Schema.Version == 0 {
		return errBad("customFields need schema.id and schema.version.")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, id := range s.ids {
		if o := s.byID[id]; o != nil && o.Schema != nil && o.Schema.ID == c.Schema.ID {
			if o.Schema.Version != c.Schema.Version {
				return newAPIError(http.StatusBadRequest, "bad.request",
					"Schema {schemaId} is at version {version}, not {given}.",
					map[string]string{"schemaId": c.Schema.ID, "version": fmt.Sprint(o.Schema.Version), "given": fmt.Sprint(c.Schema.Version)})
			}
			break
		}
	}
	return nil
}

// handleCreate serves POST /contacts: a new Curated contact.
func (s *Sandbox) handleCreate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.decodeWrite(w, r)
	if !ok {
		return
	}
	s.faultyWrite(w, r, func() (cm.Contact, *apiError) { return s.createContact(c), nil })
}

// handleUpdate serves PUT /contacts/{id}.
func (s *Sandbox) handleUpdate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.decodeWrite(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	s.faultyWrite(w, r, func() (cm.Contact, *apiError) { return s.updateContact(id, c) })
}

// faultyWrite applies a write under the request's fault: a reset drops
// the connection before or after it, a timeout504 applies it and answers
// 504 after GatewayTimeout.
func (s *Sandbox) faultyWrite(w http.ResponseWriter, r *http.Request, apply func() (cm.Contact, *apiError)) {
	ri := info(r)
	rec, _ := w.(*recorder)
	if ri.fault == FaultReset && s.drawReset() && rec != nil {
		s.dropConn(rec)
		return
	}
	c, aerr := apply()
	if ri.fault == FaultReset && rec != nil {
		s.dropConn(rec)
		return
	}
	if aerr != nil {
		s.writeAPIError(w, r, aerr)
		return
	}
	if ri.fault == FaultTimeout504 {
		s.countFault(FaultTimeout504)
		timer := time.NewTimer(s.cfg.GatewayTimeout)
		defer timer.Stop()
		select {
		case <-timer.C:
			s.writeError(w, r, http.StatusGatewayTimeout, "gateway.timeout", "The gateway timed out waiting for the upstream service.")
		case <-r.Context().Done():
		}
		return
	}
	s.writeJSON(w, http.StatusOK, wire(c))
}

// stripSet clears what the platform sets on a written record.
func stripSet(c *cm.Contact) {
	c.ID, c.SelfURI = "", ""
	c.CanonicalContact, c.MergeSet, c.MergedFrom, c.MergedTo, c.MergeOperation = nil, nil, nil, nil, nil
	c.ExternalDataSources = nil
	c.CreateDate, c.ModifyDate = time.Time{}, time.Time{}
}

// createContact stores c as a new contact and returns it.
func (s *Sandbox) createContact(c cm.Contact) cm.Contact {
	stripSet(&c)
	c.Type = cm.TypeCurated
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Millisecond)
	var id string
	for {
		id = newUUID(s.idRand)
		if _, taken := s.byID[id]; !taken {
			break
		}
	}
	c.ID, c.CreateDate, c.ModifyDate = id, now, now
	s.byID[id] = &c
	i, _ := slices.BinarySearch(s.ids, id)
	s.ids = slices.Insert(s.ids, i, id)
	s.canonical++
	if s.listed(&c) {
		s.listedN++
	}
	s.oplog = append(s.oplog, Op{Seq: int64(len(s.oplog) + 1), Op: "create", Result: id, At: now})
	return withSelf(c)
}

// updateContact replaces the writable fields of the canonical contact id
// stands for with c's, checking c's modifyDate (when set) against the
// stored one.
func (s *Sandbox) updateContact(id string, c cm.Contact) (cm.Contact, *apiError) {
	version := c.ModifyDate
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.resolveLocked(id)
	if old == nil {
		return cm.Contact{}, errNotFound(id)
	}
	if !version.IsZero() && !version.Equal(old.ModifyDate) {
		e := newAPIError(http.StatusConflict, "conflict",
			"The contact {contactId} was modified at {modified}, after the version {version} this update was built from. Read it again and retry.",
			map[string]string{"contactId": old.ID, "modified": old.ModifyDate.UTC().Format(TimeLayout), "version": version.UTC().Format(TimeLayout)})
		e.entityID = old.ID
		return cm.Contact{}, e
	}
	stripSet(&c)
	nc := c
	nc.ID, nc.CreateDate, nc.Type = old.ID, old.CreateDate, old.Type
	nc.CanonicalContact, nc.MergeSet, nc.MergedFrom, nc.MergeOperation = old.CanonicalContact, old.MergeSet, old.MergedFrom, old.MergeOperation
	now := s.now().UTC().Truncate(time.Millisecond)
	if !now.After(old.ModifyDate) {
		now = old.ModifyDate.Add(time.Millisecond) // every update is a new version
	}
	nc.ModifyDate = now
	s.byID[old.ID] = &nc
	s.oplog = append(s.oplog, Op{Seq: int64(len(s.oplog) + 1), Op: "update", Inputs: []string{id}, Resolved: []string{old.ID}, Result: old.ID, At: now})
	return withSelf(nc), nil
}
