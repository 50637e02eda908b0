package sandbox

import (
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// TestMergeLimits: malformed merges (not 2 to 25 ids, a repeated id) are
// 400s in both modes; merges that name what cannot be merged (an unknown id,
// a merge set over 52) are 422 payload.or.params.invalid with the reason
// nested, or with LegacyMergeErrors what the sandbox used to answer (404,
// 400 merge.set.limit.exceeded). Nothing refused is applied.
func TestMergeLimits(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.LegacyMergeErrors = legacy
		e := loadEnv(t, cfg, simpleContacts(60))
		ids := func(from, to int) []string {
			var out []string
			for i := from; i < to; i++ {
				out = append(out, "c"+pad(i, 4))
			}
			return out
		}
		for _, tc := range []struct {
			name string
			ids  []string
			want int
		}{
			{"one id", ids(0, 1), 400},
			{"26 ids", ids(0, 26), 400},
			{"duplicate id", []string{"c0000", "c0000"}, 400},
		} {
			r := e.merge(tc.ids, nil)
			if r.status != tc.want || r.errBody(t).Message == "" || r.errBody(t).Code != "bad.request" {
				t.Fatalf("legacy=%v %s: %d %s", legacy, tc.name, r.status, r.body)
			}
		}
		r := e.merge([]string{"c0000", "missing"}, nil)
		if legacy && (r.status != 404 || r.errBody(t).Code != "not.found" || r.errBody(t).Message == "") ||
			!legacy && !isInvalidMerge(t, r, "not.found", "missing") {
			t.Fatalf("legacy=%v missing id: %d %s", legacy, r.status, r.body)
		}
		var a, b cm.Contact
		ra := e.merge(ids(0, 25), nil)
		ra.decode(t, &a)
		rb := e.merge(ids(25, 50), nil)
		rb.decode(t, &b)
		if ra.status != 200 || rb.status != 200 || len(a.MergeSet) != 26 {
			t.Fatalf("25-id merges: %d %d", ra.status, rb.status)
		}
		r = e.merge([]string{a.ID, b.ID}, nil)
		if legacy && (r.status != 400 || r.errBody(t).Code != "merge.set.limit.exceeded") ||
			!legacy && !isInvalidMerge(t, r, "merge.set.limit.exceeded", "") ||
			!strings.Contains(r.errBody(t).Message, "52") {
			t.Fatalf("legacy=%v set of 53: %d %s", legacy, r.status, r.body)
		}
		if !legacy && (r.errBody(t).Errors[0].MessageParams["limit"] != "52" || r.errBody(t).Errors[0].MessageParams["size"] != "53") {
			t.Fatalf("set of 53: params %s", r.body)
		}
		if len(e.sb.Oplog()) != 2 {
			t.Fatal("a refused merge was applied")
		}
		// 26 + 25 + 1 = 52 is allowed.
		r = e.merge(append([]string{a.ID}, ids(50, 60)...), nil)
		if r.status != 200 {
			t.Fatalf("set of 37: %d %s", r.status, r.body)
		}
	}
}

// isInvalidMerge reports whether r is the 422 of a merge that cannot be
// done: code payload.or.params.invalid, the reason nested in errors[] with
// code inner, entityId naming the contact to blame (entity, "" for none),
// the platform's body fields filled in.
func isInvalidMerge(t *testing.T, r response, inner, entity string) bool {
	t.Helper()
	if r.status != 422 {
		return false
	}
	b := r.errBody(t)
	return b.Code == "payload.or.params.invalid" && b.Status == 422 && b.EntityID == entity && b.ContextID != "" &&
		b.MessageWithParams != "" && b.MessageParams["reason"] != "" && strings.Contains(b.Message, b.MessageParams["reason"]) &&
		len(b.Errors) == 1 && b.Errors[0].Code == inner && b.Errors[0].Message == b.MessageParams["reason"] && b.Errors[0].ContextID == ""
}

