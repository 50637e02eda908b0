package sandbox

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Every datetime the API writes has exactly three digits of milliseconds,
// as the platform's do ("2025-07-24T18:53:06.060Z"); encoding/json's RFC
// 3339 used to drop trailing zeros (".06Z", or no fraction at all).
func TestDatetimesCarryMilliseconds(t *testing.T) {
	cs := simpleContacts(5)
	base := time.Date(2025, 7, 24, 18, 53, 6, 0, time.UTC)
	for i, ms := range []time.Duration{60, 0, 100, 123, 60} {
		cs[i].ModifyDate = base.Add(ms * time.Millisecond)
	}
	cs[4].ModifyDate = cs[4].ModifyDate.Add(900 * time.Microsecond) // the platform keeps milliseconds
	e := loadEnv(t, DefaultConfig(), cs)
	now := e.clock.Now()
	e.sb.AddActivity(Activity{ExternalContactID: "c0000", ConversationID: "live", Start: now.Add(-10*time.Minute + 60*time.Millisecond)})
	e.sb.AddActivity(Activity{ExternalContactID: "c0000", ConversationID: "done", Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour + 500*time.Microsecond)})

	dates := regexp.MustCompile(`"(modifyDate|createDate|conversationStart|conversationEnd)":"([^"]*)"`)
	layout := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	check := func(what string, r response, want ...string) {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
		got := map[string]bool{}
		for _, m := range dates.FindAllStringSubmatch(string(r.body), -1) {
			if !layout.MatchString(m[2]) {
				t.Errorf("%s: %s %q does not carry milliseconds", what, m[1], m[2])
			}
			got[m[2]] = true
		}
		for _, w := range want {
			if !got[w] {
				t.Errorf("%s: %s not written (have %v)", what, w, slices.Sorted(maps.Keys(got)))
			}
		}
	}
	check("get", e.get("c0000"), "2025-07-24T18:53:06.060Z", "2025-01-01T00:00:00.000Z")
	check("get", e.get("c0001"), "2025-07-24T18:53:06.000Z")
	check("unresolved", e.do("GET", "/api/v2/externalcontacts/contacts/c0002/unresolved", nil), "2025-07-24T18:53:06.100Z")
	check("scan", e.do("GET", "/api/v2/externalcontacts/scan/contacts?limit=10", nil),
		"2025-07-24T18:53:06.060Z", "2025-07-24T18:53:06.000Z", "2025-07-24T18:53:06.100Z", "2025-07-24T18:53:06.123Z")
	check("search", e.do("GET", "/api/v2/externalcontacts/contacts?q=First0004", nil), "2025-07-24T18:53:06.060Z")
	check("bulk", e.do("POST", "/api/v2/externalcontacts/bulk/contacts", map[string]any{"entities": []map[string]string{{"id": "c0003"}}}),
		"2025-07-24T18:53:06.123Z")
	check("lookup", e.do("POST", "/api/v2/externalcontacts/identifierlookup/contacts", map[string]string{"type": "Email", "value": "p0001@example.com"}),
		"2025-07-24T18:53:06.000Z")
	check("analytics", e.do("POST", "/api/v2/analytics/conversations/details/query", map[string]any{
		"interval": now.Add(-24*time.Hour).Format(time.RFC3339) + "/" + now.Add(time.Hour).Format(time.RFC3339),
		"segmentFilters": []any{map[string]any{"type": "or", "predicates": []any{
			map[string]string{"type": "dimension", "dimension": "externalContactId", "value": "c0000"}}}},
	}), "2026-05-14T09:50:00.060Z", "2026-05-14T08:00:00.000Z", "2026-05-14T09:00:00.000Z")
	merged := e.merge([]string{"c0001", "c0002"}, nil)
	check("merge", merged, "2026-05-14T10:00:00.000Z")

	// What the API writes is what the sandbox holds: millisecond dates.
	var c cm.Contact
	merged.decode(t, &c)
	held, _ := e.sb.Contact(c.ID)
	if !held.ModifyDate.Equal(c.ModifyDate) || held.ModifyDate.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("held %v, written %v", held.ModifyDate, c.ModifyDate)
	}
	if got, _ := e.sb.Contact("c0004"); !got.ModifyDate.Equal(base.Add(60 * time.Millisecond)) {
		t.Errorf("loaded date kept below the millisecond: %v", got.ModifyDate)
	}
}

// The wire form of a contact is cm.Contact's JSON with only the dates
// re-formatted: every other field comes out the same.
func TestWireContactSameFields(t *testing.T) {
	for _, c := range Generate(GenConfig{Contacts: 200, Seed: 4}).Contacts {
		c = withSelf(c)
		a, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(wire(c))
		if err != nil {
			t.Fatal(err)
		}
		var ma, mb map[string]any
		if err := json.Unmarshal(a, &ma); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &mb); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"modifyDate", "createDate"} {
			ta, _ := time.Parse(time.RFC3339Nano, ma[k].(string))
			tb, _ := time.Parse(TimeLayout, mb[k].(string))
			if !ta.Equal(tb) {
				t.Fatalf("%s: %v vs %v", k, ma[k], mb[k])
			}
			delete(ma, k)
			delete(mb, k)
		}
		ja, _ := json.Marshal(ma)
		jb, _ := json.Marshal(mb)
		if string(ja) != string(jb) {
			t.Fatalf("fields differ:\n%s\n%s", ja, jb)
		}
	}
}
