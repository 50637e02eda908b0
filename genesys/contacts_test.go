package genesys

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
)

func TestContactsScan(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/api/v2/externalcontacts/scan/contacts", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "GET")
		testAuth(t, r, "tok-1")
		q := r.URL.Query()
		if q.Get("limit") != "50" || q.Get("cursor") != "c 1/+" || q.Get("divisionId") != "div-1" {
			t.Errorf("query = %v", q)
		}
		writeJSON(w, 200, `{"entities":[{"id":"a","firstName":"Ann"},{"id":"b"}],"cursors":{"before":"c0","after":"c2"},"nextUri":"/api/v2/externalcontacts/scan/contacts?cursor=c2"}`)
	})
	page, resp, err := f.client.Contacts.Scan(t.Context(), &ScanOptions{Limit: 50, Cursor: "c 1/+", DivisionID: "div-1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	want := &ScanPage{
		Entities: []cm.Contact{{ID: "a", FirstName: "Ann"}, {ID: "b"}},
		Cursors:  Cursors{Before: "c0", After: "c2"},
		NextURI:  "/api/v2/externalcontacts/scan/contacts?cursor=c2",
		Cursor:   "c 1/+",
	}
	if d := cmp.Diff(want, page); d != "" {
		t.Errorf("page (-want +got):\n%s", d)
	}
	if page.After() != "c2" {
		t.Errorf("After = %q", page.After())
	}
}

func TestContactsScanDefaultsAndValidation(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("limit") != "200" || q.Has("cursor") || q.Has("divisionId") {
			t.Errorf("query = %v, want limit=200 only", q)
		}
		writeJSON(w, 200, `{"entities":[]}`)
	})
	if _, _, err := f.client.Contacts.Scan(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	for _, l := range []int{9, 201, -1} {
		if _, _, err := f.client.Contacts.Scan(t.Context(), &ScanOptions{Limit: l}); err == nil {
			t.Errorf("limit %d accepted", l)
		}
	}
}

func TestContactsScanAll(t *testing.T) {
	f := setup(t)
	pages := map[string]string{
		"":   `{"entities":[{"id":"1"},{"id":"2"}],"cursors":{"after":"p2"}}`,
		"p2": `{"entities":[{"id":"3"}],"cursors":{"before":"p1","after":"p3"}}`,
		"p3": `{"entities":[{"id":"4"}],"cursors":{"before":"p2"}}`,
	}
	var calls atomic.Int32
	f.mux.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, ok := pages[r.URL.Query().Get("cursor")]
		if !ok {
			t.Errorf("unexpected cursor %q", r.URL.Query().Get("cursor"))
			writeJSON(w, 400, `{}`)
			return
		}
		writeJSON(w, 200, body)
	})
	var ids, cursors []string
	for page, err := range f.client.Contacts.ScanAll(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		cursors = append(cursors, page.Cursor+">"+page.After())
		for _, c := range page.Entities {
			ids = append(ids, c.ID)
		}
	}
	if d := cmp.Diff([]string{"1", "2", "3", "4"}, ids); d != "" {
		t.Errorf("ids (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{">p2", "p2>p3", "p3>"}, cursors); d != "" {
		t.Errorf("cursors (-want +got):\n%s", d)
	}
	// Resume from a saved cursor, and stop early.
	calls.Store(0)
	for page, err := range f.client.Contacts.ScanAll(t.Context(), &ScanOptions{Cursor: "p2"}) {
		if err != nil || page.Entities[0].ID != "3" {
			t.Fatalf("resume: %v %v", page, err)
		}
		break
	}
	if calls.Load() != 1 {
		t.Errorf("early break made %d calls", calls.Load())
	}
}

