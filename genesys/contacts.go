package genesys

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// Limits of the External Contacts API.
const (
	// BulkMax is the number of ids sent per bulk request until the platform
	// refuses that many (the figure is unconfirmed; see BulkGet).
	BulkMax = 100
	// MergeMin and MergeMax bound the contactIds of one merge request.
	MergeMin, MergeMax = 2, 25
	// ScanLimitMin, ScanLimitMax and ScanLimitDefault bound the scan page size.
	ScanLimitMin, ScanLimitMax, ScanLimitDefault = 10, 200, 200
)

// ContactsService is the External Contacts API
// (/api/v2/externalcontacts).
type ContactsService service

// ScanOptions are the query parameters of the scan endpoint.
type ScanOptions struct {
	// Limit is the page size, 10..200. Default 200.
	Limit int
	// Cursor resumes a scan: the Cursors.After of the last stored page.
	// Empty for the first page.
	Cursor string
	// DivisionID restricts the scan to one division. Default all ("*").
	DivisionID string
}

// Cursors are the before/after cursors of a scan page.
type Cursors struct {
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// ScanPage is a CursorContactListing: one page of the scan.
type ScanPage struct {
	Entities    []cm.Contact `json:"entities"`
	Cursors     Cursors      `json:"cursors"`
	NextURI     string       `json:"nextUri,omitempty"`
	SelfURI     string       `json:"selfUri,omitempty"`
	PreviousURI string       `json:"previousUri,omitempty"`
	// Cursor is the cursor this page was requested with ("" for the first
	// page); it is not part of the JSON.
	Cursor string `json:"-"`
}

// After returns the cursor of the next page, "" when there is none.
func (p *ScanPage) After() string {
	if p == nil {
		return ""
	}
	return p.Cursors.After
}

// Scan fetches one page of GET /api/v2/externalcontacts/scan/contacts.
func (s *ContactsService) Scan(ctx context.Context, opts *ScanOptions) (*ScanPage, *Response, error) {
	var o ScanOptions
	if opts != nil {
		o = *opts
	}
	if o.Limit == 0 {
		o.Limit = ScanLimitDefault
	}
	if o.Limit < ScanLimitMin || o.Limit > ScanLimitMax {
		return nil, nil, fmt.Errorf("genesys: scan limit %d out of range %d..%d", o.Limit, ScanLimitMin, ScanLimitMax)
	}
	q := url.Values{}
	q.Set("limit", strconv.Itoa(o.Limit))
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	if o.DivisionID != "" {
		q.Set("divisionId", o.DivisionID)
	}
	req, err := s.client.NewRequest(ctx, http.MethodGet, "/api/v2/externalcontacts/scan/contacts?"+q.Encode(), nil)
	if err != nil {
		return nil, nil, err
	}
	page := new(ScanPage)
	resp, err := s.client.doScan(req, page)
	if err != nil {
		if o.Cursor != "" && cursorRefused(err) {
			err = fmt.Errorf("%w: %w", ErrCursorExpired, err)
		}
		return nil, resp, err
	}
	page.Cursor = o.Cursor
	return page, resp, nil
}

// ErrCursorExpired is wrapped (with the *APIError) by the error of a scan
// page requested with a cursor the platform no longer accepts: scan cursors
// live 24 hours after the page that returned them (PY SDK
// ExternalContactsApi.md, get_externalcontacts_scan_contacts), so a scan
// resumed later must start again without a cursor.
var ErrCursorExpired = errors.New("genesys: scan cursor expired")

// cursorRefused reports whether err refuses the cursor of a scan request: a
// 400, 404 or 410 whose code or message speaks of the cursor. The
// platform's answer to an expired cursor is unconfirmed (the sandbox
// answers 400 bad.request "The cursor has expired: …"); reading such an
// answer as expired costs only a restarted scan.
func cursorRefused(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusGone:
	default:
		return false
	}
	text := strings.ToLower(ae.Code + " " + ae.Message + " " + ae.MessageWithParams)
	for k := range ae.MessageParams {
		text += " " + strings.ToLower(k)
	}
	return strings.Contains(text, "cursor")
}

