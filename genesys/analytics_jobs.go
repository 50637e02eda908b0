package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The asynchronous conversation-details jobs (PY SDK AnalyticsApi.md:
// post_analytics_conversations_details_jobs, get_analytics_conversations_
// details_job, get_analytics_conversations_details_job_results,
// delete_analytics_conversations_details_job; all need
// analytics:conversationDetail:view or analytics:agentConversationDetail:view).
// A job is submitted once (AsyncConversationQuery), polled until its state
// is FULFILLED (AsyncQueryStatus), and its results are read in pages with a
// cursor (AnalyticsConversationAsyncQueryResponse: conversations, cursor,
// dataAvailabilityDate): the cursor is absent on the last page.

// Limits of the jobs helpers.
const (
	// JobPageSize is the results page size EachJobConversation asks for.
	// The SDKs state no maximum ("The desired maximum number of results");
	// 1000 is what published extractors ask for (for example Estuary's
	// source-genesys connector). A page size the platform refuses is halved
	// (see EachJobConversation).
	JobPageSize = 1000
	// JobPollInterval is the default wait between two status polls of a job.
	JobPollInterval = 2 * time.Second
	// jobMaxPolls stops waiting for a job that never ends.
	jobMaxPolls = 900
	// jobMaxPages stops reading results whose cursor never ends.
	jobMaxPages = 100000
)

// Job states (AsyncQueryStatus.state).
const (
	JobQueued    = "QUEUED"
	JobPending   = "PENDING"
	JobFulfilled = "FULFILLED"
	JobFailed    = "FAILED"
	JobCancelled = "CANCELLED"
	JobExpired   = "EXPIRED"
)

// ErrJobFailed is wrapped by the error of a job that ended FAILED,
// CANCELLED or EXPIRED before its results were read.
var ErrJobFailed = errors.New("genesys: analytics job did not complete")

// AsyncConversationQuery is the body of POST
// /api/v2/analytics/conversations/details/jobs. Unlike the query, a job
// returns the conversations that had activity during the interval;
// StartOfDayIntervalMatching keeps only those that started after the
// beginning of the interval's start day (UTC).
type AsyncConversationQuery struct {
	Interval                   string   `json:"interval"`
	Order                      string   `json:"order,omitempty"`
	OrderBy                    string   `json:"orderBy,omitempty"`
	ConversationFilters        []Filter `json:"conversationFilters,omitempty"`
	SegmentFilters             []Filter `json:"segmentFilters,omitempty"`
	Limit                      int      `json:"limit,omitempty"`
	StartOfDayIntervalMatching bool     `json:"startOfDayIntervalMatching,omitempty"`
}

// AsyncQueryResponse is the answer to a job submission.
type AsyncQueryResponse struct {
	JobID string `json:"jobId"`
}

// AsyncQueryStatus is the status of a job.
type AsyncQueryStatus struct {
	State          string     `json:"state,omitempty"`
	ErrorMessage   string     `json:"errorMessage,omitempty"`
	ExpirationDate *time.Time `json:"expirationDate,omitempty"`
	SubmissionDate *time.Time `json:"submissionDate,omitempty"`
	CompletionDate *time.Time `json:"completionDate,omitempty"`
}

// ConversationJobPage is one page of a job's results.
type ConversationJobPage struct {
	Conversations        []AnalyticsConversation `json:"conversations,omitempty"`
	Cursor               string                  `json:"cursor,omitempty"`
	DataAvailabilityDate *time.Time              `json:"dataAvailabilityDate,omitempty"`
}

// jobPath is the path of a job, or of one of its sub-resources.
func jobPath(id, suffix string) (string, error) {
	if id == "" {
		return "", errors.New("genesys: empty analytics job id")
	}
	return "/api/v2/analytics/conversations/details/jobs/" + url.PathEscape(id) + suffix, nil
}

// CreateDetailsJob sends POST /api/v2/analytics/conversations/details/jobs.
func (s *AnalyticsService) CreateDetailsJob(ctx context.Context, q *AsyncConversationQuery) (*AsyncQueryResponse, *Response, error) {
	if q == nil || q.Interval == "" {
		return nil, nil, errors.New("genesys: an analytics job needs an interval")
	}
	req, err := s.client.NewRequest(ctx, http.MethodPost, "/api/v2/analytics/conversations/details/jobs", q)
	if err != nil {
		return nil, nil, err
	}
	out := new(AsyncQueryResponse)
	resp, err := s.client.Do(req, out)
	if err != nil {
		return nil, resp, err
	}
	if out.JobID == "" {
		return nil, resp, fmt.Errorf("genesys: analytics job submission: %w: no jobId", ErrMalformedResponse)
	}
	return out, resp, nil
}

// DetailsJob sends GET /api/v2/analytics/conversations/details/jobs/{jobId}.
func (s *AnalyticsService) DetailsJob(ctx context.Context, id string) (*AsyncQueryStatus, *Response, error) {
	path, err := jobPath(id, "")
	if err != nil {
		return nil, nil, err
	}
	req, err := s.client.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, nil, err
	}
	out := new(AsyncQueryStatus)
	resp, err := s.client.Do(req, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// DetailsJobResults sends GET
// /api/v2/analytics/conversations/details/jobs/{jobId}/results for the page
// after cursor ("" for the first), of pageSize conversations (0: the
// platform's default).
func (s *AnalyticsService) DetailsJobResults(ctx context.Context, id, cursor string, pageSize int) (*ConversationJobPage, *Response, error) {
	path, err := jobPath(id, "/results")
	if err != nil {
		return nil, nil, err
	}
	if pageSize < 0 {
		return nil, nil, fmt.Errorf("genesys: analytics job page size %d is negative", pageSize)
	}
	q := url.Values{}
	if pageSize > 0 {
		q.Set("pageSize", strconv.Itoa(pageSize))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := s.client.NewRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, nil, err
	}
	out := new(ConversationJobPage)
	resp, err := s.client.Do(req, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// DeleteDetailsJob sends DELETE
// /api/v2/analytics/conversations/details/jobs/{jobId} (cancels a job or
// drops its results).
func (s *AnalyticsService) DeleteDetailsJob(ctx context.Context, id string) (*Response, error) {
	path, err := jobPath(id, "")
	if err != nil {
		return nil, err
	}
	req, err := s.client.NewRequest(ctx, http.MethodDelete, path, nil)
	if err != nil {
		return nil, err
	}
	return s.client.Do(req, nil)
}

// JobStats counts the requests of one job: the submission, the status
// polls and the results pages.
type JobStats struct {
	Polls int `json:"polls"`
	// Pages counts the results requests (a refused page size included).
	Pages int `json:"pages"`
	// Deletes is 1 when the job was deleted after its results were read.
	Deletes int `json:"deletes"`
	// DataAvailability is the earliest dataAvailabilityDate a results page
	// reported: conversations after it may be missing from the results.
	DataAvailability time.Time `json:"dataAvailability,omitzero"`
}

// Requests returns the requests the job took (the submission included).
func (j JobStats) Requests() int { return 1 + j.Polls + j.Pages + j.Deletes }

// EachJobConversation submits q as a details job, polls its status every
// poll (JobPollInterval when ≤ 0; the first poll is at once) until it is
// FULFILLED, then reads its results in pages of JobPageSize and calls fn
// for each conversation, in order. A page size the platform refuses (a 400
// naming pageSize) is halved and asked again. A job that ends FAILED,
// CANCELLED or EXPIRED is an error wrapping ErrJobFailed; an error of fn
// stops the reading and is returned. The job is deleted when its results
// were read (a failed delete is ignored: results expire by themselves).
func (s *AnalyticsService) EachJobConversation(ctx context.Context, q *AsyncConversationQuery, poll time.Duration, fn func(*AnalyticsConversation) error) (JobStats, error) {
	var st JobStats
	if poll <= 0 {
		poll = JobPollInterval
	}
	job, _, err := s.CreateDetailsJob(ctx, q)
	if err != nil {
		return st, err
	}
	for {
		if st.Polls == jobMaxPolls {
			return st, fmt.Errorf("genesys: analytics job %s: not fulfilled after %d polls", job.JobID, jobMaxPolls)
		}
		status, _, err := s.DetailsJob(ctx, job.JobID)
		st.Polls++
		if err != nil {
			return st, err
		}
		if status.State == JobFulfilled {
			break
		}
		switch status.State {
		case JobFailed, JobCancelled, JobExpired:
			msg := status.State
			if status.ErrorMessage != "" {
				msg += ": " + status.ErrorMessage
			}
			return st, fmt.Errorf("%w: job %s is %s", ErrJobFailed, job.JobID, msg)
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, ctx.Err()
		case <-t.C:
		}
	}
	size, cursor := JobPageSize, ""
	for {
		if st.Pages == jobMaxPages {
			return st, fmt.Errorf("genesys: analytics job %s: results did not end after %d pages", job.JobID, jobMaxPages)
		}
		page, _, err := s.DetailsJobResults(ctx, job.JobID, cursor, size)
		st.Pages++
		if err != nil {
			if size > 1 && batchRefused(err, "pagesize", size) {
				size = halve(size)
				continue
			}
			return st, err
		}
		if d := page.DataAvailabilityDate; d != nil && (st.DataAvailability.IsZero() || d.Before(st.DataAvailability)) {
			st.DataAvailability = *d
		}
		for i := range page.Conversations {
			if err := fn(&page.Conversations[i]); err != nil {
				return st, err
			}
		}
		if page.Cursor == "" || page.Cursor == cursor {
			break
		}
		cursor = page.Cursor
	}
	_, _ = s.DeleteDetailsJob(ctx, job.JobID)
	st.Deletes++
	return st, nil
}
