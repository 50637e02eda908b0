package sandbox

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// TestHistoryChangesNoContact: History adds conversations, deterministic
// by seed, without changing a generated contact or the other activity; every
// auto-created contact has one, all are ended and in the last 62 days.
func TestHistoryChangesNoContact(t *testing.T) {
	cfg := GenConfig{Contacts: 2000, Seed: 7, ActivityRate: 0.05, CuratedDuplicates: true}
	plain := Generate(cfg)
	cfg.History = true
	hist, again := Generate(cfg), Generate(cfg)
	if !reflect.DeepEqual(plain.Contacts, hist.Contacts) || !reflect.DeepEqual(plain.Truth, hist.Truth) {
		t.Fatal("History changed the generated contacts or the truth")
	}
	if !reflect.DeepEqual(plain.Activity, hist.Activity[:len(plain.Activity)]) {
		t.Fatal("History changed the other activity")
	}
	if !reflect.DeepEqual(hist.Activity, again.Activity) {
		t.Fatal("History is not deterministic for a seed")
	}
	conv := map[string]int{}
	for _, a := range hist.Activity[len(plain.Activity):] {
		if a.End.IsZero() || a.End.Before(a.Start) || a.Start.Before(GenEpoch().Add(-historyDays*day)) || a.End.After(GenEpoch()) {
			t.Fatalf("conversation %+v is not an ended one of the last %d days", a, historyDays)
		}
		conv[a.ExternalContactID]++
	}
	auto, curated, recent := 0, 0, 0
	for _, c := range hist.Contacts {
		switch c.Type {
		case cm.TypeCurated:
			if conv[c.ID] > 0 {
				curated++
			}
		default:
			auto++
			if conv[c.ID] == 0 {
				t.Fatalf("auto-created contact %s has no conversation", c.ID)
			}
		}
	}
	for _, a := range hist.Activity[len(plain.Activity):] {
		if a.Start.After(GenEpoch().Add(-31 * day)) {
			recent++
		}
	}
	t.Logf("%d conversations: %d auto-created contacts, %d curated ones with a conversation, %d in the last 31 days",
		len(hist.Activity)-len(plain.Activity), auto, curated, recent)
}

// jobStatus is the AsyncQueryStatus the sandbox answers.
type jobStatus struct {
	State string `json:"state"`
}

type jobPage struct {
	Conversations []struct {
		ConversationID string `json:"conversationId"`
		Participants   []struct {
			ExternalContactID string `json:"externalContactId"`
			Purpose           string `json:"purpose"`
		} `json:"participants"`
	} `json:"conversations"`
	Cursor string `json:"cursor"`
}

