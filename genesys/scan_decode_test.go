package genesys

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scanDecodeBody is a scan page that exercises what encoding/json does its
// own way: keys matched regardless of case, a key twice (the last wins),
// unknown members, raw values kept as sent (spaces included), numbers in
// custom fields, nulls, escapes, invalid UTF-8 and times with offsets.
const scanDecodeBody = `{"entities":[
 {"id":"a","FIRSTNAME":"Ann","firstName":"Anne","lastName":"O\u2019Neil \ud83d\ude00","unknown":{"x":[1,2]},
  "workPhone":{"display":"+1 555","e164":"+1555"},"twitterId":{ "screenName" : "ann" },
  "customFields":{"n":1.5,"big":12345678901234567890,"s":"x","l":[true,null]},
  "modifyDate":"2026-03-04T05:06:07.123+02:00","createDate":"2026-01-01T00:00:00Z","surveyOptOut":false,
  "externalIds":[{"externalSource":{"id":"s1","name":"CRM"},"value":"v1"}],"mergeSet":[{"id":"b"}],"address":null},
 {"id":"b","workEmail":"b` + "\xff" + `b@x.org","division":{"id":"d1","name":"Home"},"type":"Curated","identifiers":[]}
],"cursors":{"after":"c2"},"selfUri":"/self","previousUri":"/prev"}`

// TestScanDecodesAsEncodingJSON: the scan's decoder (go-json-experiment
// with the v1 options) gives the page encoding/json gives.
func TestScanDecodesAsEncodingJSON(t *testing.T) {
	for name, body := range map[string]string{"edge cases": scanDecodeBody} {
		t.Run(name, func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			})
			got, _, err := f.client.Contacts.Scan(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := new(ScanPage)
			if err := json.Unmarshal([]byte(body), want); err != nil {
				t.Fatal(err)
			}
			if len(want.Entities) == 0 {
				t.Fatal("the body has no entities")
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("page (-encoding/json +scan decoder):\n%s", d)
			}
		})
	}
}

// TestScanMalformedBody: a 2xx body that does not decode is an error
// wrapping ErrMalformedResponse that names the request, as Do's; an empty
// body is an empty page.
func TestScanMalformedBody(t *testing.T) {
	f := setup(t)
	body := `{"entities":[{"id":"a"`
	f.mux.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(body))
	})
	_, _, err := f.client.Contacts.Scan(t.Context(), nil)
	if !errors.Is(err, ErrMalformedResponse) || !IsAmbiguous(err) || !strings.Contains(err.Error(), "GET ") ||
		!strings.Contains(err.Error(), "/api/v2/externalcontacts/scan/contacts") {
		t.Errorf("Scan of a truncated body = %v, want ErrMalformedResponse naming the request", err)
	}
	body = "  \n"
	page, _, err := f.client.Contacts.Scan(t.Context(), nil)
	if err != nil || page == nil || len(page.Entities) != 0 {
		t.Errorf("Scan of an empty body = %+v, %v; want an empty page", page, err)
	}
}