// ErrScanCursorRepeated is wrapped by the error ScanAll yields when the
// platform hands out a cursor it already handed out in the same scan (a
// cursor loop), instead of following it forever.
var ErrScanCursorRepeated = errors.New("genesys: scan cursor repeated")

// ScanAll iterates over scan pages, starting at opts.Cursor and following
// cursors.after until a page is empty or has no after cursor. Each page
// carries the cursor it was fetched with (Cursor) and the one to resume from
// once it is stored (After()). A page whose after cursor was already followed
// in this scan (the start cursor included) ends the iteration with an error
// wrapping ErrScanCursorRepeated that names the cursor and the page, after
// that page has been yielded. An error ends the iteration after being
// yielded; a resumed scan whose start cursor has expired yields an error
// wrapping ErrCursorExpired first.
func (s *ContactsService) ScanAll(ctx context.Context, opts *ScanOptions) iter.Seq2[*ScanPage, error] {
	return func(yield func(*ScanPage, error) bool) {
		var o ScanOptions
		if opts != nil {
			o = *opts
		}
		guard := newCursorGuard(o.Cursor)
		for {
			page, _, err := s.Scan(ctx, &o)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(page.Entities) == 0 {
				return
			}
			if !yield(page, nil) {
				return
			}
			next := page.After()
			if next == "" {
				return
			}
			if err := guard.follow(next); err != nil {
				yield(nil, err)
				return
			}
			o.Cursor = next
		}
	}
}

// cursorGuard remembers the cursors of one scan.
type cursorGuard struct {
	seen  map[string]bool
	pages int
}

func newCursorGuard(start string) *cursorGuard {
	g := &cursorGuard{seen: map[string]bool{}}
	if start != "" {
		g.seen[start] = true
	}
	return g
}

// follow records that the page just read named next as its after cursor,
// and refuses a cursor already followed.
func (g *cursorGuard) follow(next string) error {
	g.pages++
	if g.seen[next] {
		return fmt.Errorf("%w: page %d of this scan returned after cursor %q, already followed", ErrScanCursorRepeated, g.pages, next)
	}
	g.seen[next] = true
	return nil
}

func contactPath(id, suffix string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", errors.New("genesys: empty contact id")
	}
	return "/api/v2/externalcontacts/contacts/" + url.PathEscape(id) + suffix, nil
}

// Get fetches GET /api/v2/externalcontacts/contacts/{id}. The platform
// resolves a merged-away id to its canonical contact, so the returned id may
// differ from id. A missing contact is an *APIError matching ErrNotFound.
func (s *ContactsService) Get(ctx context.Context, id string) (*cm.Contact, *Response, error) {
	return s.getContact(ctx, id, "")
}

// GetUnresolved fetches GET /api/v2/externalcontacts/contacts/{id}/unresolved:
// the record itself, even when it was merged away (then MergedTo is set).
func (s *ContactsService) GetUnresolved(ctx context.Context, id string) (*cm.Contact, *Response, error) {
	return s.getContact(ctx, id, "/unresolved")
}

func (s *ContactsService) getContact(ctx context.Context, id, suffix string) (*cm.Contact, *Response, error) {
	p, err := contactPath(id, suffix)
	if err != nil {
		return nil, nil, err
	}
	return s.contact(ctx, http.MethodGet, p, nil)
}

// BulkError is the error of one failed bulk result.
type BulkError struct {
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	Status    int    `json:"status,omitempty"`
	Retryable bool   `json:"retryable,omitempty"`
}

// Error implements error.
func (e *BulkError) Error() string {
	return fmt.Sprintf("genesys: bulk result %d %s: %s", e.Status, e.Code, e.Message)
}

