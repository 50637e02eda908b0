package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiError is an error answered with the Genesys error body. message is
// withParams with every {name} replaced by params[name] when withParams is
// set.
type apiError struct {
	status     int
	code       string
	message    string
	withParams string
	params     map[string]string
	entityID   string
	errs       []*apiError
}

// Error returns the message.
func (e *apiError) Error() string { return e.message }

// newAPIError builds an error whose message is tmpl with its {name}
// placeholders filled from params; the body carries both (messageWithParams,
// messageParams), as the platform's do.
func newAPIError(status int, code, tmpl string, params map[string]string) *apiError {
	msg := tmpl
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		msg = strings.ReplaceAll(msg, "{"+k+"}", params[k])
	}
	return &apiError{status: status, code: code, message: msg, withParams: tmpl, params: params}
}

func errBad(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad.request", message: fmt.Sprintf(format, args...)}
}

func errNotFound(id string) *apiError {
	e := newAPIError(http.StatusNotFound, "not.found", "The requested contact {contactId} was not found.", map[string]string{"contactId": id})
	e.entityID = id
	return e
}

// errMissingPermissions is the 403 of a client whose role lacks every one of
// need (any one would do).
func errMissingPermissions(need []string) *apiError {
	tmpl := "Unable to perform the requested action. You are missing the following permission: {permissions}"
	if len(need) > 1 {
		tmpl = "Unable to perform the requested action. You are missing the following permissions (any one of them is enough): {permissions}"
	}
	return newAPIError(http.StatusForbidden, "missing.permissions", tmpl, map[string]string{"permissions": strings.Join(need, ", ")})
}

// errLimit is the 400 of a request over one of the platform's batch limits.
func errLimit(what string, count, limit int) *apiError {
	return newAPIError(http.StatusBadRequest, "bad.request",
		"{field} holds {count} items; at most {limit} are allowed in one request. Split the request into batches of at most {limit}.",
		map[string]string{"field": what, "count": strconv.Itoa(count), "limit": strconv.Itoa(limit)})
}

// errCursorExpired is the 400 of a scan resumed after its cursor's TTL.
func errCursorExpired(ttl time.Duration) *apiError {
	return newAPIError(http.StatusBadRequest, "bad.request",
		"The cursor has expired: scan cursors are valid for {ttl} after the page that returned them. Start the scan again without a cursor.",
		map[string]string{"ttl": humanDuration(ttl)})
}

// humanDuration writes d in days, hours or minutes when it is a whole
// number of them.
func humanDuration(d time.Duration) string {
	switch {
	case d >= day && d%day == 0:
		n := int(d / day)
		if n == 1 {
			return "1 day"
		}
		return strconv.Itoa(n) + " days"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

// errorBody is the Genesys error body (GO SDK errorbody.go, PY ErrorBody.md).
type errorBody struct {
	Message           string            `json:"message"`
	Code              string            `json:"code"`
	Status            int               `json:"status"`
	EntityID          string            `json:"entityId,omitempty"`
	MessageWithParams string            `json:"messageWithParams,omitempty"`
	MessageParams     map[string]string `json:"messageParams,omitempty"`
	ContextID         string            `json:"contextId,omitempty"`
	Errors            []errorBody       `json:"errors,omitempty"`
}

// body returns e as an error body (nested errors carry no contextId).
func (e *apiError) body(contextID string) errorBody {
	b := errorBody{Message: e.message, Code: e.code, Status: e.status, EntityID: e.entityID,
		MessageWithParams: e.withParams, MessageParams: e.params, ContextID: contextID}
	for _, n := range e.errs {
		b.Errors = append(b.Errors, n.body(""))
	}
	return b
}

func (s *Sandbox) writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	s.writeAPIError(w, r, &apiError{status: status, code: code, message: msg})
}

func (s *Sandbox) writeAPIError(w http.ResponseWriter, r *http.Request, e *apiError) {
	s.writeJSON(w, e.status, e.body(info(r).corrID))
}

// writeJSON encodes v as the response body.
func (s *Sandbox) writeJSON(w http.ResponseWriter, status int, v any) {
	buf, _ := s.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"message":"encoding failed","code":"internal.server.error","status":500}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	if buf.Cap() <= 4<<20 {
		s.bufs.Put(buf)
	}
}
