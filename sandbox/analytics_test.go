package sandbox

import (
	"strings"
	"testing"
	"time"
)

// activeQuery is the query of GENESYS_API.md §6 over [from, to): active
// conversations (conversationEnd notExists) of ids, or of everyone when ids
// is empty and filtered is false (no filter at all).
func activeQuery(from, to time.Time, filtered bool, ids ...string) map[string]any {
	q := map[string]any{
		"interval": from.Format(time.RFC3339) + "/" + to.Format(time.RFC3339),
		"paging":   map[string]int{"pageSize": 100, "pageNumber": 1},
	}
	if filtered {
		q["conversationFilters"] = []any{map[string]any{"type": "and", "predicates": []any{
			map[string]string{"type": "dimension", "dimension": "conversationEnd", "operator": "notExists"}}}}
	}
	if len(ids) > 0 {
		preds := make([]any, len(ids))
		for i, id := range ids {
			preds[i] = map[string]string{"type": "dimension", "dimension": "externalContactId", "operator": "matches", "value": id}
		}
		q["segmentFilters"] = []any{map[string]any{"type": "or", "predicates": preds}}
	}
	return q
}

type queryResult struct {
	Conversations []struct {
		ConversationID string `json:"conversationId"`
	} `json:"conversations"`
	TotalHits int `json:"totalHits"`
}

const detailsQuery = "/api/v2/analytics/conversations/details/query"

// TestAnalyticsIntervalRule: the details query returns only conversations
// that started on a day the interval touches, so an open conversation that
// started 10 days ago is invisible to a 7-day lookback and visible to a
// 30-day one; an interval may span at most 31 days with a filter and 7
// without (400 bad.request naming the limit otherwise).
func TestAnalyticsIntervalRule(t *testing.T) {
	e := loadEnv(t, DefaultConfig(), simpleContacts(3))
	now := e.clock.Now() // 10:00 UTC
	e.sb.AddActivity(Activity{ExternalContactID: "c0000", ConversationID: "email-10d", Start: now.Add(-10 * 24 * time.Hour)})
	e.sb.AddActivity(Activity{ExternalContactID: "c0001", ConversationID: "early-today", Start: now.Add(-9 * time.Hour)})
	hits := func(q map[string]any) []string {
		t.Helper()
		r := e.do("POST", detailsQuery, q)
		if r.status != 200 {
			t.Fatalf("query %v: %d %s", q["interval"], r.status, r.body)
		}
		var out queryResult
		r.decode(t, &out)
		var ids []string
		for _, c := range out.Conversations {
			ids = append(ids, c.ConversationID)
		}
		return ids
	}
	if got := hits(activeQuery(now.Add(-7*24*time.Hour), now.Add(time.Hour), true, "c0000", "c0001")); len(got) != 1 || got[0] != "early-today" {
		t.Errorf("7-day lookback: %v, want only early-today", got)
	}
	if got := hits(activeQuery(now.Add(-30*24*time.Hour), now.Add(time.Hour), true, "c0000")); len(got) != 1 || got[0] != "email-10d" {
		t.Errorf("30-day lookback: %v, want email-10d", got)
	}
	// The day the interval starts on counts whole: a conversation started
	// at 01:00 is found by an interval starting at 09:59.
	if got := hits(activeQuery(now.Add(-time.Minute), now.Add(time.Hour), true, "c0001")); len(got) != 1 {
		t.Errorf("same day, earlier: %v", got)
	}
	// Limits: 31 days with a filter, 7 without.
	if got := hits(activeQuery(now.Add(-31*24*time.Hour), now, true, "c0000")); len(got) != 1 {
		t.Errorf("31 days: %v", got)
	}
	if got := hits(activeQuery(now.Add(-7*24*time.Hour), now, false)); len(got) != 1 {
		t.Errorf("7 days without a filter: %v", got)
	}
	for _, tc := range []struct {
		from     time.Time
		filtered bool
		ids      []string
		span     string
		with     string
		limit    string
	}{
		{now.Add(-32 * 24 * time.Hour), true, []string{"c0000"}, "32 days", "with", "31 days"},
		{now.Add(-31*24*time.Hour - time.Hour), false, []string{"c0000"}, "31.04 days", "with", "31 days"},
		{now.Add(-8 * 24 * time.Hour), false, nil, "8 days", "without", "7 days"},
	} {
		r := e.do("POST", detailsQuery, activeQuery(tc.from, now, tc.filtered, tc.ids...))
		b := r.errBody(t)
		if r.status != 400 || b.Code != "bad.request" || b.MessageParams["span"] != tc.span || b.MessageParams["with"] != tc.with ||
			b.MessageParams["limit"] != tc.limit || !strings.Contains(b.Message, "at most "+tc.limit) || b.MessageWithParams == "" {
			t.Errorf("%s %s filters: %d %s", tc.span, tc.with, r.status, r.body)
		}
	}
	cfg := DefaultConfig()
	cfg.MaxAnalyticsInterval, cfg.MaxAnalyticsIntervalUnfiltered = -1, -1
	e2 := loadEnv(t, cfg, simpleContacts(1))
	if r := e2.do("POST", detailsQuery, activeQuery(now.Add(-90*24*time.Hour), now, false)); r.status != 200 {
		t.Errorf("no limits: %d %s", r.status, r.body)
	}
}

// TestAnalyticsPredicateLimit: a predicate list over MaxAnalyticsPredicates
// (default 100) is a 400 bad.request naming the list and the limit; the
// limit is per list, so 100 contact ids beside the conversationEnd
// predicate are fine.
func TestAnalyticsPredicateLimit(t *testing.T) {
	e := loadEnv(t, DefaultConfig(), simpleContacts(1))
	now := e.clock.Now()
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "c" + pad(i, 4)
		}
		return out
	}
	if r := e.do("POST", detailsQuery, activeQuery(now.Add(-24*time.Hour), now, true, ids(100)...)); r.status != 200 {
		t.Fatalf("100 ids: %d %s", r.status, r.body)
	}
	r := e.do("POST", detailsQuery, activeQuery(now.Add(-24*time.Hour), now, true, ids(101)...))
	b := r.errBody(t)
	if r.status != 400 || b.Code != "bad.request" || b.MessageParams["field"] != "segmentFilters[0].predicates" ||
		b.MessageParams["limit"] != "100" || b.MessageParams["count"] != "101" || !strings.Contains(b.Message, "at most 100") {
		t.Fatalf("101 ids: %d %s", r.status, r.body)
	}
	// Nested clauses count per list too.
	q := activeQuery(now.Add(-24*time.Hour), now, true)
	q["segmentFilters"] = []any{map[string]any{"type": "or", "clauses": []any{activeQuery(now, now, false, ids(101)...)["segmentFilters"].([]any)[0]}}}
	if r := e.do("POST", detailsQuery, q); r.status != 400 || r.errBody(t).MessageParams["field"] != "segmentFilters[0].clauses[0].predicates" {
		t.Fatalf("101 ids in a clause: %d %s", r.status, r.body)
	}
	cfg := DefaultConfig()
	cfg.MaxAnalyticsPredicates = 5
	e2 := loadEnv(t, cfg, simpleContacts(1))
	if r := e2.do("POST", detailsQuery, activeQuery(now.Add(-24*time.Hour), now, true, ids(6)...)); r.status != 400 || r.errBody(t).MessageParams["limit"] != "5" {
		t.Fatalf("MaxAnalyticsPredicates 5: %d %s", r.status, r.body)
	}
}
