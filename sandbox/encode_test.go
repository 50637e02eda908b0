package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

// v1Body is the body encoding/json's Encoder with SetEscapeHTML(false)
// writes for v: what writeJSON wrote before it used go-json-experiment.
func v1Body(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestResponsesEncodeAsEncodingJSON: writeJSON writes the bytes
// encoding/json did for the bodies the sandbox serves: scan listings of a
// generated organization (custom fields, raw identifiers, HTML and line
// separators in strings), error bodies, stats and the truth.
func TestResponsesEncodeAsEncodingJSON(t *testing.T) {
	e := newEnv(t, Config{Contacts: 3000, Seed: 3})
	s := e.sb
	odd := cm.Contact{ID: "odd", FirstName: "<b>&amp;</b>", LastName: "a\u2028b\u2029c\x00",
		CustomFields: map[string]any{"z": 1.0, "a": []any{"x", nil, true}, "m": map[string]any{"k": 2.5e30}},
		TwitterID:    json.RawMessage(`{ "screenName" : "o" }`)}
	page, _ := s.scanPage("", 3000, "")
	page = append(page, odd)
	var bodies []any
	for i := 0; i < len(page); i += 200 {
		bodies = append(bodies, cursorListing{Entities: wireAll(page[i:min(i+200, len(page))]), SelfURI: "/self?a=<&>",
			Cursors: &cursors{After: encodeCursor(page[i].ID, e.clock.Now())}, NextURI: "/next"})
	}
	bodies = append(bodies, cursorListing{Entities: wireAll([]cm.Contact{}), SelfURI: "/empty"}, cursorListing{SelfURI: "/nil"},
		(&apiError{status: 400, code: "bad.request", message: "limit <10>"}).body("corr-1"), s.Stats(), s.Truth())
	// Invalid UTF-8 is replaced by U+FFFD, which encoding/json writes
	// escaped (\ufffd) and go-json-experiment as is: the same string.
	bad := cm.Contact{ID: "bad", LastName: "b\xffd"}
	for _, v := range []any{wireAll([]cm.Contact{bad})} {
		rec := httptest.NewRecorder()
		s.writeJSON(rec, 200, v)
		var got, want any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(v1Body(t, v), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) || !bytes.Contains(rec.Body.Bytes(), []byte("b\uFFFDd")) {
			t.Errorf("invalid UTF-8: %s, want the value of %s", rec.Body.Bytes(), v1Body(t, v))
		}
	}
	for i, v := range bodies {
		rec := httptest.NewRecorder()
		s.writeJSON(rec, 200, v)
		want := v1Body(t, v)
		if got := rec.Body.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("body %d (%T) differs from encoding/json's:\n got %.300s\nwant %.300s", i, v, got, want)
		}
		if rec.Code != 200 || rec.Header().Get("Content-Length") == "" {
			t.Errorf("body %d: status %d, headers %v", i, rec.Code, rec.Header())
		}
	}
}
