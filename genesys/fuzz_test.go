package genesys

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

// decodeContact decodes one ExternalContact JSON object with the decoder
// the client uses for responses (Client.Do).
func decodeContact(data []byte) (*cm.Contact, error) {
	c := new(cm.Contact)
	if err := decodeJSON(data, c); err != nil {
		return nil, fmt.Errorf("genesys: decoding contact: %w", err)
	}
	return c, nil
}

// FuzzDecodeContact checks that the response decoder never panics on a
// contact and that what it accepts round-trips without loss.
func FuzzDecodeContact(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"id":"a","firstName":"Ann","workPhone":{"display":"+1 704 298 4733","e164":"+17042984733","extension":12,"acceptsSMS":true}}`,
		`{"id":"b","modifyDate":"2026-05-01T10:00:00.000Z","createDate":"2026-01-01T00:00:00Z","type":"Curated"}`,
		`{"id":"c","mergeSet":[{"id":"c"},{"id":"d","selfUri":"/x"}],"mergedTo":{"id":"e"},"canonicalContact":{"id":"e"},"mergeOperation":null}`,
		`{"customFields":{"k":1,"n":{"a":[1,2,null]}},"schema":{"id":"s","version":3,"jsonSchema":{"type":"object"}}}`,
		`{"externalIds":[{"externalSource":{"id":"src","name":"CRM"},"value":"42"}],"identifiers":[{"type":"Email","value":"a@b"}]}`,
		`{"twitterId":{"screenName":"x"},"lineId":{"ids":[{"userId":"u"}]},"whatsAppId":{"phoneNumber":{"display":"1555"}}}`,
		`{"address":{"address1":"1 Main St","city":"Raleigh","postalCode":"27601","countryCode":"US"}}`,
		`{"id":1}`, `[]`, `null`, `{"modifyDate":"yesterday"}`, `{"id":"\u0000\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeContact(data)
		if err != nil {
			if c != nil {
				t.Fatalf("contact %+v returned with error %v", c, err)
			}
			return
		}
		// What decodes must encode, and the encoding must decode to the
		// same contact (a snapshot round-trips without loss).
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal after decode: %v", err)
		}
		c2, err := decodeContact(out)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
		out2, err := json.Marshal(c2)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(out2) {
			t.Fatalf("round trip differs:\n%s\n%s", out, out2)
		}
		if !c.ModifyDate.Equal(c2.ModifyDate) || c.ID != c2.ID || len(c.MergeSet) != len(c2.MergeSet) ||
			(len(c.MergeSet) > 0 && !reflect.DeepEqual(c.MergeSet, c2.MergeSet)) {
			t.Fatalf("fields differ after round trip: %+v vs %+v", c, c2)
		}
	})
}
