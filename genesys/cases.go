package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CasesService is the Case Management API (preview), used to find the cases
// of an external contact.
type CasesService service

// Case statuses that count as finished.
const (
	CaseStatusClosed     = "Closed"
	CaseStatusTerminated = "Terminated"
	CaseStatusFailed     = "Failed"
)

// Case is a Case Management case (the fields contactmerge reads).
type Case struct {
	ID              string  `json:"id"`
	Name            string  `json:"name,omitempty"`
	Reference       string  `json:"reference,omitempty"`
	Status          string  `json:"status,omitempty"`
	Priority        string  `json:"priority,omitempty"`
	Summary         string  `json:"summary,omitempty"`
	Division        *Entity `json:"division,omitempty"`
	Version         int     `json:"version,omitempty"`
	ExternalContact *Entity `json:"externalContact,omitempty"`
	CreationStatus  string  `json:"creationStatus,omitempty"`
	DateCreated     string  `json:"dateCreated,omitempty"`
	DateModified    string  `json:"dateModified,omitempty"`
	DateClosed      string  `json:"dateClosed,omitempty"`
	SelfURI         string  `json:"selfUri,omitempty"`
}

// IsOpen reports whether the case is not Closed, Terminated or Failed.
func (c Case) IsOpen() bool {
	switch c.Status {
	case CaseStatusClosed, CaseStatusTerminated, CaseStatusFailed:
		return false
	}
	return true
}

// CaseListOptions are the query parameters of the case lookup.
type CaseListOptions struct {
	After       string   // cursor of the next page
	PageSize    int      // at most 200; 0 leaves the platform default
	DivisionIDs []string // restrict to divisions; sent as one comma-separated divisionIds
	Expands     []string // e.g. "caseplan"; sent as repeated expands
}

// CaseListing is a page of cases.
type CaseListing struct {
	Entities    []Case `json:"entities"`
	NextURI     string `json:"nextUri,omitempty"`
	SelfURI     string `json:"selfUri,omitempty"`
	PreviousURI string `json:"previousUri,omitempty"`
}

// NextCursor returns the "after" cursor of NextURI, "" when there is none.
func (l *CaseListing) NextCursor() string {
	if l == nil || l.NextURI == "" {
		return ""
	}
	u, err := url.Parse(l.NextURI)
	if err != nil {
		return ""
	}
	return u.Query().Get("after")
}

// ForContact fetches one page of GET
// /api/v2/casemanagement/cases/externalcontacts/{contactId} (a preview API).
func (s *CasesService) ForContact(ctx context.Context, contactID string, opts *CaseListOptions) (*CaseListing, *Response, error) {
	if strings.TrimSpace(contactID) == "" {
		return nil, nil, errors.New("genesys: empty contact id")
	}
	q := url.Values{}
	if opts != nil {
		if opts.PageSize < 0 || opts.PageSize > 200 {
			return nil, nil, fmt.Errorf("genesys: case page size %d out of range 1..200", opts.PageSize)
		}
		if opts.After != "" {
			q.Set("after", opts.After)
		}
		if opts.PageSize > 0 {
			q.Set("pageSize", strconv.Itoa(opts.PageSize))
		}
		if len(opts.DivisionIDs) > 0 {
			// One comma-separated parameter (GO SDK casemanagementapi.go
			// GetCasemanagementCasesExternalcontact: divisionIds string),
			// unlike expands, which is repeated ("multi").
			q.Set("divisionIds", strings.Join(opts.DivisionIDs, ","))
		}
		for _, e := range opts.Expands {
			q.Add("expands", e)
		}
	}
	p := "/api/v2/casemanagement/cases/externalcontacts/" + url.PathEscape(contactID)
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	req, err := s.client.NewRequest(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, nil, err
	}
	l := new(CaseListing)
	resp, err := s.client.Do(req, l)
	if err != nil {
		return nil, resp, err
	}
	return l, resp, nil
}

// OpenCases returns the contact's cases whose status is not Closed,
// Terminated or Failed, following every page (page size 200).
func (s *CasesService) OpenCases(ctx context.Context, contactID string) ([]Case, error) {
	var open []Case
	opts := &CaseListOptions{PageSize: 200}
	seen := map[string]bool{}
	for {
		l, _, err := s.ForContact(ctx, contactID, opts)
		if err != nil {
			return open, err
		}
		for _, c := range l.Entities {
			if c.IsOpen() {
				open = append(open, c)
			}
		}
		next := l.NextCursor()
		if next == "" || len(l.Entities) == 0 {
			return open, nil
		}
		if seen[next] {
			return open, fmt.Errorf("genesys: case listing cursor repeated for contact %s", contactID)
		}
		seen[next] = true
		opts.After = next
	}
}
