package sandbox

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// MaxMergeIDs is the largest number of contact ids one merge request takes.
const MaxMergeIDs = 25

// MaxMergeSet is the largest merge set (canonical contact and all ancestors)
// a merge may produce.
const MaxMergeSet = 52

const contactPath = "/api/v2/externalcontacts/contacts/"

func ref(id string) cm.Ref { return cm.Ref{ID: id, SelfURI: contactPath + id} }

// withSelf returns c with its selfUri set.
func withSelf(c cm.Contact) cm.Contact {
	c.SelfURI = contactPath + c.ID
	return c
}

// resolveLocked returns the canonical record an id stands for: the record
// itself, or for an ancestor its canonical contact. nil when the id or its
// canonical contact does not exist (mu held).
func (s *Sandbox) resolveLocked(id string) *cm.Contact {
	c := s.byID[id]
	for range MaxMergeSet + 1 {
		if c == nil || !c.IsMerged() {
			return c
		}
		next := s.byID[c.CanonicalID()]
		if next == c {
			return c
		}
		c = next
	}
	return c
}

// setOf returns the ids of c's merge set (c alone when never merged).
func setOf(c *cm.Contact) []string {
	if len(c.MergeSet) == 0 {
		return []string{c.ID}
	}
	out := make([]string, len(c.MergeSet))
	for i, r := range c.MergeSet {
		out[i] = r.ID
	}
	return out
}

// listed reports whether scan and search show c: a canonical contact of a
// visible type.
func (s *Sandbox) listed(c *cm.Contact) bool {
	return !c.IsMerged() && s.visibleType(c)
}

// visibleType reports whether c's type is one scan and search list: every
// type with ShowAutoCreated, else all but Ephemeral and Identified (the
// platform lists neither, SCV).
func (s *Sandbox) visibleType(c *cm.Contact) bool {
	return s.cfg.ShowAutoCreated || (c.Type != cm.TypeEphemeral && c.Type != cm.TypeIdentified)
}

// scanPage returns up to limit listed contacts with ids after the cursor id,
// in id order, and whether more may follow.
func (s *Sandbox) scanPage(after string, limit int, division string) ([]cm.Contact, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, found := slices.BinarySearch(s.ids, after)
	if found {
		i++
	}
	page := make([]cm.Contact, 0, limit)
	for ; i < len(s.ids) && len(page) < limit; i++ {
		c := s.byID[s.ids[i]]
		if c == nil || !s.listed(c) {
			continue
		}
		if division != "" && division != "*" && c.DivisionID() != division {
			continue
		}
		page = append(page, *c)
	}
	// more: another listed contact may follow.
	more := false
	for j := i; j < len(s.ids); j++ {
		c := s.byID[s.ids[j]]
		if c != nil && s.listed(c) && (division == "" || division == "*" || c.DivisionID() == division) {
			more = true
			break
		}
	}
	return page, more
}

// activeLocked reports whether contact id has an active conversation or an
// open case at now (mu held).
func (s *Sandbox) activeLocked(id string, now time.Time) bool {
	for _, i := range s.actIdx[id] {
		if s.acts[i].active(now) {
			return true
		}
	}
	return false
}

func (a *Activity) active(now time.Time) bool {
	if a.CaseID != "" {
		switch a.Status {
		case "Closed", "Terminated", "Failed":
			return false
		}
		return true
	}
	return a.ConversationID != "" && (a.End.IsZero() || a.End.After(now))
}

func (s *Sandbox) addActivityLocked(a Activity) {
	s.acts = append(s.acts, a)
	s.actIdx[a.ExternalContactID] = append(s.actIdx[a.ExternalContactID], len(s.acts)-1)
}

// AddActivity records a conversation or a case of a contact (for tests and
// demos: a conversation without End is active, a case is open unless its
// status is Closed, Terminated or Failed).
func (s *Sandbox) AddActivity(a Activity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addActivityLocked(a)
}

// EndActivity ends every active conversation of the contact (End = now) and
// closes its open cases; it returns how many it changed.
func (s *Sandbox) EndActivity(contactID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	n := 0
	for _, i := range s.actIdx[contactID] {
		a := &s.acts[i]
		if !a.active(now) {
			continue
		}
		if a.CaseID != "" {
			a.Status = "Closed"
		} else {
			a.End = now
		}
		n++
	}
	return n
}

