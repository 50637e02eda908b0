package genesys_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/sandbox"
)

// lastDays is the interval of the last n days before now.
func lastDays(now time.Time, n int) genesys.Interval {
	return genesys.Interval{Start: now.Add(-time.Duration(n) * 24 * time.Hour), End: now}
}

// TestEachJobConversationMatchesQuery: on a sandbox with conversation
// history, a details job and the paged details query over the same 31 days
// return the same conversations; the job reads them in fewer requests
// (pages of 1000 against 200), counted exactly as the sandbox counts them.
func TestEachJobConversationMatchesQuery(t *testing.T) {
	sb, c := newSandbox(t, 3000, func(cfg *sandbox.Config) { cfg.History = true; cfg.RateLimit = -1 }, nil)
	iv := lastDays(time.Now(), 31)
	var viaJob, viaQuery []string
	st, err := c.Analytics.EachJobConversation(t.Context(), &genesys.AsyncConversationQuery{
		Interval: iv.String(), SegmentFilters: genesys.ContactSegmentFilters(), StartOfDayIntervalMatching: true,
	}, time.Millisecond, func(cv *genesys.AnalyticsConversation) error {
		viaJob = append(viaJob, cv.ConversationID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	jobReqs := sandboxRequests(sb, "analytics/conversations/details/jobs")
	if st.Requests() != jobReqs {
		t.Errorf("JobStats says %d requests, the sandbox counted %d", st.Requests(), jobReqs)
	}
	n, err := c.Analytics.EachQueryConversation(t.Context(), &genesys.ConversationQuery{
		Interval: iv.String(), SegmentFilters: genesys.ContactSegmentFilters(),
	}, func(cv *genesys.AnalyticsConversation) error {
		viaQuery = append(viaQuery, cv.ConversationID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(viaJob)
	slices.Sort(viaQuery)
	// The query returns the conversations started on a day the interval
	// touches, the job (with start-of-day matching) those active in it and
	// started on or after its first day: the query has those of the rest
	// of the first day too.
	missing := 0
	for _, id := range viaJob {
		if _, ok := slices.BinarySearch(viaQuery, id); !ok {
			missing++
		}
	}
	if len(viaJob) < 500 || missing > 0 || len(viaQuery) < len(viaJob) || len(viaQuery) > len(viaJob)+len(viaJob)/20 {
		t.Fatalf("job: %d conversations, query: %d; %d of the job's not in the query", len(viaJob), len(viaQuery), missing)
	}
	if want := (len(viaQuery) + genesys.QueryPageSizeMax) / genesys.QueryPageSizeMax; n > want || n != sandboxRequests(sb, "details/query") {
		t.Errorf("query: %d requests for %d conversations (want at most %d, sandbox %d)", n, len(viaQuery), want, sandboxRequests(sb, "details/query"))
	}
	if st.Requests() >= n {
		t.Errorf("the job took %d requests, the query %d", st.Requests(), n)
	}
	t.Logf("%d conversations: job %d requests (%+v), query %d requests", len(viaJob), st.Requests(), st, n)
}

// sandboxRequests sums the sandbox's answered requests on routes holding
// part.
func sandboxRequests(sb *sandbox.Sandbox, part string) int {
	n := 0
	for route, byStatus := range sb.Stats().Requests {
		if !strings.Contains(route, part) {
			continue
		}
		for _, k := range byStatus {
			n += k
		}
	}
	return n
}

// TestEachJobConversationPolicies: the job is polled until FULFILLED, a
// refused page size is halved (pages of 1000 against a platform taking 300
// reach 250), an error of fn stops the reading, and an empty job id is
// refused before anything is sent.
func TestEachJobConversationPolicies(t *testing.T) {
	sb, c := newSandbox(t, 1500, func(cfg *sandbox.Config) {
		cfg.History = true
		cfg.RateLimit = -1
		cfg.MaxJobPageSize = 300
		cfg.AnalyticsJobDelay = 30 * time.Millisecond
	}, nil)
	iv := lastDays(time.Now(), 31)
	q := &genesys.AsyncConversationQuery{Interval: iv.String(), SegmentFilters: genesys.ContactSegmentFilters()}
	count := 0
	st, err := c.Analytics.EachJobConversation(t.Context(), q, 10*time.Millisecond, func(*genesys.AnalyticsConversation) error {
		count++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Polls < 2 || count == 0 {
		t.Errorf("polls %d, conversations %d: want a QUEUED poll before FULFILLED", st.Polls, count)
	}
	refused := sb.Stats().Requests["GET /api/v2/analytics/conversations/details/jobs/{jobId}/results"][400]
	if refused != 2 || st.Pages != refused+(count+249)/250 {
		t.Errorf("%d pages (%d refused) for %d conversations: want 2 refused, then pages of 250", st.Pages, refused, count)
	}
	stop := errors.New("stop")
	if _, err := c.Analytics.EachJobConversation(t.Context(), q, time.Millisecond, func(*genesys.AnalyticsConversation) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: got %v", err)
	}
	if _, _, err := c.Analytics.DetailsJob(t.Context(), ""); err == nil {
		t.Error("an empty job id is accepted")
	}
}
