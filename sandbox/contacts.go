package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// maxBody is the platform's request.bytes.max.
const maxBody = 512000

// readJSON decodes the request body into v, answering 400 or 413 itself on
// failure.
func (s *Sandbox) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "The request body could not be read.")
		return false
	}
	if len(body) > maxBody {
		s.writeError(w, r, http.StatusRequestEntityTooLarge, "request.entity.too.large", fmt.Sprintf("The request body exceeds %d bytes.", maxBody))
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "The request body is not valid JSON for this operation: "+err.Error())
		return false
	}
	return true
}

type cursors struct {
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

type cursorListing struct {
	Entities []wireContact `json:"entities"`
	Cursors  *cursors      `json:"cursors,omitempty"`
	SelfURI  string        `json:"selfUri"`
	NextURI  string        `json:"nextUri,omitempty"`
}

// handleScan serves the cursor-paged scan endpoints.
func (s *Sandbox) handleScan(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 200 {
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "limit must be an integer between 10 and 200.")
			return
		}
		limit = n
	}
	after := ""
	now := s.now()
	if c := q.Get("cursor"); c != "" {
		id, issued, ok := decodeCursor(c)
		if !ok {
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "The cursor is not valid.")
			return
		}
		if ttl := s.cfg.CursorTTL; ttl > 0 && !now.Before(issued.Add(ttl)) {
			s.writeAPIError(w, r, errCursorExpired(ttl))
			return
		}
		after = id
	}
	division := ""
	if !strings.HasSuffix(r.URL.Path, "/divisionviews/all") {
		division = q.Get("divisionId")
	}
	page, more := s.scanPage(after, limit, division)
	for i := range page {
		page[i].SelfURI = contactPath + page[i].ID
	}
	self := r.URL.Path + "?" + q.Encode()
	out := cursorListing{Entities: wireAll(page), SelfURI: self}
	if more && len(page) > 0 {
		cur := encodeCursor(page[len(page)-1].ID, now)
		out.Cursors = &cursors{After: cur}
		nq := url.Values{"limit": {strconv.Itoa(limit)}, "cursor": {cur}}
		if division != "" {
			nq.Set("divisionId", division)
		}
		out.NextURI = r.URL.Path + "?" + nq.Encode()
	}
	s.writeJSON(w, http.StatusOK, out)
}

// encodeCursor returns the cursor of the page after id, issued at: opaque
// to clients, it carries both so that it can expire.
func encodeCursor(id string, at time.Time) string {
	return base64.RawURLEncoding.EncodeToString([]byte("c2:" + strconv.FormatInt(at.UnixMilli(), 10) + ":" + id))
}

// decodeCursor reads a cursor of encodeCursor.
func decodeCursor(c string) (id string, issued time.Time, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", time.Time{}, false
	}
	rest, ok := strings.CutPrefix(string(b), "c2:")
	ms, id, ok2 := strings.Cut(rest, ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || !ok2 || err != nil {
		return "", time.Time{}, false
	}
	return id, time.UnixMilli(n), true
}

// handleSearch serves GET /api/v2/externalcontacts/contacts (q, pageSize,
// pageNumber; at most the first 1,000 records are reachable).
func (s *Sandbox) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, num := 20, 1
	for _, p := range []struct {
		name string
		dst  *int
	}{{"pageSize", &size}, {"pageNumber", &num}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				s.writeError(w, r, http.StatusBadRequest, "bad.request", p.name+" must be a positive integer.")
				return
			}
			*p.dst = n
		}
	}
	if size*num > 1000 {
		s.writeError(w, r, http.StatusBadRequest, "bad.request",
			fmt.Sprintf("pageSize*pageNumber is %d; only the first 1000 records can be reached (use the scan endpoint).", size*num))
		return
	}
	var terms []string
	for t := range strings.FieldsSeq(strings.ToLower(q.Get("q"))) {
		terms = append(terms, t)
	}
	var page []cm.Contact
	total := 0
	lo, hi := (num-1)*size, num*size
	s.mu.RLock()
	for _, id := range s.ids {
		c := s.byID[id]
		if c == nil || !s.listed(c) || !searchMatch(c, terms) {
			continue
		}
		if total >= lo && total < hi {
			page = append(page, withSelf(*c))
		}
		total++
	}
	s.mu.RUnlock()
	if page == nil {
		page = []cm.Contact{}
	}
	pages := (total + size - 1) / size
	base := r.URL.Path + "?"
	uri := func(n int) string {
		v := url.Values{"pageSize": {strconv.Itoa(size)}, "pageNumber": {strconv.Itoa(n)}}
		if qs := q.Get("q"); qs != "" {
			v.Set("q", qs)
		}
		return base + v.Encode()
	}
	out := map[string]any{
		"entities": wireAll(page), "pageSize": size, "pageNumber": num, "total": total, "pageCount": pages,
		"selfUri": uri(num), "firstUri": uri(1), "lastUri": uri(max(pages, 1)),
	}
	if num < pages && (num+1)*size <= 1000 {
		out["nextUri"] = uri(num + 1)
	}
	if num > 1 {
		out["previousUri"] = uri(num - 1)
	}
	s.writeJSON(w, http.StatusOK, out)
}

// searchMatch reports whether every term occurs in one of c's searchable
// fields (case-insensitive).
func searchMatch(c *cm.Contact, terms []string) bool {
	for _, t := range terms {
		if !fieldHas(c, t) {
			return false
		}
	}
	return true
}

