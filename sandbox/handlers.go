package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
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

// handleToken serves POST /oauth/token (client credentials, Basic auth).
func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request) {
	type authError struct {
		Error            string `json:"error"`
		Description      string `json:"description"`
		ErrorDescription string `json:"error_description"`
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.cfg.ClientID || secret != s.cfg.ClientSecret {
		msg := "client authentication failed: unknown client id or wrong secret"
		if !ok {
			msg = "client authentication failed: use HTTP Basic authentication with the client id and secret"
		}
		s.writeJSON(w, http.StatusUnauthorized, authError{"invalid_client", msg, msg})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		msg := "grant_type must be client_credentials"
		s.writeJSON(w, http.StatusBadRequest, authError{"unsupported_grant_type", msg, msg})
		return
	}
	tok := randomToken()
	s.amu.Lock()
	s.tokens[tok] = &token{expires: s.now().Add(s.cfg.TokenTTL)}
	s.amu.Unlock()
	s.writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"token_type":   "bearer",
		"expires_in":   int(s.cfg.TokenTTL / time.Second),
	})
}

// handleTokensMe serves GET|HEAD /api/v2/tokens/me.
func (s *Sandbox) handleTokensMe(w http.ResponseWriter, r *http.Request) {
	// organization and homeOrganization are {id, name}, as TokenInfo
	// declares them (no selfUri).
	org := map[string]string{"id": s.orgID, "name": "Sandbox Organization"}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"organization":     org,
		"homeOrganization": org,
		"authorizedScope":  []string{},
		"OAuthClient": map[string]any{
			"id":                  s.cfg.ClientID,
			"name":                "contactmerge sandbox client",
			"authorizedGrantType": "CLIENT-CREDENTIALS",
			"state":               "active",
			"roleDivisions": []map[string]string{{
				"roleId":     "sandbox-role-contacts-admin",
				"divisionId": "*",
			}},
			"organization": map[string]string{"id": s.orgID},
		},
	})
}

// handleRevoke serves DELETE /api/v2/tokens/me.
func (s *Sandbox) handleRevoke(w http.ResponseWriter, r *http.Request) {
	s.amu.Lock()
	delete(s.tokens, info(r).token)
	s.amu.Unlock()
	w.WriteHeader(http.StatusNoContent)
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
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || !strings.HasPrefix(string(b), "c1:") {
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "The cursor is not valid.")
			return
		}
		after = string(b[3:])
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
		cur := base64.RawURLEncoding.EncodeToString([]byte("c1:" + page[len(page)-1].ID))
		out.Cursors = &cursors{After: cur}
		nq := url.Values{"limit": {strconv.Itoa(limit)}, "cursor": {cur}}
		if division != "" {
			nq.Set("divisionId", division)
		}
		out.NextURI = r.URL.Path + "?" + nq.Encode()
	}
	s.writeJSON(w, http.StatusOK, out)
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
	if len(req.Entities) > 100 {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", fmt.Sprintf("entities holds %d ids; at most 100 are allowed.", len(req.Entities)))
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

// handleMerge serves POST /contacts/merge.
func (s *Sandbox) handleMerge(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ContactIDs    []string        `json:"contactIds"`
		ValueOverride json.RawMessage `json:"valueOverride"`
	}
	if !s.readJSON(w, r, &req) {
		return
	}
	var override *cm.Contact
	if len(req.ValueOverride) > 0 && string(req.ValueOverride) != "null" {
		c, err := DecodeContact(req.ValueOverride)
		if err != nil {
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "valueOverride: "+err.Error())
			return
		}
		override = &c
	}
	s.doMerge(w, r, "merge", req.ContactIDs, override)
}

// handleMerge2 serves the deprecated POST /merge/contacts.
func (s *Sandbox) handleMerge2(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SourceContactID string `json:"sourceContactId"`
		TargetContactID string `json:"targetContactId"`
	}
	if !s.readJSON(w, r, &req) {
		return
	}
	if req.SourceContactID == "" || req.TargetContactID == "" {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "sourceContactId and targetContactId are both required.")
		return
	}
	s.doMerge(w, r, "merge2", []string{req.SourceContactID, req.TargetContactID}, nil)
}

