package genesys_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/contactmerge/contactmerge/genesys"
)

// TestScanOfSandboxDecodesAsEncodingJSON: every page of a generated
// organization decodes with the scan's decoder to the contacts
// encoding/json makes of the same body.
func TestScanOfSandboxDecodesAsEncodingJSON(t *testing.T) {
	_, c := newSandbox(t, 1500, nil, nil)
	pages := 0
	for page, err := range c.Contacts.ScanAll(t.Context(), &genesys.ScanOptions{Limit: genesys.ScanLimitMax}) {
		if err != nil {
			t.Fatal(err)
		}
		path := "/api/v2/externalcontacts/scan/contacts?limit=200"
		if page.Cursor != "" {
			path += "&cursor=" + page.Cursor
		}
		req, err := c.NewRequest(t.Context(), http.MethodGet, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		if _, err := c.Do(req, &body); err != nil {
			t.Fatal(err)
		}
		want := new(genesys.ScanPage)
		if err := json.Unmarshal(body.Bytes(), want); err != nil {
			t.Fatal(err)
		}
		// The cursors carry the time they were issued: only the contacts
		// compare.
		if d := cmp.Diff(want.Entities, page.Entities); d != "" || len(page.Entities) == 0 {
			t.Fatalf("page %d (-encoding/json +scan decoder):\n%s", pages+1, d)
		}
		pages++
	}
	if pages < 7 {
		t.Errorf("%d pages compared, want the 8 of 1500 contacts", pages)
	}
}
