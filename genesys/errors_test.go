package genesys

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAPIErrorPlatformBody: an error body with what the platform fills
// (GO SDK errorbody.go): a message template with its parameters instead of
// a message, entityId, and nested errors, which are kept for diagnostics
// and rendered into the error text.
func TestAPIErrorPlatformBody(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("POST /api/v2/externalcontacts/contacts/merge", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 422, `{"code":"payload.or.params.invalid","status":422,"entityId":"c-2",
			"messageWithParams":"The merge request is not valid: {reason}","messageParams":{"reason":"contact c-2 is gone"},
			"contextId":"ctx-1",
			"errors":[{"code":"not.found","status":404,"entityId":"c-2","message":"The requested contact c-2 was not found.",
				"errors":[{"code":"deep","message":"token `+r.Header.Get("Authorization")+`"}]}]}`)
	})
	_, _, err := f.client.Contacts.Merge(t.Context(), &MergeRequest{ContactIDs: []string{"c-1", "c-2"}})
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %T %v", err, err)
	}
	if ae.Message != "The merge request is not valid: contact c-2 is gone" || ae.MessageWithParams != "The merge request is not valid: {reason}" ||
		ae.MessageParams["reason"] != "contact c-2 is gone" || ae.EntityID != "c-2" || ae.CorrelationID != "ctx-1" {
		t.Errorf("APIError = %+v", ae)
	}
	if len(ae.Errors) != 1 || ae.Errors[0].Code != "not.found" || len(ae.Errors[0].Errors) != 1 {
		t.Fatalf("nested = %+v", ae.Errors)
	}
	if !errors.Is(err, ErrUnprocessable) || errors.Is(err, ErrNotFound) || IsAmbiguous(err) {
		t.Errorf("sentinels: 422 %v, 404 %v, ambiguous %v", errors.Is(err, ErrUnprocessable), errors.Is(err, ErrNotFound), IsAmbiguous(err))
	}
	if id, ok := ae.NotFoundEntity(); !ok || id != "c-2" {
		t.Errorf("NotFoundEntity = %q, %v", id, ok)
	}
	want := "genesys: POST " + f.server.URL + basePrefix + "/api/v2/externalcontacts/contacts/merge: 422 payload.or.params.invalid: " +
		"The merge request is not valid: contact c-2 is gone [not.found c-2: The requested contact c-2 was not found.; deep: token Bearer [REDACTED]] (correlation id ctx-1)"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(err.Error(), "tok-1") {
		t.Error("the access token is in the error")
	}
}

func TestAPIErrorHelpers(t *testing.T) {
	forbidden := &APIError{Status: 403, MessageParams: map[string]string{"permissions": "a:b:c, d:e:f,a:b:c"}}
	if got := forbidden.MissingPermissions(); !slices.Equal(got, []string{"a:b:c", "d:e:f"}) {
		t.Errorf("MissingPermissions = %v", got)
	}
	if got := (&APIError{Status: 400, MessageParams: map[string]string{"permissions": "x"}}).MissingPermissions(); got != nil {
		t.Errorf("400 names permissions %v", got)
	}
	for _, tt := range []struct {
		e      *APIError
		id     string
		nested bool
	}{
		{&APIError{Status: 404, EntityID: "x"}, "x", true},
		{&APIError{Status: 422, EntityID: "top", Errors: []ErrorBody{{Code: "bad.request"}, {Status: 404}}}, "top", true},
		{&APIError{Status: 422, Errors: []ErrorBody{{Code: "merge.set.limit.exceeded"}}}, "", false},
		{&APIError{Status: 422}, "", false},
	} {
		if id, ok := tt.e.NotFoundEntity(); id != tt.id || ok != tt.nested {
			t.Errorf("%+v: NotFoundEntity = %q, %v", tt.e, id, ok)
		}
	}
	for tmpl, want := range map[string]string{
		"{a} and {b}": "1 and {b}", "no params": "no params", "{unclosed": "{unclosed", "{a}{a}": "11",
	} {
		if got := renderParams(tmpl, map[string]string{"a": "1"}); got != want {
			t.Errorf("renderParams(%q) = %q, want %q", tmpl, got, want)
		}
	}
}

