package genesys

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxErrorBody caps how much of an error response body is read.
const maxErrorBody = 64 << 10

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound matches an *APIError (or *RateLimitError) with status 404.
	ErrNotFound = errors.New("genesys: not found")
	// ErrUnauthorized matches an *APIError with status 401.
	ErrUnauthorized = errors.New("genesys: unauthorized")
	// ErrForbidden matches an *APIError with status 403 (a missing permission).
	ErrForbidden = errors.New("genesys: forbidden")
	// ErrConflict matches an *APIError with status 409.
	ErrConflict = errors.New("genesys: conflict")
	// ErrUnprocessable matches an *APIError with status 422: a well-formed
	// request the platform cannot carry out (payload.or.params.invalid; a
	// merge of contacts it cannot merge). See APIError.NotFoundEntity.
	ErrUnprocessable = errors.New("genesys: unprocessable")
	// ErrRateLimited matches a *RateLimitError (and an *APIError with status
	// 429): the platform did not process the request.
	ErrRateLimited = errors.New("genesys: rate limited")
	// ErrMalformedResponse is wrapped by the error returned when a successful
	// (2xx) response body cannot be decoded. The request was applied.
	ErrMalformedResponse = errors.New("genesys: malformed response body")
)

// ErrorDetail is one entry of the "details" array of a Genesys error body.
type ErrorDetail struct {
	ErrorCode  string `json:"errorCode,omitempty"`
	FieldName  string `json:"fieldName,omitempty"`
	EntityID   string `json:"entityId,omitempty"`
	EntityName string `json:"entityName,omitempty"`
}

// ErrorLimit is the "limit" object of a Genesys error body: the platform
// limit that was exceeded.
type ErrorLimit struct {
	Key       string  `json:"key,omitempty"`
	Namespace string  `json:"namespace,omitempty"`
	Value     float64 `json:"value,omitempty"`
}

// APIError is a non-2xx response of the Genesys Cloud API. URL carries the
// scheme, host and path of the request, never its query. The fields after
// Limit are kept for diagnostics, as the platform fills them (GO SDK
// errorbody.go): the entity the error is about, the message template with
// its parameters, and nested errors.
type APIError struct {
	Status        int           // HTTP status code
	Code          string        // "code" of the error body, e.g. "not.found"
	Message       string        // "message" of the error body (else messageWithParams rendered), or a short excerpt of a non-JSON body
	CorrelationID string        // ININ-Correlation-Id header, else "contextId" of the body
	Details       []ErrorDetail // "details" of the error body
	Limit         *ErrorLimit   // "limit" of the error body, when present
	Method, URL   string        // the request

	EntityID, EntityName string            // "entityId", "entityName"
	MessageWithParams    string            // "messageWithParams": the message with {name} placeholders
	MessageParams        map[string]string // "messageParams": the placeholders' values
	Errors               []ErrorBody       // "errors": nested error bodies
}

// ErrorBody is a Genesys error body (GO SDK errorbody.go), as nested in the
// "errors" of another. Message is filled from MessageWithParams and
// MessageParams when the body has no message of its own.
type ErrorBody struct {
	Message           string            `json:"message,omitempty"`
	Code              string            `json:"code,omitempty"`
	Status            int               `json:"status,omitempty"`
	EntityID          string            `json:"entityId,omitempty"`
	EntityName        string            `json:"entityName,omitempty"`
	MessageWithParams string            `json:"messageWithParams,omitempty"`
	MessageParams     map[string]string `json:"messageParams,omitempty"`
	ContextID         string            `json:"contextId,omitempty"`
	Details           []ErrorDetail     `json:"details,omitempty"`
	Errors            []ErrorBody       `json:"errors,omitempty"`
	Limit             *ErrorLimit       `json:"limit,omitempty"`
}

// maxNestedErrors bounds how many nested errors (at every depth) are kept.
const maxNestedErrors = 20

// Error implements error: "genesys: METHOD URL: STATUS CODE: MESSAGE", then
// the code, entity and (when the message does not already say it) message
// of each nested error, then the correlation id.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "genesys: %s %s: %d", e.Method, e.URL, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	var nested []string
	walkErrors(e.Errors, func(n *ErrorBody) {
		s := cmp.Or(n.Code, strconv.Itoa(n.Status))
		if n.EntityID != "" {
			s += " " + n.EntityID
		}
		if n.Message != "" && !strings.Contains(e.Message, n.Message) {
			s += ": " + n.Message
		}
		nested = append(nested, s)
	})
	if len(nested) > 0 {
		b.WriteString(" [" + strings.Join(nested, "; ") + "]")
	}
	if e.CorrelationID != "" {
		b.WriteString(" (correlation id " + e.CorrelationID + ")")
	}
	return b.String()
}

