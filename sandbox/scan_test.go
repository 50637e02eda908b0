package sandbox

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// scanPage fetches one scan page (cursor "" for the first) and returns the
// response and the next cursor.
func (e *env) scanPage(cursor string, limit int) (response, string) {
	e.t.Helper()
	q := url.Values{"limit": {itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	r := e.do("GET", "/api/v2/externalcontacts/scan/contacts?"+q.Encode(), nil)
	var l cursorListing
	if r.status == 200 {
		r.decode(e.t, &l)
	}
	next := ""
	if l.Cursors != nil {
		next = l.Cursors.After
	}
	return r, next
}

// TestScanCursorExpires: each page's cursor lives CursorTTL (default 24h,
// as the platform documents) on the sandbox's clock; a scan resumed later
// gets 400 bad.request saying the cursor expired and must restart.
func TestScanCursorExpires(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TokenTTL = 1000 * 24 * time.Hour // tokens outlive the cursors here
	e := loadEnv(t, cfg, simpleContacts(40))
	_, c1 := e.scanPage("", 10)
	e.clock.Advance(24*time.Hour - time.Millisecond)
	r, c2 := e.scanPage(c1, 10)
	if r.status != 200 || c2 == "" {
		t.Fatalf("a cursor 1 ms before its TTL: %d %s", r.status, r.body)
	}
	// Each page hands out a new cursor with a TTL of its own.
	e.clock.Advance(time.Millisecond)
	if r, _ := e.scanPage(c2, 10); r.status != 200 {
		t.Fatalf("the next page's fresh cursor: %d %s", r.status, r.body)
	}
	r, _ = e.scanPage(c1, 10)
	b := r.errBody(t)
	if r.status != 400 || b.Code != "bad.request" || !strings.Contains(b.Message, "expired") || b.MessageParams["ttl"] != "1 day" ||
		!strings.Contains(b.MessageWithParams, "{ttl}") || b.ContextID == "" {
		t.Fatalf("expired cursor: %d %s", r.status, r.body)
	}
	// Starting over works.
	if ids := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 10, nil); len(ids) != 40 {
		t.Fatalf("restarted scan: %d", len(ids))
	}
	// A malformed cursor is still "not valid", not "expired".
	if r, _ := e.scanPage("bm9wZQ", 10); r.status != 400 || strings.Contains(r.errBody(t).Message, "expired") {
		t.Fatalf("malformed cursor: %d %s", r.status, r.body)
	}

	cfg.CursorTTL = 10 * time.Minute
	e2 := loadEnv(t, cfg, simpleContacts(40))
	_, c := e2.scanPage("", 10)
	e2.clock.Advance(10 * time.Minute)
	if r, _ := e2.scanPage(c, 10); r.status != 400 || r.errBody(t).MessageParams["ttl"] != "10m" {
		t.Fatalf("CursorTTL 10m: %d %s", r.status, r.body)
	}
	cfg.CursorTTL = -1
	e3 := loadEnv(t, cfg, simpleContacts(40))
	_, c = e3.scanPage("", 10)
	e3.clock.Advance(400 * 24 * time.Hour)
	if r, _ := e3.scanPage(c, 10); r.status != 200 {
		t.Fatalf("CursorTTL < 0 (never expires): %d %s", r.status, r.body)
	}
}

// TestBulkLimit: a bulk read over MaxBulkIDs (default 100) is a 400
// bad.request pointing at the batch size.
func TestBulkLimit(t *testing.T) {
	ids := func(n int) map[string]any {
		es := make([]map[string]string, n)
		for i := range es {
			es[i] = map[string]string{"id": "c" + pad(i%5, 4)}
		}
		return map[string]any{"entities": es}
	}
	e := loadEnv(t, DefaultConfig(), simpleContacts(5))
	for _, path := range []string{"/api/v2/externalcontacts/bulk/contacts", "/api/v2/externalcontacts/bulk/contacts/unresolved"} {
		if r := e.do("POST", path, ids(100)); r.status != 200 {
			t.Fatalf("%s 100 ids: %d", path, r.status)
		}
		r := e.do("POST", path, ids(101))
		b := r.errBody(t)
		if r.status != 400 || b.Code != "bad.request" || b.MessageParams["limit"] != "100" || b.MessageParams["count"] != "101" ||
			b.MessageParams["field"] != "entities" || !strings.Contains(b.Message, "at most 100") || !strings.Contains(b.MessageWithParams, "{limit}") {
			t.Fatalf("%s 101 ids: %d %s", path, r.status, r.body)
		}
	}
	cfg := DefaultConfig()
	cfg.MaxBulkIDs = 10
	e2 := loadEnv(t, cfg, simpleContacts(5))
	if r := e2.do("POST", "/api/v2/externalcontacts/bulk/contacts", ids(11)); r.status != 400 || r.errBody(t).MessageParams["limit"] != "10" {
		t.Fatalf("MaxBulkIDs 10: %d %s", r.status, r.body)
	}
	cfg.MaxBulkIDs = -1
	e3 := loadEnv(t, cfg, simpleContacts(5))
	if r := e3.do("POST", "/api/v2/externalcontacts/bulk/contacts", ids(500)); r.status != 200 {
		t.Fatalf("MaxBulkIDs < 0 (no limit): %d", r.status)
	}
}