// TestNestedErrorsCapped: a body nesting more errors than maxNestedErrors
// keeps that many.
func TestNestedErrorsCapped(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/tokens/me", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, `{"code":"bad.request","errors":[`+strings.Repeat(`{"code":"x","errors":[{"code":"y"}]},`, 30)+`{"code":"z"}]}`)
	})
	_, _, err := f.client.Tokens.Me(t.Context())
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatal(err)
	}
	n := 0
	walkErrors(ae.Errors, func(*ErrorBody) { n++ })
	if n != maxNestedErrors {
		t.Errorf("%d nested errors kept, want %d", n, maxNestedErrors)
	}
}

// TestBatchRefusalOnlyForTheBatch: a 400 that does not point at the batch
// is returned at once; one that keeps pointing at it down to a single id is
// returned without lowering the size later reads use.
func TestBatchRefusalOnlyForTheBatch(t *testing.T) {
	f := setup(t)
	var sizes []int
	f.mux.HandleFunc("POST /api/v2/externalcontacts/bulk/contacts", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Entities []struct{ ID string } }
		_ = json.NewDecoder(r.Body).Decode(&body)
		sizes = append(sizes, len(body.Entities))
		if body.Entities[0].ID == "bad" {
			writeJSON(w, 400, `{"code":"bad.request","message":"Contact id bad is not a valid id."}`)
			return
		}
		writeJSON(w, 413, `{"code":"request.entity.too.large","message":"The request is over the size limit."}`)
	})
	ids := []string{"bad"}
	for i := range 9 {
		ids = append(ids, fmt.Sprintf("id-%d", i))
	}
	_, _, err := f.client.Contacts.BulkGet(t.Context(), ids)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || !slices.Equal(sizes, []int{10}) {
		t.Errorf("unrelated 400: requests %v, err %v", sizes, err)
	}
	sizes = nil
	_, _, err = f.client.Contacts.BulkGet(t.Context(), ids[1:])
	if !errors.As(err, &ae) || ae.Status != 413 || !slices.Equal(sizes, []int{9, 4, 2, 1}) {
		t.Errorf("413 at every size: requests %v, err %v", sizes, err)
	}
	if got := f.client.Contacts.BulkSize(); got != BulkMax {
		t.Errorf("BulkSize = %d after no batch worked, want %d", got, BulkMax)
	}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&APIError{Status: 413}, true},
		{&APIError{Status: 400, MessageParams: map[string]string{"field": "entities", "count": "100", "limit": "40"}}, true},
		{&APIError{Status: 400, Message: "At most 50 ids are allowed, got 100."}, true},
		{&APIError{Status: 400, Message: "The interval spans 31.04 days; at most 31 days."}, false},
		{&APIError{Status: 400, Message: "1000 is over the limit"}, false},
		{&APIError{Status: 422, Message: "entities"}, false},
		{errors.New("entities"), false},
	} {
		if got := batchRefused(tt.err, "entities", 100); got != tt.want {
			t.Errorf("batchRefused(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestSplitInterval(t *testing.T) {
	day := 24 * time.Hour
	now := time.Date(2026, 5, 20, 15, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		lookback time.Duration
		parts    int
	}{{7 * day, 1}, {30 * day, 1}, {31 * day, 2}, {45 * day, 2}, {70 * day, 3}} {
		iv := Interval{Start: now.Add(-tt.lookback), End: now.Add(time.Hour)}
		parts := SplitInterval(iv, 0)
		if len(parts) != tt.parts {
			t.Errorf("lookback %s: %d parts %v, want %d", tt.lookback, len(parts), parts, tt.parts)
			continue
		}
		if !parts[0].Start.Equal(iv.Start.Truncate(day)) || !parts[len(parts)-1].End.Equal(iv.End) {
			t.Errorf("lookback %s: parts %v do not cover %v from its first midnight", tt.lookback, parts, iv)
		}
		for i, p := range parts {
			if p.End.Sub(p.Start) > MaxAnalyticsInterval || (i > 0 && !p.Start.Equal(parts[i-1].End)) {
				t.Errorf("lookback %s: part %d %v", tt.lookback, i, p)
			}
		}
	}
}