func TestContactsScanAllEndsOnEmptyPageAndRepeatedCursor(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			writeJSON(w, 200, `{"entities":[{"id":"1"}],"cursors":{"after":"x"}}`)
		case "x":
			writeJSON(w, 200, `{"entities":[],"cursors":{"after":"y"}}`)
		}
	})
	n := 0
	for _, err := range f.client.Contacts.ScanAll(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("pages = %d, want 1", n)
	}

	g := setup(t)
	g.mux.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"entities":[{"id":"1"}],"cursors":{"after":"same"}}`)
	})
	var last error
	for _, err := range g.client.Contacts.ScanAll(t.Context(), nil) {
		last = err
	}
	if last == nil || !strings.Contains(last.Error(), "repeated") || !errors.Is(last, ErrScanCursorRepeated) ||
		!strings.Contains(last.Error(), `"same"`) || !strings.Contains(last.Error(), "page 2") {
		t.Errorf("repeated cursor: err = %v", last)
	}

	// A page that hands back the cursor it was fetched with stops at once,
	// the start cursor of a resumed scan included.
	for _, start := range []string{"", "r"} {
		r := setup(t)
		var fetched atomic.Int32
		r.mux.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", func(w http.ResponseWriter, req *http.Request) {
			fetched.Add(1)
			writeJSON(w, 200, `{"entities":[{"id":"1"}],"cursors":{"after":"r"}}`)
		})
		pages := 0
		var err error
		for p, e := range r.client.Contacts.ScanAll(t.Context(), &ScanOptions{Cursor: start}) {
			if e != nil {
				err = e
				break
			}
			if p.Cursor != start && p.Cursor != "r" {
				t.Errorf("page fetched with cursor %q", p.Cursor)
			}
			pages++
		}
		want := 2 // "" → r, then r → r
		if start == "r" {
			want = 1
		}
		if !errors.Is(err, ErrScanCursorRepeated) || pages != want || int(fetched.Load()) != want {
			t.Errorf("start %q: %d pages yielded, %d fetched, err %v; want %d and a repeated cursor", start, pages, fetched.Load(), err, want)
		}
	}

	h := setup(t)
	h.mux.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 403, `{"message":"no","code":"missing.permissions","status":403}`)
	})
	for _, err := range h.client.Contacts.ScanAll(t.Context(), nil) {
		if !errors.Is(err, ErrForbidden) {
			t.Errorf("err = %v, want ErrForbidden", err)
		}
	}
}

func TestContactsGet(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/api/v2/externalcontacts/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "GET")
		if r.PathValue("id") != "id/with space" {
			t.Errorf("id = %q", r.PathValue("id"))
		}
		if !strings.Contains(r.URL.EscapedPath(), "id%2Fwith%20space") {
			t.Errorf("escaped path = %s", r.URL.EscapedPath())
		}
		writeJSON(w, 200, `{"id":"canon","mergeSet":[{"id":"canon"},{"id":"id/with space"}],"canonicalContact":{"id":"canon"}}`)
	})
	c, _, err := f.client.Contacts.Get(t.Context(), "id/with space")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "canon" || c.CanonicalID() != "canon" || len(c.MergeSet) != 2 {
		t.Errorf("contact = %+v", c)
	}
	if _, _, err := f.client.Contacts.Get(t.Context(), " "); err == nil {
		t.Error("empty id accepted")
	}
}

func TestContactsGetUnresolved(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}/unresolved", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"`+r.PathValue("id")+`","mergedTo":{"id":"canon"}}`)
	})
	c, _, err := f.client.Contacts.GetUnresolved(t.Context(), "old")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "old" || !c.IsMerged() || c.MergedTo.ID != "canon" {
		t.Errorf("contact = %+v", c)
	}
}