// doMerge runs a merge with its latency, gateway timeout and faults. A reset
// drops the connection either before anything happens or after the merge
// was attempted (chosen at random, counted as reset.before / reset.after). A
// merge slower than GatewayTimeout, or one drawing timeout504, answers 504 at
// GatewayTimeout while the merge completes (timeout504 still answers a fast
// validation failure as such).
func (s *Sandbox) doMerge(w http.ResponseWriter, r *http.Request, op string, ids []string, override *cm.Contact) {
	ri := info(r)
	rec, _ := w.(*recorder)
	if ri.fault == FaultReset {
		s.amu.Lock()
		before := s.frand.IntN(2) == 0
		s.stats.Faults[FaultReset]++
		if before {
			s.stats.Faults["reset.before"]++
		} else {
			s.stats.Faults["reset.after"]++
		}
		s.amu.Unlock()
		if before && rec != nil {
			s.dropConn(rec)
			return
		}
	}
	s.mu.RLock()
	_, aerr := s.planLocked(ids, op == "merge2")
	s.mu.RUnlock()
	if aerr != nil {
		if ri.fault == FaultReset && rec != nil {
			s.dropConn(rec)
			return
		}
		s.writeAPIError(w, r, aerr)
		return
	}
	type result struct {
		c   cm.Contact
		err *apiError
	}
	latency := s.cfg.MergeLatency * time.Duration(len(ids))
	gw := s.cfg.GatewayTimeout
	start := time.Now()
	done := make(chan result, 1)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if latency > 0 {
			time.Sleep(latency)
		}
		c, err := s.applyMerge(op, slices.Clone(ids), override)
		done <- result{c, err}
	}()
	if ri.fault == FaultReset && rec != nil {
		<-done
		s.dropConn(rec)
		return
	}
	timeout := ri.fault == FaultTimeout504 || latency > gw
	if !timeout {
		select {
		case res := <-done:
			if res.err != nil {
				s.writeAPIError(w, r, res.err)
				return
			}
			s.writeJSON(w, http.StatusOK, wire(res.c))
		case <-r.Context().Done():
		}
		return
	}
	if ri.fault == FaultTimeout504 {
		s.countFault(FaultTimeout504)
	} else {
		s.countFault("slow504")
	}
	timer := time.NewTimer(gw - time.Since(start))
	defer timer.Stop()
	if ri.fault == FaultTimeout504 && latency <= gw {
		// The merge finishes before the gateway gives up; a fast failure is
		// answered as such, a success still gets the 504.
		select {
		case res := <-done:
			if res.err != nil {
				s.writeAPIError(w, r, res.err)
				return
			}
		case <-r.Context().Done():
			return
		}
	}
	select {
	case <-timer.C:
		s.writeError(w, r, http.StatusGatewayTimeout, "gateway.timeout", "The gateway timed out waiting for the upstream service.")
	case <-r.Context().Done():
	}
}

// conversationQuery is the supported subset of ConversationQuery.
type conversationQuery struct {
	Interval string `json:"interval"`
	Order    string `json:"order"`
	OrderBy  string `json:"orderBy"`
	Paging   *struct {
		PageSize   int `json:"pageSize"`
		PageNumber int `json:"pageNumber"`
	} `json:"paging"`
	ConversationFilters []queryFilter `json:"conversationFilters"`
	SegmentFilters      []queryFilter `json:"segmentFilters"`
}

type queryFilter struct {
	Type       string           `json:"type"`
	Predicates []queryPredicate `json:"predicates"`
	Clauses    []queryFilter    `json:"clauses"`
}

type queryPredicate struct {
	Type      string `json:"type"`
	Dimension string `json:"dimension"`
	Operator  string `json:"operator"`
	Value     string `json:"value"`
}

// eval evaluates f with pred deciding each predicate.
func (f queryFilter) eval(pred func(queryPredicate) (bool, error)) (bool, error) {
	or := strings.EqualFold(f.Type, "or")
	if !or && !strings.EqualFold(f.Type, "and") {
		return false, fmt.Errorf("filter type %q must be and or or", f.Type)
	}
	n := 0
	var res bool
	combine := func(v bool) {
		if n == 0 {
			res = v
		} else if or {
			res = res || v
		} else {
			res = res && v
		}
		n++
	}
	for _, p := range f.Predicates {
		v, err := pred(p)
		if err != nil {
			return false, err
		}
		combine(v)
	}
	for _, c := range f.Clauses {
		v, err := c.eval(pred)
		if err != nil {
			return false, err
		}
		combine(v)
	}
	return n == 0 || res, nil
}