func fieldHas(c *cm.Contact, t string) bool {
	fs := []string{c.FirstName, c.LastName, c.MiddleName, c.WorkEmail, c.PersonalEmail, c.OtherEmail, c.Title}
	for _, p := range c.Phones() {
		if p != nil {
			fs = append(fs, p.Display, p.E164)
		}
	}
	if c.Address != nil {
		fs = append(fs, c.Address.City, c.Address.Address1, c.Address.PostalCode)
	}
	for _, f := range fs {
		if f != "" && strings.Contains(strings.ToLower(f), t) {
			return true
		}
	}
	return false
}

// handleGet serves GET /contacts/{id}: an ancestor id answers its canonical
// contact.
func (s *Sandbox) handleGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.RLock()
	c := s.resolveLocked(id)
	var out wireContact
	if c != nil {
		out = wire(withSelf(*c))
	}
	s.mu.RUnlock()
	if c == nil {
		s.writeAPIError(w, r, errNotFound(id))
		return
	}
	s.writeJSON(w, http.StatusOK, out)
}

// handleGetUnresolved serves GET /contacts/{id}/unresolved: the record itself.
func (s *Sandbox) handleGetUnresolved(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, ok := s.Contact(id)
	if !ok {
		s.writeAPIError(w, r, errNotFound(id))
		return
	}
	s.writeJSON(w, http.StatusOK, wire(c))
}

// handleDelete serves DELETE /contacts/{id}: an ancestor id deletes its
// canonical contact.
func (s *Sandbox) handleDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteContact(r.PathValue("id")); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{})
}

type bulkError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Status    int    `json:"status"`
	Retryable bool   `json:"retryable"`
}

type bulkResult struct {
	ID      string       `json:"id"`
	Success bool         `json:"success"`
	Entity  *wireContact `json:"entity,omitempty"`
	Error   *bulkError   `json:"error,omitempty"`
	Status  int          `json:"status"`
}

// handleBulk serves POST /bulk/contacts and /bulk/contacts/unresolved.
func (s *Sandbox) handleBulk(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Entities []struct {
			ID string `json:"id"`
		} `json:"entities"`
	}
	if !s.readJSON(w, r, &req) {
		return
	}
	if limit := s.cfg.MaxBulkIDs; limit > 0 && len(req.Entities) > limit {
		s.writeAPIError(w, r, errLimit("entities", len(req.Entities), limit))
		return
	}
	unresolved := strings.HasSuffix(r.URL.Path, "/unresolved")
	results := make([]bulkResult, len(req.Entities))
	errIdx := []int{}
	s.mu.RLock()
	for i, e := range req.Entities {
		var c *cm.Contact
		if unresolved {
			c = s.byID[e.ID]
		} else {
			c = s.resolveLocked(e.ID)
		}
		if c == nil {
			results[i] = bulkResult{ID: e.ID, Status: http.StatusNotFound,
				Error: &bulkError{Code: "not.found", Message: "The requested contact " + e.ID + " was not found.", Status: http.StatusNotFound}}
			errIdx = append(errIdx, i)
			continue
		}
		cp := wire(withSelf(*c))
		results[i] = bulkResult{ID: e.ID, Success: true, Entity: &cp, Status: http.StatusOK}
	}
	s.mu.RUnlock()
	s.writeJSON(w, http.StatusOK, map[string]any{"results": results, "errorCount": len(errIdx), "errorIndexes": errIdx})
}

// handleLookup serves POST /identifierlookup/contacts.
func (s *Sandbox) handleLookup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	if !s.readJSON(w, r, &req) {
		return
	}
	var match func(c *cm.Contact) bool
	val := strings.TrimSpace(req.Value)
	switch req.Type {
	case "Phone":
		if !strings.HasPrefix(val, "+") {
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "A Phone identifier value needs the + and the country code.")
			return
		}
		want := "+" + digits(val)
		match = func(c *cm.Contact) bool {
			for _, p := range c.Phones() {
				if p != nil && p.E164 == want {
					return true
				}
			}
			return false
		}
	case "Email":
		match = func(c *cm.Contact) bool {
			for _, e := range c.Emails() {
				if e != "" && strings.EqualFold(e, val) {
					return true
				}
			}
			return false
		}
	case "ExternalId":
		match = func(c *cm.Contact) bool {
			for _, x := range c.ExternalIDs {
				if x.Value == val {
					return true
				}
			}
			return false
		}
	case "SocialLine", "SocialFacebook", "SocialTwitter", "SocialWhatsapp", "SocialInstagram", "AppleOpaqueId", "Cookie":
		match = func(*cm.Contact) bool { return false }
	default:
		s.writeError(w, r, http.StatusBadRequest, "bad.request", fmt.Sprintf("Unknown identifier type %q.", req.Type))
		return
	}
	var found *wireContact
	s.mu.RLock()
	for _, id := range s.ids {
		if c := s.byID[id]; c != nil && !c.IsMerged() && match(c) {
			cp := wire(withSelf(*c))
			found = &cp
			break
		}
	}
	s.mu.RUnlock()
	if found == nil {
		s.writeError(w, r, http.StatusNotFound, "not.found", "No contact has this identifier.")
		return
	}
	s.writeJSON(w, http.StatusOK, found)
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