// BulkResult is the outcome for one requested id of a bulk read. ID is the
// requested id; Entity.ID may differ (a merged-away id resolves to its
// canonical contact on the resolved endpoint). When the platform returned
// no result for an id, Success is false and Error.Code is
// "genesys.result.missing".
type BulkResult struct {
	ID      string      `json:"id"`
	Success bool        `json:"success"`
	Status  int         `json:"status,omitempty"`
	Entity  *cm.Contact `json:"entity,omitempty"`
	Error   *BulkError  `json:"error,omitempty"`
}

type bulkIDs struct {
	Entities []bulkID `json:"entities"`
}

type bulkID struct {
	ID string `json:"id"`
}

type bulkResponse struct {
	Results      []BulkResult `json:"results"`
	ErrorCount   int          `json:"errorCount"`
	ErrorIndexes []int        `json:"errorIndexes"`
}

// BulkGet reads contacts with POST /api/v2/externalcontacts/bulk/contacts,
// BulkMax ids per request. No official source states the platform's
// maximum: when it refuses a batch as too large (a 413, or a 400 naming the
// entities or their count), the batch is halved and sent again, and the
// size that worked is kept for every later bulk read of the client (and
// logged once). It returns one result per distinct id, in the order of ids
// (results are matched by id, not by position). On an error, the results of
// the batches already read are returned with it, along with the response of
// the last request.
func (s *ContactsService) BulkGet(ctx context.Context, ids []string) ([]BulkResult, *Response, error) {
	return s.bulk(ctx, "/api/v2/externalcontacts/bulk/contacts", ids)
}

// BulkGetUnresolved is BulkGet on POST
// /api/v2/externalcontacts/bulk/contacts/unresolved: the records themselves,
// merged-away ones included.
func (s *ContactsService) BulkGetUnresolved(ctx context.Context, ids []string) ([]BulkResult, *Response, error) {
	return s.bulk(ctx, "/api/v2/externalcontacts/bulk/contacts/unresolved", ids)
}

func (s *ContactsService) bulk(ctx context.Context, path string, ids []string) ([]BulkResult, *Response, error) {
	uniq := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			return nil, nil, errors.New("genesys: empty contact id in bulk request")
		}
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	out := make([]BulkResult, 0, len(uniq))
	var last *Response
	limit := s.client.bulkIDs
	size, shrunk := limit.get(), false
	for start := 0; start < len(uniq); {
		size = min(size, limit.get())
		batch := uniq[start:min(start+size, len(uniq))]
		body := bulkIDs{Entities: make([]bulkID, len(batch))}
		for i, id := range batch {
			body.Entities[i].ID = id
		}
		req, err := s.client.NewRequest(ctx, http.MethodPost, path, body)
		if err != nil {
			return out, last, err
		}
		var br bulkResponse
		resp, err := s.client.Do(req, &br)
		last = resp
		if err != nil {
			if len(batch) > 1 && batchRefused(err, "entities", len(batch)) {
				size, shrunk = halve(len(batch)), true
				continue
			}
			return out, last, err
		}
		if shrunk {
			limit.learn(ctx, len(batch))
			shrunk = false
		}
		out = append(out, matchBulk(batch, br.Results)...)
		start += len(batch)
	}
	return out, last, nil
}

// BulkSize returns the number of ids the client now sends per bulk read:
// BulkMax, or less once the platform refused that many (see BulkGet).
func (s *ContactsService) BulkSize() int { return s.client.bulkIDs.get() }

