package genesys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
// scheme, host and path of the request, never its query.
type APIError struct {
	Status        int           // HTTP status code
	Code          string        // "code" of the error body, e.g. "not.found"
	Message       string        // "message" of the error body, or a short excerpt of a non-JSON body
	CorrelationID string        // ININ-Correlation-Id header, else "contextId" of the body
	Details       []ErrorDetail // "details" of the error body
	Limit         *ErrorLimit   // "limit" of the error body, when present
	Method, URL   string        // the request
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "genesys: %s %s: %d", e.Method, e.URL, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.CorrelationID != "" {
		b.WriteString(" (correlation id " + e.CorrelationID + ")")
	}
	return b.String()
}

// Is reports whether target is the sentinel matching e's status: ErrNotFound
// (404), ErrUnauthorized (401), ErrForbidden (403), ErrConflict (409) or
// ErrRateLimited (429). *RateLimitError embeds *APIError, so it matches too.
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

// Error implements error: "authentication failed: invalid_client: ...".
func (e *AuthError) Error() string {
	var parts []string
	if e.Code != "" {
		parts = append(parts, e.Code)
	}
	if e.Description != "" {
		parts = append(parts, e.Description)
	}
	if len(parts) == 0 && e.Status != 0 && (e.Status < 200 || e.Status > 299) {
		parts = append(parts, fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status)))
	}
	if e.err != nil {
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

// errorBody is the JSON error body of the Genesys Cloud API.
type errorBody struct {
	Message   string        `json:"message"`
	Code      string        `json:"code"`
	Status    int           `json:"status"`
	ContextID string        `json:"contextId"`
	Details   []ErrorDetail `json:"details"`
	Limit     *ErrorLimit   `json:"limit"`
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
	var eb errorBody
	if len(data) > 0 && json.Unmarshal(data, &eb) == nil {
		ae.Code, ae.Message, ae.Details, ae.Limit = eb.Code, eb.Message, eb.Details, eb.Limit
		if ae.CorrelationID == "" {
			ae.CorrelationID = eb.ContextID
		}
	} else if len(data) > 0 {
		ae.Message = excerpt(string(data), 200)
	}
	if ae.Message == "" {
		ae.Message = http.StatusText(resp.StatusCode)
	}
	ae.Message = c.redact(ae.Message)
	if resp.StatusCode == http.StatusTooManyRequests {
		ra, _ := parseRetryAfter(resp.Header)
		return &RateLimitError{APIError: ae, RetryAfter: ra}
	}
	return &ae
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