func TestContactsGetNotFound(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ININ-Correlation-Id", "corr-404")
		writeJSON(w, 404, `{"message":"contact not found","code":"not.found","status":404,"details":[{"errorCode":"x","entityId":"nope"}]}`)
	})
	c, resp, err := f.client.Contacts.Get(t.Context(), "nope")
	if c != nil {
		t.Errorf("contact = %+v", c)
	}
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err %T is not *APIError", err)
	}
	want := &APIError{Status: 404, Code: "not.found", Message: "contact not found", CorrelationID: "corr-404",
		Details: []ErrorDetail{{ErrorCode: "x", EntityID: "nope"}}, Method: "GET",
		URL: f.server.URL + basePrefix + "/api/v2/externalcontacts/contacts/nope"}
	if d := cmp.Diff(want, ae); d != "" {
		t.Errorf("APIError (-want +got):\n%s", d)
	}
	if resp == nil || resp.CorrelationID != "corr-404" || resp.StatusCode != 404 {
		t.Errorf("resp = %+v", resp)
	}
	if IsAmbiguous(err) {
		t.Error("404 is ambiguous")
	}
	for _, s := range []string{"404", "not.found", "contact not found", "corr-404", "GET"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
}

func TestContactsBulkGet(t *testing.T) {
	f := setup(t)
	var batches [][]string
	f.mux.HandleFunc("POST /api/v2/externalcontacts/bulk/contacts", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Entities []struct {
				ID string `json:"id"`
			} `json:"entities"`
		}
		if err := decodeJSONReader(r, &body); err != nil {
			t.Fatal(err)
		}
		var ids []string
		var results []string
		// Answer in reverse order; "gone" fails; "old" resolves to its
		// canonical contact without naming the requested id.
		for i := len(body.Entities) - 1; i >= 0; i-- {
			id := body.Entities[i].ID
			ids = append([]string{id}, ids...)
			switch id {
			case "gone":
				results = append(results, `{"id":"gone","success":false,"status":404,"error":{"code":"not.found","message":"nope","status":404,"retryable":false}}`)
			case "old":
				results = append(results, `{"success":true,"status":200,"entity":{"id":"canon","mergeSet":[{"id":"canon"},{"id":"old"}]}}`)
			default:
				results = append(results, fmt.Sprintf(`{"id":%q,"success":true,"status":200,"entity":{"id":%q}}`, id, id))
			}
		}
		batches = append(batches, ids)
		writeJSON(w, 200, `{"results":[`+strings.Join(results, ",")+`],"errorCount":0}`)
	})
	var ids []string
	for i := range 150 {
		ids = append(ids, fmt.Sprintf("c%03d", i))
	}
	ids = append(ids, "gone", "old", "c000") // duplicate c000 is dropped
	res, resp, err := f.client.Contacts.BulkGet(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if resp == nil {
		t.Error("nil response")
	}
	if len(batches) != 2 || len(batches[0]) != BulkMax || len(batches[1]) != 52 {
		t.Fatalf("batch sizes = %d", len(batches))
	}
	if len(res) != 152 {
		t.Fatalf("results = %d", len(res))
	}
	for i := range 150 {
		if res[i].ID != ids[i] || !res[i].Success || res[i].Entity.ID != ids[i] {
			t.Fatalf("result %d = %+v", i, res[i])
		}
	}
	if r := res[150]; r.ID != "gone" || r.Success || r.Status != 404 || r.Error == nil || r.Error.Code != "not.found" {
		t.Errorf("gone = %+v", r)
	}
	if r := res[151]; r.ID != "old" || !r.Success || r.Entity.ID != "canon" {
		t.Errorf("old = %+v", r)
	}
}

