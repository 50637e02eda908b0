package genesys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Capability is something contactmerge does on the platform that needs a
// permission of the OAuth client's role. CheckPermissions probes it.
type Capability string

// The capabilities of a run.
const (
	// CapReadContacts: bulk reads of contacts, resolved and unresolved
	// (preflight and verification).
	CapReadContacts Capability = "read contacts"
	// CapQueryConversations: the conversation-details query that finds
	// active conversations.
	CapQueryConversations Capability = "query conversation details"
	// CapLookUpCases: the case lookup by external contact.
	CapLookUpCases Capability = "look up cases"
	// CapMergeContacts: POST /api/v2/externalcontacts/contacts/merge.
	CapMergeContacts Capability = "merge contacts"
	// CapConversationJobs: the asynchronous conversation-details jobs
	// (POST /api/v2/analytics/conversations/details/jobs, then GET
	// .../jobs/{jobId}, GET .../jobs/{jobId}/results and DELETE
	// .../jobs/{jobId}) with which discovery reads the conversation
	// history. The PY SDK documentation lists the same permissions for
	// each of the four operations (AnalyticsApi.md
	// post_analytics_conversations_details_jobs,
	// get_analytics_conversations_details_job,
	// get_analytics_conversations_details_job_results,
	// delete_analytics_conversations_details_job).
	CapConversationJobs Capability = "read conversation details jobs"
)

// Permissions returns the permissions any one of which allows c, as the PY
// SDK documentation lists them for the operation (ExternalContactsApi.md,
// AnalyticsApi.md, CaseManagementApi.md).
func (c Capability) Permissions() []string {
	switch c {
	case CapReadContacts:
		return []string{"externalContacts:contact:view"}
	case CapQueryConversations, CapConversationJobs:
		return []string{"analytics:conversationDetail:view", "analytics:agentConversationDetail:view"}
	case CapLookUpCases:
		return []string{"caseManagement:caseExternalContact:view"}
	case CapMergeContacts:
		return []string{"externalContacts:identity:merge"}
	case CapCreateContacts:
		return []string{PermContactAdd}
	case CapEditContacts:
		return []string{PermContactEdit}
	}
	return nil
}

// PermissionError is the platform's refusal (403) of a capability because
// the OAuth client's role lacks a permission. It matches ErrForbidden and
// unwraps to the *APIError.
type PermissionError struct {
	Capability Capability
	// Permissions are the missing permissions: those the 403 names
	// (APIError.MissingPermissions), else those Capability.Permissions
	// documents (any one of them would do).
	Permissions []string
	Err         *APIError
}

// Error implements error: "genesys: the OAuth client may not merge contacts
// (403 missing.permissions): it needs the permission
// externalContacts:identity:merge (correlation id …)".
func (e *PermissionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "genesys: the OAuth client may not %s (%d", e.Capability, e.Err.Status)
	if e.Err.Code != "" {
		b.WriteString(" " + e.Err.Code)
	}
	b.WriteString(")")
	switch len(e.Permissions) {
	case 0:
	case 1:
		b.WriteString(": it needs the permission " + e.Permissions[0])
	default:
		b.WriteString(": it needs one of the permissions " + strings.Join(e.Permissions, ", "))
	}
	if e.Err.CorrelationID != "" {
		b.WriteString(" (correlation id " + e.Err.CorrelationID + ")")
	}
	return b.String()
}

// Unwrap returns the *APIError.
func (e *PermissionError) Unwrap() error { return e.Err }

// AsPermissionError returns the *PermissionError of err when err is a 403
// answering a request of capability c, and err itself otherwise.
func AsPermissionError(c Capability, err error) error {
	var pe *PermissionError
	if errors.As(err, &pe) {
		return err
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		return err
	}
	perms := ae.MissingPermissions()
	if len(perms) == 0 {
		perms = c.Permissions()
	}
	return &PermissionError{Capability: c, Permissions: perms, Err: ae}
}

// probeID is a contact id no organization holds, for probes.
const probeID = "00000000-0000-0000-0000-000000000000"