func TestMergeFieldResolution(t *testing.T) {
	cs := simpleContacts(3)
	cs[0].WorkEmail = "old@work.com"
	cs[0].HomePhone = &cm.PhoneNumber{Display: "704-555-0101", E164: "+17045550101"}
	cs[1].Title = "Newest title"
	cs[1].Address = &cm.Address{City: "Charlotte"}
	cs[1].ModifyDate = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) // the most recent
	cs[2].CellPhone = cs[1].CellPhone                              // same number: not duplicated
	e := loadEnv(t, DefaultConfig(), cs)
	over := &cm.Contact{FirstName: "Chosen", OtherPhone: &cm.PhoneNumber{Display: "(212) 555-0199"}}
	r := e.merge([]string{"c0000", "c0001", "c0002"}, over)
	var m cm.Contact
	r.decode(t, &m)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if m.FirstName != "Chosen" {
		t.Fatalf("valueOverride ignored: %q", m.FirstName)
	}
	if m.Title != "Newest title" || m.Address == nil || m.Address.City != "Charlotte" || m.PersonalEmail != "p0001@example.com" {
		t.Fatalf("most recent not used: %+v", m)
	}
	// Conflicting phones and emails moved into free slots.
	if m.CellPhone.E164 != cs[1].CellPhone.E164 || m.WorkPhone == nil || m.HomePhone == nil {
		t.Fatalf("phones: %+v %+v %+v", m.WorkPhone, m.CellPhone, m.HomePhone)
	}
	if m.OtherPhone == nil || m.OtherPhone.E164 != "+12125550199" {
		t.Fatalf("override phone not normalized: %+v", m.OtherPhone)
	}
	emails := []string{m.WorkEmail, m.PersonalEmail, m.OtherEmail}
	// c0001 (newest) keeps its slot, c0002 then c0000 fill the free slots in
	// order of recency; p0000 finds no free slot.
	if !slices.Equal(emails, []string{"p0002@example.com", "p0001@example.com", "old@work.com"}) {
		t.Fatalf("emails: %v", emails)
	}
	if !m.ModifyDate.Equal(e.clock.Now()) {
		t.Fatalf("modifyDate %v", m.ModifyDate)
	}
	// A malformed valueOverride is a 400.
	if r := e.do("POST", "/api/v2/externalcontacts/contacts/merge", map[string]any{"contactIds": []string{"c0000", "x"}, "valueOverride": map[string]any{"workEmail": "not-an-email"}}); r.status != 400 {
		t.Fatalf("bad override: %d", r.status)
	}
}

func TestDeprecatedMerge(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		cs := simpleContacts(4)
		cs[2].Type = cm.TypeIdentified
		cfg := DefaultConfig()
		cfg.LegacyMergeErrors = legacy
		e := loadEnv(t, cfg, cs)
		path := "/api/v2/externalcontacts/merge/contacts"
		r := e.do("POST", path, map[string]string{"sourceContactId": "c0000", "targetContactId": "c0001"})
		if legacy && r.status != 400 || !legacy && !isInvalidMerge(t, r, "bad.request", "") || !strings.Contains(r.errBody(t).Message, "curated") {
			t.Fatalf("legacy=%v two curated: %d %s", legacy, r.status, r.body)
		}
		if r := e.do("POST", path, map[string]string{"sourceContactId": "c0000"}); r.status != 400 {
			t.Fatalf("missing target: %d", r.status)
		}
		r = e.do("POST", path, map[string]string{"sourceContactId": "c0002", "targetContactId": "c0003"})
		var m cm.Contact
		r.decode(t, &m)
		if r.status != 200 || m.Type != cm.TypeCurated || len(m.MergeSet) != 3 {
			t.Fatalf("identified+curated: %d %s", r.status, r.body)
		}
		if ops := e.sb.Oplog(); len(ops) != 1 || ops[0].Op != "merge2" || ops[0].Result != m.ID {
			t.Fatalf("oplog %+v", ops)
		}
	}
}

func TestConflictOnActiveContact(t *testing.T) {
	e := loadEnv(t, DefaultConfig(), simpleContacts(4))
	e.sb.AddActivity(Activity{ExternalContactID: "c0001", ConversationID: "conv-1", Start: e.clock.Now().Add(-time.Minute)})
	e.sb.AddActivity(Activity{ExternalContactID: "c0002", CaseID: "case-1", Status: "Open"})
	if got := e.sb.ActiveContacts(); !slices.Equal(got, []string{"c0001", "c0002"}) {
		t.Fatalf("ActiveContacts %v", got)
	}
	for _, ids := range [][]string{{"c0000", "c0001"}, {"c0000", "c0002"}} {
		r := e.merge(ids, nil)
		b := r.errBody(t)
		if r.status != 409 || strings.Contains(b.Message, ids[1]) {
			t.Fatalf("active merge: %d %s", r.status, r.body)
		}
	}
	if n := e.sb.EndActivity("c0001"); n != 1 {
		t.Fatalf("EndActivity = %d", n)
	}
	if r := e.merge([]string{"c0000", "c0001"}, nil); r.status != 200 {
		t.Fatalf("after the conversation ended: %d %s", r.status, r.body)
	}
	// Configurable: without ConflictOnActivity the merge goes through.
	cfg := DefaultConfig()
	cfg.ConflictOnActivity = false
	e2 := loadEnv(t, cfg, simpleContacts(2))
	e2.sb.AddActivity(Activity{ExternalContactID: "c0001", ConversationID: "conv-1", Start: e2.clock.Now()})
	if r := e2.merge([]string{"c0000", "c0001"}, nil); r.status != 200 {
		t.Fatalf("ConflictOnActivity=false: %d", r.status)
	}
}