func TestContactsBulkGetMissingResultAndError(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("POST /api/v2/externalcontacts/bulk/contacts/unresolved", func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"entities":[{"id":"a"},{"id":"b"}]}`)
		writeJSON(w, 200, `{"results":[{"id":"b","success":true,"status":200,"entity":{"id":"b","mergedTo":{"id":"z"}}}],"errorCount":0}`)
	})
	res, _, err := f.client.Contacts.BulkGetUnresolved(t.Context(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].ID != "a" || res[0].Success || res[0].Error.Code != "genesys.result.missing" {
		t.Errorf("a = %+v", res[0])
	}
	if res[1].ID != "b" || !res[1].Entity.IsMerged() {
		t.Errorf("b = %+v", res[1])
	}
	if _, _, err := f.client.Contacts.BulkGet(t.Context(), []string{"a", ""}); err == nil {
		t.Error("empty id accepted")
	}
	res, _, err = f.client.Contacts.BulkGet(t.Context(), nil)
	if err != nil || len(res) != 0 {
		t.Errorf("empty bulk = %v, %v", res, err)
	}
}

func TestContactsLookupIdentifier(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("POST /api/v2/externalcontacts/identifierlookup/contacts", func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"type":"Phone","value":"+1 704 298 4733"}`)
		writeJSON(w, 200, `{"id":"p1","cellPhone":{"display":"+1 704-298-4733","e164":"+17042984733"}}`)
	})
	c, _, err := f.client.Contacts.LookupIdentifier(t.Context(), "Phone", "+1 704 298 4733")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "p1" || c.CellPhone.E164 != "+17042984733" {
		t.Errorf("contact = %+v", c)
	}
	if _, _, err := f.client.Contacts.LookupIdentifier(t.Context(), "", "x"); err == nil {
		t.Error("empty type accepted")
	}
}

func TestContactsMerge(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("POST /api/v2/externalcontacts/contacts/merge", func(w http.ResponseWriter, r *http.Request) {
		testAuth(t, r, "tok-1")
		testJSONBody(t, r, `{"contactIds":["a","b","c"],"valueOverride":{"firstName":"Ann","workEmail":"ann@example.com"}}`)
		writeJSON(w, 200, `{"id":"new","mergedFrom":[{"id":"a"},{"id":"b"},{"id":"c"}],"canonicalContact":{"id":"new"}}`)
	})
	c, _, err := f.client.Contacts.Merge(t.Context(), &MergeRequest{
		ContactIDs:    []string{"a", "b", "c"},
		ValueOverride: &cm.Contact{FirstName: "Ann", WorkEmail: "ann@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "new" || len(c.MergedFrom) != 3 {
		t.Errorf("merged = %+v", c)
	}
}

func TestContactsMergeWithoutOverride(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("POST /api/v2/externalcontacts/contacts/merge", func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"contactIds":["a","b"]}`)
		writeJSON(w, 200, `{"id":"new"}`)
	})
	if _, _, err := f.client.Contacts.Merge(t.Context(), &MergeRequest{ContactIDs: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
}

func TestContactsMergeValidation(t *testing.T) {
	f := setup(t) // no handler: any request would 404 and fail the check below
	many := make([]string, 26)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	for name, mr := range map[string]*MergeRequest{
		"nil":       nil,
		"one":       {ContactIDs: []string{"a"}},
		"26":        {ContactIDs: many},
		"duplicate": {ContactIDs: []string{"a", "a"}},
		"empty":     {ContactIDs: []string{"a", ""}},
	} {
		_, resp, err := f.client.Contacts.Merge(t.Context(), mr)
		if err == nil || resp != nil {
			t.Errorf("%s: err = %v, resp = %v", name, err, resp)
		}
		if IsAmbiguous(err) {
			t.Errorf("%s: local validation error is ambiguous", name)
		}
	}
	if n := f.tokens.Load(); n != 0 {
		t.Errorf("validation failures fetched %d tokens", n)
	}
	_, _, err := f.client.Contacts.Merge(t.Context(), &MergeRequest{ContactIDs: many[:25]})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("25 ids: err = %v, want the server's 404", err)
	}
}

func TestContactsMergeConflict(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("POST /api/v2/externalcontacts/contacts/merge", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 409, `{"message":"a contact has active interactions","code":"conflict","status":409}`)
	})
	_, resp, err := f.client.Contacts.Merge(t.Context(), &MergeRequest{ContactIDs: []string{"a", "b"}})
	if !errors.Is(err, ErrConflict) || IsAmbiguous(err) || resp.StatusCode != 409 {
		t.Errorf("err = %v (ambiguous %v)", err, IsAmbiguous(err))
	}
}