// CheckPermissions checks that the client may do each of caps, with one
// request per capability that changes nothing: a bulk read of a contact id
// that does not exist, a conversation-details query over the last hour for
// it, the status of a details job that does not exist (GET
// .../details/jobs/{jobId}: submitting one would create a job), its case
// lookup, and a merge of no contacts (contactIds [], which the
// platform must refuse as invalid). No endpoint tells a client-credentials
// client its own permissions reliably (see the package documentation), so
// the probe is the check: a 403 means the permission is missing; any other
// 4xx means the request passed authorization. It returns nil when no probe
// was refused; every refusal as a *PermissionError (errors.Join of them);
// and an *AuthError or 401 as it is. A probe that gets no verdict (5xx,
// 429, network error) is logged and not counted as a refusal: the first real
// request's 403 still stops a run.
func (c *Client) CheckPermissions(ctx context.Context, caps ...Capability) error {
	var refused []error
	for _, cp := range caps {
		if cp.Permissions() == nil {
			return fmt.Errorf("genesys: unknown capability %q", cp)
		}
		v, err := c.Probe(ctx, cp)
		var auth *AuthError
		switch {
		case v == Allowed:
		case v == Refused:
			refused = append(refused, err)
		case errors.As(err, &auth), errors.Is(err, ErrUnauthorized), ctx.Err() != nil:
			return err
		default:
			c.logger.LogAttrs(ctx, slog.LevelWarn, "genesys: permission probe inconclusive",
				slog.String("capability", string(cp)), slog.String("error", err.Error()))
		}
	}
	return errors.Join(refused...)
}

// Verdict is what a permission probe found.
type Verdict int

// The verdicts of Probe.
const (
	// Allowed: the probe passed authorization (it succeeded, or its body
	// or id was refused with a 4xx other than 401, 403 and 429).
	Allowed Verdict = iota
	// Refused: a 403; the error is the *PermissionError.
	Refused
	// Unknown: no verdict (5xx, 429, 401, a network error, a capability
	// without a harmless probe); the error says why.
	Unknown
)

// ErrNoProbe is Probe's error for a capability that has no request that
// changes nothing (creating a contact).
var ErrNoProbe = errors.New("genesys: no side-effect-free probe")

// Probe sends capability cp's request that changes nothing and says
// whether the OAuth client may do cp; for Refused and Unknown the error
// says why. The probes: a bulk read of a contact id no organization holds
// (read contacts), an active-conversations query of that id for the last
// hour (conversation details), the status of a details job that does not
// exist (details jobs), the cases of that id (cases), a merge of no
// contacts (merge, refused with 400 once past authorization) and an update
// of that id with an empty body (edit, a 404 or 400). Creating contacts has
// none (ErrNoProbe).
func (c *Client) Probe(ctx context.Context, cp Capability) (Verdict, error) {
	if cp == CapCreateContacts {
		return Unknown, ErrNoProbe
	}
	if cp.Permissions() == nil {
		return Unknown, fmt.Errorf("genesys: unknown capability %q", cp)
	}
	err := c.probe(ctx, cp)
	var ae *APIError
	switch {
	case err == nil:
		return Allowed, nil
	case errors.Is(err, ErrForbidden):
		return Refused, AsPermissionError(cp, err)
	case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 &&
		ae.Status != http.StatusTooManyRequests && ae.Status != http.StatusUnauthorized:
		return Allowed, nil
	}
	return Unknown, err
}

// probe sends the harmless request of capability cp.
func (c *Client) probe(ctx context.Context, cp Capability) error {
	var err error
	switch cp {
	case CapReadContacts:
		var req *http.Request
		if req, err = c.NewRequest(ctx, http.MethodPost, "/api/v2/externalcontacts/bulk/contacts", bulkIDs{Entities: []bulkID{{ID: probeID}}}); err == nil {
			_, err = c.Do(req, nil)
		}
	case CapQueryConversations:
		now := c.now()
		_, _, err = c.Analytics.QueryConversationDetails(ctx, ActiveConversationsQuery([]string{probeID}, Interval{Start: now.Add(-time.Hour), End: now}, 1))
	case CapConversationJobs:
		_, _, err = c.Analytics.DetailsJob(ctx, probeID)
	case CapLookUpCases:
		_, _, err = c.Cases.ForContact(ctx, probeID, &CaseListOptions{PageSize: 1})
	case CapMergeContacts:
		var req *http.Request
		if req, err = c.NewRequest(ctx, http.MethodPost, "/api/v2/externalcontacts/contacts/merge", MergeRequest{ContactIDs: []string{}}); err == nil {
			_, err = c.Do(req, nil)
		}
	case CapEditContacts:
		_, _, err = c.Contacts.UpdateContact(ctx, probeID, &cm.Contact{})
	}
	return err
}