// matchBulk pairs results with requested ids: by the result's id, then by
// the entity's id, then by membership of a requested id in the entity's
// merge set (a resolved ancestor), and finally, for results naming no id,
// in order.
func matchBulk(ids []string, results []BulkResult) []BulkResult {
	byID := make(map[string]int, len(ids))
	for i, id := range ids {
		byID[id] = i
	}
	out := make([]BulkResult, len(ids))
	got := make([]bool, len(ids))
	var rest []BulkResult
	take := func(i int, r BulkResult) {
		r.ID = ids[i]
		out[i], got[i] = r, true
	}
	for _, r := range results {
		if i, ok := byID[r.ID]; ok && r.ID != "" && !got[i] {
			take(i, r)
			continue
		}
		rest = append(rest, r)
	}
	var unnamed []BulkResult
	for _, r := range rest {
		matched := false
		if r.Entity != nil {
			if i, ok := byID[r.Entity.ID]; ok && !got[i] {
				take(i, r)
				matched = true
			} else {
				for _, m := range r.Entity.MergeSet {
					if i, ok := byID[m.ID]; ok && !got[i] {
						take(i, r)
						matched = true
						break
					}
				}
			}
		}
		if !matched && r.ID == "" {
			unnamed = append(unnamed, r)
		}
	}
	for i := range out {
		if got[i] {
			continue
		}
		if len(unnamed) > 0 {
			take(i, unnamed[0])
			unnamed = unnamed[1:]
			continue
		}
		out[i] = BulkResult{ID: ids[i], Error: &BulkError{Code: "genesys.result.missing", Message: "the bulk response has no result for this id"}}
	}
	return out
}

// LookupIdentifier finds the contact owning an identifier with POST
// /api/v2/externalcontacts/identifierlookup/contacts. typ is a
// ContactIdentifier type ("Email", "Phone", "Cookie", "ExternalId",
// "SocialTwitter", …); phone values need a leading + and country code. No
// match is an *APIError matching ErrNotFound.
func (s *ContactsService) LookupIdentifier(ctx context.Context, typ, value string) (*cm.Contact, *Response, error) {
	if typ == "" || value == "" {
		return nil, nil, errors.New("genesys: identifier type and value are required")
	}
	body := struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}{typ, value}
	return s.contact(ctx, http.MethodPost, "/api/v2/externalcontacts/identifierlookup/contacts", body)
}

// MergeRequest is the body of POST /api/v2/externalcontacts/contacts/merge.
type MergeRequest struct {
	// ContactIDs are the 2..25 contacts to merge.
	ContactIDs []string `json:"contactIds"`
	// ValueOverride's non-null fields are set on the merged contact.
	ValueOverride *cm.Contact `json:"valueOverride,omitempty"`
}

func (m *MergeRequest) validate() error {
	if m == nil {
		return errors.New("genesys: nil merge request")
	}
	if n := len(m.ContactIDs); n < MergeMin || n > MergeMax {
		return fmt.Errorf("genesys: a merge takes %d..%d contact ids, got %d", MergeMin, MergeMax, n)
	}
	seen := make(map[string]bool, len(m.ContactIDs))
	for _, id := range m.ContactIDs {
		if strings.TrimSpace(id) == "" {
			return errors.New("genesys: empty contact id in merge request")
		}
		if seen[id] {
			return fmt.Errorf("genesys: contact id %s appears twice in merge request", id)
		}
		seen[id] = true
	}
	return nil
}

// Merge merges 2..25 contacts into a new canonical contact with POST
// /api/v2/externalcontacts/contacts/merge and returns it. The request is
// validated locally first. A merge is never retried after a 5xx, a timeout
// or a network error: check IsAmbiguous(err) and verify the outcome with the
// unresolved reads before sending it again. A 429 is retried (the platform
// did not process it).
func (s *ContactsService) Merge(ctx context.Context, mr *MergeRequest) (*cm.Contact, *Response, error) {
	if err := mr.validate(); err != nil {
		return nil, nil, err
	}
	return s.contact(ctx, http.MethodPost, "/api/v2/externalcontacts/contacts/merge", mr)
}

// contact sends one request whose response is an ExternalContact.
func (s *ContactsService) contact(ctx context.Context, method, path string, body any) (*cm.Contact, *Response, error) {
	req, err := s.client.NewRequest(ctx, method, path, body)
	if err != nil {
		return nil, nil, err
	}
	c := new(cm.Contact)
	resp, err := s.client.Do(req, c)
	if err != nil {
		return nil, resp, err
	}
	return c, resp, nil
}