// TestAnalyticsJobs walks a details job: QUEUED until the delay passed,
// results refused until FULFILLED, pages of pageSize with a cursor absent on
// the last page, every conversation once; a bad pageSize, a foreign cursor
// and an unknown job are refused; a deleted job is gone; a day after it is
// fulfilled a job is EXPIRED.
func TestAnalyticsJobs(t *testing.T) {
	e := loadEnv(t, Config{AnalyticsJobDelay: time.Minute, MaxJobPageSize: 4}, simpleContacts(5))
	now := e.clock.Now()
	for i := range 10 {
		e.sb.AddActivity(Activity{ExternalContactID: "c000" + pad(i%5, 1), ConversationID: "conv" + pad(i, 2),
			Start: now.Add(-time.Duration(i+1) * day), End: now.Add(-time.Duration(i+1)*day + time.Minute)})
	}
	e.sb.AddActivity(Activity{ExternalContactID: "c0000", ConversationID: "old", Start: now.Add(-40 * day), End: now.Add(-40*day + time.Minute)})
	q := map[string]any{
		"interval": now.Add(-31*day).Format(time.RFC3339) + "/" + now.Format(time.RFC3339),
		"segmentFilters": []any{map[string]any{"type": "and", "predicates": []any{
			map[string]string{"type": "dimension", "dimension": "externalContactId", "operator": "exists"}}}},
	}
	r := e.do("POST", "/api/v2/analytics/conversations/details/jobs", q)
	var created struct {
		JobID string `json:"jobId"`
	}
	r.decode(t, &created)
	if r.status != 202 || created.JobID == "" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	base := "/api/v2/analytics/conversations/details/jobs/" + created.JobID
	var st jobStatus
	e.do("GET", base, nil).decode(t, &st)
	if st.State != "QUEUED" {
		t.Fatalf("state before the delay: %q", st.State)
	}
	if r := e.do("GET", base+"/results", nil); r.status != 400 {
		t.Fatalf("results of a queued job: %d %s", r.status, r.body)
	}
	e.clock.Advance(time.Minute)
	e.do("GET", base, nil).decode(t, &st)
	if st.State != "FULFILLED" {
		t.Fatalf("state after the delay: %q", st.State)
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		v := url.Values{"pageSize": {"4"}}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		r := e.do("GET", base+"/results?"+v.Encode(), nil)
		if r.status != 200 {
			t.Fatalf("results page %d: %d %s", pages+1, r.status, r.body)
		}
		var p jobPage
		r.decode(t, &p)
		pages++
		for _, c := range p.Conversations {
			if seen[c.ConversationID] {
				t.Fatalf("conversation %s twice", c.ConversationID)
			}
			seen[c.ConversationID] = true
			if c.Participants[0].Purpose != "customer" || c.Participants[0].ExternalContactID == "" {
				t.Fatalf("conversation %s has no customer contact: %+v", c.ConversationID, c.Participants)
			}
		}
		if cursor = p.Cursor; cursor == "" {
			break
		}
	}
	if len(seen) != 10 || seen["old"] || pages != 3 {
		t.Fatalf("%d conversations in %d pages (old: %v), want 10 in 3", len(seen), pages, seen["old"])
	}
	for _, bad := range []string{"?pageSize=5", "?pageSize=0", "?cursor=" + encodeJobCursor("other", 4)} {
		if r := e.do("GET", base+"/results"+bad, nil); r.status != 400 {
			t.Errorf("results%s: %d %s", bad, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/v2/analytics/conversations/details/jobs/nope", nil); r.status != 404 {
		t.Errorf("unknown job: %d", r.status)
	}
	if r := e.do("DELETE", base, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do("GET", base+"/results", nil); r.status != 404 {
		t.Errorf("results of a deleted job: %d", r.status)
	}
	if r := e.do("POST", "/api/v2/analytics/conversations/details/jobs", map[string]any{"interval": "yesterday"}); r.status != 400 {
		t.Errorf("bad interval: %d", r.status)
	}
	e.do("POST", "/api/v2/analytics/conversations/details/jobs", q).decode(t, &created)
	e.clock.Advance(2 * day)
	e.token = e.fetchToken()
	e.do("GET", "/api/v2/analytics/conversations/details/jobs/"+created.JobID, nil).decode(t, &st)
	if st.State != "EXPIRED" {
		t.Errorf("state two days later: %q", st.State)
	}
}

// TestAnalyticsExistsPredicate: externalContactId exists keeps the
// conversations naming a contact and lifts the 7-day limit of unfiltered
// queries; on another dimension it is refused.
func TestAnalyticsExistsPredicate(t *testing.T) {
	e := loadEnv(t, Config{}, simpleContacts(2))
	now := e.clock.Now()
	e.sb.AddActivity(Activity{ExternalContactID: "c0000", ConversationID: "a", Start: now.Add(-20 * day), End: now.Add(-20*day + time.Minute)})
	e.sb.AddActivity(Activity{ExternalContactID: "c0001", ConversationID: "b", Start: now.Add(-2 * day), End: now.Add(-2*day + time.Minute)})
	q := func(dim string) map[string]any {
		return map[string]any{
			"interval": now.Add(-31*day).Format(time.RFC3339) + "/" + now.Format(time.RFC3339),
			"paging":   map[string]int{"pageSize": 200, "pageNumber": 1},
			"segmentFilters": []any{map[string]any{"type": "and", "predicates": []any{
				map[string]string{"type": "dimension", "dimension": dim, "operator": "exists"}}}},
		}
	}
	r := e.do("POST", detailsQuery, q("externalContactId"))
	var out queryResult
	r.decode(t, &out)
	if r.status != 200 || out.TotalHits != 2 {
		t.Fatalf("exists query: %d %s", r.status, r.body)
	}
	if r := e.do("POST", detailsQuery, q("canonicalExternalContactId")); r.status != 400 {
		t.Errorf("exists on canonicalExternalContactId: %d %s", r.status, r.body)
	}
}

// TestAnalyticsJobsDataLag: with AnalyticsDataLag a job misses the
// conversations started after the data lake's availability date, which
// its pages and the availability endpoint report; the query sees them.
func TestAnalyticsJobsDataLag(t *testing.T) {
	e := loadEnv(t, Config{AnalyticsDataLag: 6 * time.Hour}, simpleContacts(2))
	now := e.clock.Now()
	e.sb.AddActivity(Activity{ExternalContactID: "c0000", ConversationID: "old", Start: now.Add(-day), End: now.Add(-day + time.Minute)})
	e.sb.AddActivity(Activity{ExternalContactID: "c0001", ConversationID: "new", Start: now.Add(-time.Hour), End: now.Add(-time.Hour + time.Minute)})
	q := map[string]any{"interval": now.Add(-7*day).Format(time.RFC3339) + "/" + now.Format(time.RFC3339),
		"segmentFilters": []any{map[string]any{"type": "and", "predicates": []any{
			map[string]string{"type": "dimension", "dimension": "externalContactId", "operator": "exists"}}}}}
	var created struct {
		JobID string `json:"jobId"`
	}
	e.do("POST", "/api/v2/analytics/conversations/details/jobs", q).decode(t, &created)
	var page struct {
		jobPage
		DataAvailabilityDate time.Time `json:"dataAvailabilityDate"`
	}
	e.do("GET", "/api/v2/analytics/conversations/details/jobs/"+created.JobID+"/results", nil).decode(t, &page)
	if len(page.Conversations) != 1 || page.Conversations[0].ConversationID != "old" || !page.DataAvailabilityDate.Equal(now.Add(-6*time.Hour)) {
		t.Fatalf("job: %+v", page)
	}
	var avail struct {
		DataAvailabilityDate time.Time `json:"dataAvailabilityDate"`
	}
	if r := e.do("GET", "/api/v2/analytics/conversations/details/jobs/availability", nil); r.status != 200 {
		t.Fatalf("availability: %d %s", r.status, r.body)
	} else if r.decode(t, &avail); !avail.DataAvailabilityDate.Equal(now.Add(-6 * time.Hour)) {
		t.Errorf("availability: %v", avail.DataAvailabilityDate)
	}
	q["paging"] = map[string]int{"pageSize": 100, "pageNumber": 1}
	var out queryResult
	e.do("POST", detailsQuery, q).decode(t, &out)
	if out.TotalHits != 2 {
		t.Errorf("the query sees %d conversations, want 2", out.TotalHits)
	}
}