// handleAnalytics serves POST /api/v2/analytics/conversations/details/query
// for the shape in GENESYS_API.md §6.
func (s *Sandbox) handleAnalytics(w http.ResponseWriter, r *http.Request) {
	var q conversationQuery
	if !s.readJSON(w, r, &q) {
		return
	}
	startS, endS, ok := strings.Cut(q.Interval, "/")
	from, err1 := time.Parse(time.RFC3339Nano, startS)
	to, err2 := time.Parse(time.RFC3339Nano, endS)
	if !ok || err1 != nil || err2 != nil || !to.After(from) {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "interval must be an ISO-8601 interval start/end, for example 2026-05-01T00:00:00Z/2026-05-15T00:00:00Z.")
		return
	}
	size, num := 25, 1
	if q.Paging != nil {
		if q.Paging.PageSize != 0 {
			size = q.Paging.PageSize
		}
		if q.Paging.PageNumber != 0 {
			num = q.Paging.PageNumber
		}
	}
	if size < 1 || size > 200 || num < 1 {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "paging.pageSize must be between 1 and 200 and paging.pageNumber at least 1.")
		return
	}
	dayFrom := from.UTC().Truncate(24 * time.Hour)
	dayTo := to.Add(-time.Nanosecond).UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	type participant struct {
		ExternalContactID string `json:"externalContactId"`
		Purpose           string `json:"purpose"`
	}
	type conversation struct {
		ConversationID    string        `json:"conversationId"`
		ConversationStart msTime        `json:"conversationStart"`
		ConversationEnd   *msTime       `json:"conversationEnd,omitempty"`
		Participants      []participant `json:"participants"`
	}
	var hits []conversation
	s.mu.RLock()
	now := s.now()
	var qerr error
	for _, a := range s.acts {
		if a.ConversationID == "" || a.Start.Before(dayFrom) || !a.Start.Before(dayTo) {
			continue
		}
		active := a.active(now)
		convPred := func(p queryPredicate) (bool, error) {
			if p.Dimension != "conversationEnd" {
				return false, fmt.Errorf("conversation filter dimension %q is not supported", p.Dimension)
			}
			switch p.Operator {
			case "notExists":
				return active, nil
			case "exists":
				return !active, nil
			}
			return false, fmt.Errorf("operator %q is not supported on conversationEnd", p.Operator)
		}
		segPred := func(p queryPredicate) (bool, error) {
			if p.Operator != "" && p.Operator != "matches" {
				return false, fmt.Errorf("operator %q is not supported on %s", p.Operator, p.Dimension)
			}
			switch p.Dimension {
			case "externalContactId":
				return a.ExternalContactID == p.Value, nil
			case "canonicalExternalContactId":
				c := s.resolveLocked(a.ExternalContactID)
				return c != nil && c.ID == p.Value, nil
			}
			return false, fmt.Errorf("segment filter dimension %q is not supported", p.Dimension)
		}
		keep := true
		for _, f := range q.ConversationFilters {
			v, err := f.eval(convPred)
			if err != nil {
				qerr = err
			}
			keep = keep && v
		}
		for _, f := range q.SegmentFilters {
			v, err := f.eval(segPred)
			if err != nil {
				qerr = err
			}
			keep = keep && v
		}
		if qerr != nil {
			break
		}
		if keep {
			cv := conversation{ConversationID: a.ConversationID, ConversationStart: msTime(a.Start),
				Participants: []participant{{ExternalContactID: a.ExternalContactID, Purpose: "customer"}}}
			if !active && !a.End.IsZero() {
				e := msTime(a.End)
				cv.ConversationEnd = &e
			}
			hits = append(hits, cv)
		}
	}
	s.mu.RUnlock()
	if qerr != nil {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", qerr.Error())
		return
	}
	slices.SortStableFunc(hits, func(a, b conversation) int {
		if q.Order == "desc" {
			return time.Time(b.ConversationStart).Compare(time.Time(a.ConversationStart))
		}
		return time.Time(a.ConversationStart).Compare(time.Time(b.ConversationStart))
	})
	out := map[string]any{"totalHits": len(hits)}
	lo := (num - 1) * size
	if lo < len(hits) {
		out["conversations"] = hits[lo:min(lo+size, len(hits))]
	}
	s.writeJSON(w, http.StatusOK, out)
}

// handleCases serves GET /api/v2/casemanagement/cases/externalcontacts/{id}.
func (s *Sandbox) handleCases(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if v := r.URL.Query().Get("pageSize"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 200 {
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "pageSize must be between 1 and 200.")
			return
		}
	}
	type caseRef struct {
		ID              string `json:"id"`
		Status          string `json:"status"`
		ExternalContact cm.Ref `json:"externalContact"`
		SelfURI         string `json:"selfUri"`
	}
	entities := []caseRef{}
	s.mu.RLock()
	for _, i := range s.actIdx[id] {
		a := s.acts[i]
		if a.CaseID != "" {
			entities = append(entities, caseRef{ID: a.CaseID, Status: a.Status, ExternalContact: ref(id), SelfURI: "/api/v2/casemanagement/cases/" + a.CaseID})
		}
	}
	s.mu.RUnlock()
	s.writeJSON(w, http.StatusOK, map[string]any{"entities": entities, "selfUri": r.URL.Path})
}

// handleTruth serves GET /sandbox/truth.
func (s *Sandbox) handleTruth(w http.ResponseWriter, _ *http.Request) {
	t := s.Truth()
	if t == nil {
		t = [][]string{}
	}
	s.writeJSON(w, http.StatusOK, t)
}

// handleOplog serves GET /sandbox/oplog.
func (s *Sandbox) handleOplog(w http.ResponseWriter, _ *http.Request) {
	ops := s.Oplog()
	if ops == nil {
		ops = []Op{}
	}
	s.writeJSON(w, http.StatusOK, ops)
}

// handleStats serves GET /sandbox/stats.
func (s *Sandbox) handleStats(w http.ResponseWriter, _ *http.Request) {
	s.writeJSON(w, http.StatusOK, s.Stats())
}