// walkErrors calls f on every nested error, depth first.
func walkErrors(errs []ErrorBody, f func(*ErrorBody)) {
	for i := range errs {
		f(&errs[i])
		walkErrors(errs[i].Errors, f)
	}
}

// NotFoundEntity reports whether e is a 404 or nests one (a "not.found"
// error, or one with status 404, in its errors at any depth, as a 422
// payload.or.params.invalid merge whose input vanished does), and returns
// the id of the entity not found: the nested error's entityId, else e's.
func (e *APIError) NotFoundEntity() (string, bool) {
	if e.Status == http.StatusNotFound {
		return e.EntityID, true
	}
	id, found := "", false
	walkErrors(e.Errors, func(n *ErrorBody) {
		if !found && (n.Code == "not.found" || n.Status == http.StatusNotFound) {
			id, found = n.EntityID, true
		}
	})
	if found && id == "" {
		id = e.EntityID
	}
	return id, found
}

// MissingPermissions returns the permissions a 403 names: its
// messageParams "permissions" (comma-separated; the platform's exact
// parameter name is unconfirmed, the sandbox's follows its
// missing.permissions error), or nil when it names none.
func (e *APIError) MissingPermissions() []string {
	if e.Status != http.StatusForbidden {
		return nil
	}
	var out []string
	for _, k := range []string{"permissions", "permission"} {
		for p := range strings.SplitSeq(e.MessageParams[k], ",") {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Is reports whether target is the sentinel matching e's status: ErrNotFound
// (404), ErrUnauthorized (401), ErrForbidden (403), ErrConflict (409),
// ErrUnprocessable (422) or ErrRateLimited (429). *RateLimitError embeds
// *APIError, so it matches too.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrUnprocessable:
		return e.Status == http.StatusUnprocessableEntity
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// RateLimitError is a 429 response. RetryAfter is the parsed Retry-After
// header (integer seconds; 0 when absent). A 429 is returned to the caller
// only after the client's own retries are used up, or when RetryAfter is
// longer than Config.MaxRetryWait. The platform did not process the request.
type RateLimitError struct {
	APIError
	RetryAfter time.Duration
}

// Error implements error.
func (e *RateLimitError) Error() string {
	s := e.APIError.Error()
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Unwrap returns the embedded *APIError, so that errors.As(err, &apiErr)
// matches rate-limit errors too.
func (e *RateLimitError) Unwrap() error { return &e.APIError }

// AuthError is a failure to obtain an access token from the login host. Its
// text never contains the client secret or the token endpoint's raw body.
type AuthError struct {
	Status      int    // HTTP status of the token endpoint, 0 if none was received
	Code        string // OAuth "error", e.g. "invalid_client"
	Description string // OAuth "error_description" or Genesys "description"
	err         error  // a transport error (never the oauth2 library's RetrieveError)
}

// Error implements error. It says what actually failed: the login host not
// reached ("cannot reach the login host: …"), a host that is no Genesys
// Cloud login ("the token endpoint answered HTTP 404 …"), the login host
// failing ("the login host failed: HTTP 503 …"), or the credentials refused
// ("authentication failed: invalid_client: …").
func (e *AuthError) Error() string {
	var parts []string
	if e.Code != "" {
		parts = append(parts, e.Code)
	}
	if e.Description != "" {
		parts = append(parts, e.Description)
	}
	failed := e.Status != 0 && (e.Status < 200 || e.Status > 299)
	if len(parts) == 0 && failed {
		status := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
		switch {
		case e.Status >= 500:
			return "the login host failed: " + status + " (try again later)"
		case e.Status != http.StatusUnauthorized && e.Status != http.StatusBadRequest && e.Status != http.StatusForbidden:
			return "the token endpoint answered " + status + ": is GENESYSCLOUD_REGION a Genesys Cloud region (or the sandbox's URL)?"
		}
		parts = append(parts, status)
	}
	if e.err != nil {
		if e.Status == 0 && len(parts) == 0 && !errors.Is(e.err, context.Canceled) && !errors.Is(e.err, context.DeadlineExceeded) {
			return "cannot reach the login host: " + e.err.Error() + " (check GENESYSCLOUD_REGION and the network)"
		}
		parts = append(parts, e.err.Error())
	}
	if len(parts) == 0 {
		parts = append(parts, "no token")
	}
	return "authentication failed: " + strings.Join(parts, ": ")
}

// Unwrap returns the underlying transport or context error, if any.
func (e *AuthError) Unwrap() error { return e.err }

// TransportError is a failure to get a response: a network error, a timeout
// or a cancelled context. Written reports whether the request had been fully
// written to the connection when it failed (so the server may have acted on
// it).
type TransportError struct {
	Method, URL string
	Written     bool
	Err         error
}

// Error implements error.
func (e *TransportError) Error() string {
	return fmt.Sprintf("genesys: %s %s: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// Timeout reports whether the failure was a timeout.
func (e *TransportError) Timeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// IsAmbiguous reports whether the request that produced err may or may not
// have been applied by the platform, so its effect must be verified before
// it is sent again:
//   - 5xx gateway and server errors (500, 502, 503, 504) and 408;
//   - timeouts, connection resets, EOF and context cancellation or deadline
//     after the request was written;
//   - a failure to read or decode the body of a 2xx response (the request
//     was applied, but its result is unknown).
//
// It is false for nil, for 4xx responses (including 429), for failures
// before anything was sent (token errors, dial errors, rate-limit waits,
// local validation) and for other errors.
func IsAmbiguous(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrMalformedResponse) {
		return true
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
			http.StatusGatewayTimeout, http.StatusRequestTimeout:
			return true
		}
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return te.Written
	}
	return false
}

// checkResponse returns nil for a 2xx response, else an *APIError or
// *RateLimitError built from the (capped) body. The caller closes the body.
func (c *Client) checkResponse(req *http.Request, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	ae := APIError{
		Status:        resp.StatusCode,
		CorrelationID: resp.Header.Get(headerCorrelationID),
		Method:        req.Method,
		URL:           redactURL(req.URL),
	}
	var eb ErrorBody
	if len(data) > 0 && json.Unmarshal(data, &eb) == nil {
		c.cleanBody(&eb, new(int))
		ae.Code, ae.Message, ae.Details, ae.Limit = eb.Code, eb.Message, eb.Details, eb.Limit
		ae.EntityID, ae.EntityName, ae.Errors = eb.EntityID, eb.EntityName, eb.Errors
		ae.MessageWithParams, ae.MessageParams = eb.MessageWithParams, eb.MessageParams
		if ae.CorrelationID == "" {
			ae.CorrelationID = eb.ContextID
		}
	} else if len(data) > 0 {
		ae.Message = c.redact(excerpt(string(data), 200))
	}
	if ae.Message == "" {
		ae.Message = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		ra, _ := parseRetryAfter(resp.Header)
		return &RateLimitError{APIError: ae, RetryAfter: ra}
	}
	return &ae
}

// cleanBody fills an error body's empty message from its template and
// parameters, redacts every text of it, and keeps at most maxNestedErrors
// nested errors in all (kept counts them).
func (c *Client) cleanBody(b *ErrorBody, kept *int) {
	if b.Message == "" && b.MessageWithParams != "" {
		b.Message = renderParams(b.MessageWithParams, b.MessageParams)
	}
	b.Message = c.redact(b.Message)
	b.MessageWithParams = c.redact(b.MessageWithParams)
	for k, v := range b.MessageParams {
		b.MessageParams[k] = c.redact(v)
	}
	errs := b.Errors[:0]
	for i := range b.Errors {
		if *kept >= maxNestedErrors {
			break
		}
		*kept++
		c.cleanBody(&b.Errors[i], kept)
		errs = append(errs, b.Errors[i])
	}
	b.Errors = errs
	if len(b.Errors) == 0 {
		b.Errors = nil
	}
}

// renderParams replaces each {name} of tmpl with params[name]; unknown
// placeholders stay as they are.
func renderParams(tmpl string, params map[string]string) string {
	if len(params) == 0 {
		return tmpl
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(tmpl[:i])
		name := tmpl[i+1 : i+j]
		if v, ok := params[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(tmpl[i : i+j+1])
		}
		tmpl = tmpl[i+j+1:]
	}
	b.WriteString(tmpl)
	return b.String()
}

// parseRetryAfter parses an integer-seconds Retry-After header (the only
// form Genesys sends); an HTTP date is accepted too.
func parseRetryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// excerpt returns s trimmed to n runes with control characters replaced.
func excerpt(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}