// ActiveContacts returns the sorted ids of contacts with an active
// conversation or an open case.
func (s *Sandbox) ActiveContacts() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := s.now()
	var out []string
	for id := range s.actIdx {
		if s.activeLocked(id, now) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// planLocked checks a merge of ids and returns the canonical records they
// resolve to (mu held, read only). A request that is malformed (not 2 to
// MaxMergeIDs ids, an empty or repeated id) is a 400; one that is
// well-formed but cannot be done (an unknown id, ids already in one merge
// set, a merge set over MaxMergeSet, two Curated contacts on the deprecated
// endpoint) is a 422 (see invalidMerge); an active member a 409
// (ConflictOnActivity).
func (s *Sandbox) planLocked(ids []string, deprecated bool) ([]*cm.Contact, *apiError) {
	if !deprecated && (len(ids) < 2 || len(ids) > MaxMergeIDs) {
		return nil, errBad("contactIds must hold between 2 and %d contact ids, got %d.", MaxMergeIDs, len(ids))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" {
			return nil, errBad("Contact ids must not be empty.")
		}
		if seen[id] {
			return nil, errBad("Contact id %s is listed more than once.", id)
		}
		seen[id] = true
	}
	canon := make([]*cm.Contact, 0, len(ids))
	byCanon := map[string]string{}
	setSize := 1
	for _, id := range ids {
		c := s.resolveLocked(id)
		if c == nil {
			return nil, s.invalidMerge(errNotFound(id), id)
		}
		if prev, dup := byCanon[c.ID]; dup {
			return nil, s.invalidMerge(errBad("Contacts %s and %s are already in the same merge set (canonical contact %s).", prev, id, c.ID), id)
		}
		byCanon[c.ID] = id
		canon = append(canon, c)
		setSize += len(setOf(c))
	}
	if setSize > MaxMergeSet {
		return nil, s.invalidMerge(newAPIError(http.StatusBadRequest, "merge.set.limit.exceeded",
			"The resulting merge set would hold {size} contacts, more than the limit of {limit}.",
			map[string]string{"size": strconv.Itoa(setSize), "limit": strconv.Itoa(MaxMergeSet)}), "")
	}
	if deprecated && len(canon) == 2 && canon[0].Type == cm.TypeCurated && canon[1].Type == cm.TypeCurated {
		return nil, s.invalidMerge(&apiError{status: http.StatusBadRequest, code: "bad.request", message: "Two curated contacts cannot be merged."}, "")
	}
	if s.cfg.ConflictOnActivity {
		now := s.now()
		for _, c := range canon {
			for _, id := range setOf(c) {
				if s.activeLocked(id, now) {
					return nil, &apiError{status: http.StatusConflict, code: "conflict",
						message: "The merge cannot be completed because a contact in the request has an active conversation or an open case."}
				}
			}
		}
	}
	return canon, nil
}

// invalidMerge is the answer to a well-formed merge that cannot be done
// because of what it names: e itself with LegacyMergeErrors, else a 422
// payload.or.params.invalid (the code both merge endpoints declare) whose
// errors[] holds e and whose entityId is the contact to blame, if one is.
func (s *Sandbox) invalidMerge(e *apiError, entityID string) *apiError {
	if s.cfg.LegacyMergeErrors {
		return e
	}
	out := newAPIError(http.StatusUnprocessableEntity, "payload.or.params.invalid",
		"The merge request is not valid: {reason}", map[string]string{"reason": e.message})
	out.entityID = entityID
	out.errs = []*apiError{e}
	return out
}

// applyMerge validates the merge again and applies it: a new canonical
// contact is created from the inputs and every record of the combined merge
// set points to it. It returns the new contact.
func (s *Sandbox) applyMerge(op string, ids []string, override *cm.Contact) (cm.Contact, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	canon, aerr := s.planLocked(ids, op == "merge2")
	if aerr != nil {
		return cm.Contact{}, aerr
	}
	now := s.now().UTC()
	res := combine(canon, override)
	var id string
	for {
		id = newUUID(s.idRand)
		if _, taken := s.byID[id]; !taken {
			break
		}
	}
	res.ID = id
	// The platform keeps record dates to the millisecond.
	res.CreateDate, res.ModifyDate = now.Truncate(time.Millisecond), now.Truncate(time.Millisecond)
	self := ref(id)
	res.CanonicalContact = &self
	var set []cm.Ref
	from := make([]cm.Ref, len(canon))
	resolved := make([]string, len(canon))
	for i, c := range canon {
		from[i] = ref(c.ID)
		resolved[i] = c.ID
		for _, mid := range setOf(c) {
			set = append(set, ref(mid))
		}
	}
	set = append(set, self)
	res.MergedFrom = from
	res.MergeSet = set
	res.MergedTo = nil
	res.MergeOperation = nil
	rc := &res
	// Every record of the set now points to the new canonical contact. The
	// records are replaced, never changed in place, so copies handed out
	// earlier stay consistent.
	for _, r := range set[:len(set)-1] {
		old := s.byID[r.ID]
		if old == nil {
			continue
		}
		nc := *old
		nc.CanonicalContact = &self
		nc.MergeSet = set
		s.byID[r.ID] = &nc
	}
	for _, c := range canon {
		nc := *s.byID[c.ID]
		nc.MergedTo = &self
		s.byID[c.ID] = &nc
	}
	s.canonical -= len(canon) - 1
	for _, c := range canon {
		if s.visibleType(c) {
			s.listedN--
		}
	}
	if s.visibleType(rc) {
		s.listedN++
	}
	s.byID[id] = rc
	i, _ := slices.BinarySearch(s.ids, id)
	s.ids = slices.Insert(s.ids, i, id)
	s.oplog = append(s.oplog, Op{Seq: int64(len(s.oplog) + 1), Op: op, Inputs: slices.Clone(ids), Resolved: resolved, Result: id, At: now})
	s.amu.Lock()
	s.stats.Merges++
	s.amu.Unlock()
	return withSelf(res), nil
}

// combine builds the merged record: the most recently modified input gives
// every field, distinct phones and emails of the other inputs move into free
// slots, then override's non-empty fields win.
func combine(canon []*cm.Contact, override *cm.Contact) cm.Contact {
	order := slices.Clone(canon)
	slices.SortStableFunc(order, func(a, b *cm.Contact) int { return b.ModifyDate.Compare(a.ModifyDate) })
	res := *order[0]
	res.SelfURI = ""
	types := 0
	for _, c := range order {
		if r := cm.TypeRank(c.Type); r > types {
			types = r
			res.Type = c.Type
		}
	}
	phones := res.Phones()
	seenP := map[string]bool{}
	for _, p := range phones {
		if p != nil {
			seenP[phoneKey(p)] = true
		}
	}
	emails := res.Emails()
	seenE := map[string]bool{}
	for _, e := range emails {
		if e != "" {
			seenE[strings.ToLower(e)] = true
		}
	}
	for _, c := range order[1:] {
		for _, p := range c.Phones() {
			if p == nil || seenP[phoneKey(p)] {
				continue
			}
			if k := slices.Index(phones[:], nil); k >= 0 {
				cp := *p
				phones[k] = &cp
				seenP[phoneKey(p)] = true
			}
		}
		for _, e := range c.Emails() {
			if e == "" || seenE[strings.ToLower(e)] {
				continue
			}
			if k := slices.Index(emails[:], ""); k >= 0 {
				emails[k] = e
				seenE[strings.ToLower(e)] = true
			}
		}
	}
	res.SetPhones(phones)
	res.SetEmails(emails)
	if override != nil {
		applyOverride(&res, override)
	}
	return res
}

func phoneKey(p *cm.PhoneNumber) string {
	if p.E164 != "" {
		return p.E164
	}
	var b strings.Builder
	for _, r := range p.Display {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// applyOverride sets o's non-empty fields on c (valueOverride semantics).
func applyOverride(c, o *cm.Contact) {
	setS := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	if o.Division != nil {
		d := *o.Division
		c.Division = &d
	}
	setS(&c.FirstName, o.FirstName)
	setS(&c.MiddleName, o.MiddleName)
	setS(&c.LastName, o.LastName)
	setS(&c.Salutation, o.Salutation)
	setS(&c.Title, o.Title)
	setP := func(dst **cm.PhoneNumber, v *cm.PhoneNumber) {
		if v != nil {
			p := *v
			normalizePhone(&p)
			*dst = &p
		}
	}
	setP(&c.WorkPhone, o.WorkPhone)
	setP(&c.CellPhone, o.CellPhone)
	setP(&c.HomePhone, o.HomePhone)
	setP(&c.OtherPhone, o.OtherPhone)
	setS(&c.WorkEmail, o.WorkEmail)
	setS(&c.PersonalEmail, o.PersonalEmail)
	setS(&c.OtherEmail, o.OtherEmail)
	if o.Address != nil {
		a := *o.Address
		c.Address = &a
	}
	setRaw := func(dst *[]byte, v []byte) {
		if len(v) > 0 && string(v) != "null" {
			*dst = slices.Clone(v)
		}
	}
	setRaw((*[]byte)(&c.TwitterID), o.TwitterID)
	setRaw((*[]byte)(&c.LineID), o.LineID)
	setRaw((*[]byte)(&c.WhatsAppID), o.WhatsAppID)
	setRaw((*[]byte)(&c.FacebookID), o.FacebookID)
	setRaw((*[]byte)(&c.InstagramID), o.InstagramID)
	setRaw((*[]byte)(&c.AppleOpaqueIDs), o.AppleOpaqueIDs)
	setRaw((*[]byte)(&c.ExternalOrganization), o.ExternalOrganization)
	if o.ExternalIDs != nil {
		c.ExternalIDs = slices.Clone(o.ExternalIDs)
	}
	if o.SurveyOptOut != nil {
		v := *o.SurveyOptOut
		c.SurveyOptOut = &v
	}
	setS(&c.ExternalSystemURL, o.ExternalSystemURL)
	if o.Schema != nil {
		sc := *o.Schema
		c.Schema = &sc
	}
	if o.CustomFields != nil {
		m := make(map[string]any, len(o.CustomFields))
		for k, v := range o.CustomFields {
			m[k] = v
		}
		c.CustomFields = m
	}
	setS(&c.Type, o.Type)
}

// deleteContact deletes the canonical contact id stands for.
func (s *Sandbox) deleteContact(id string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.resolveLocked(id)
	if c == nil {
		return errNotFound(id)
	}
	if s.listed(c) {
		s.listedN--
	}
	delete(s.byID, c.ID)
	if i, ok := slices.BinarySearch(s.ids, c.ID); ok {
		s.ids = slices.Delete(s.ids, i, i+1)
	}
	s.canonical--
	s.oplog = append(s.oplog, Op{Seq: int64(len(s.oplog) + 1), Op: "delete", Inputs: []string{id}, Resolved: []string{c.ID}, Result: c.ID, At: s.now().UTC()})
	return nil
}
