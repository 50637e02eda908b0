package sandbox

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The asynchronous conversation-details jobs (PY SDK AnalyticsApi.md:
// post_analytics_conversations_details_jobs, get_analytics_conversations_
// details_job, get_analytics_conversations_details_job_results,
// delete_analytics_conversations_details_job; models AsyncConversationQuery,
// AsyncQueryResponse, AsyncQueryStatus, AnalyticsConversationAsyncQueryResponse).
// A job takes the query's filters, answers {jobId}, is QUEUED until
// Config.AnalyticsJobDelay has passed and FULFILLED after, and its results
// are read in pages of up to Config.MaxJobPageSize with an opaque cursor,
// absent on the last page. Jobs read the data lake, Config.AnalyticsDataLag
// behind the present: conversations started after their
// dataAvailabilityDate are missing from them. Results are the
// conversations of the moment the job was submitted; they expire a day
// after it (EXPIRED; the platform's retention is unconfirmed).

// jobTTL is how long a job's results stay readable.
const jobTTL = day

// asyncQuery is the supported subset of AsyncConversationQuery.
type asyncQuery struct {
	conversationQuery
	Limit                      int  `json:"limit"`
	StartOfDayIntervalMatching bool `json:"startOfDayIntervalMatching"`
}

// analyticsJob is one submitted job.
type analyticsJob struct {
	submitted time.Time
	available time.Time // the data lake's availability date at submission
	convs     []detailConversation
}

// jobTable holds the jobs; its zero value is ready.
type jobTable struct {
	mu   sync.Mutex
	byID map[string]*analyticsJob
}

func (t *jobTable) get(id string) *analyticsJob {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

func (t *jobTable) put(id string, j *analyticsJob) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID == nil {
		t.byID = map[string]*analyticsJob{}
	}
	t.byID[id] = j
}

func (t *jobTable) remove(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.byID[id]
	delete(t.byID, id)
	return ok
}

// state is the job's AsyncQueryStatus.state at now.
func (s *Sandbox) jobState(j *analyticsJob, now time.Time) string {
	switch {
	case now.Before(j.submitted.Add(s.cfg.AnalyticsJobDelay)):
		return "QUEUED"
	case !now.Before(j.submitted.Add(s.cfg.AnalyticsJobDelay + jobTTL)):
		return "EXPIRED"
	}
	return "FULFILLED"
}

// handleJobCreate serves POST /api/v2/analytics/conversations/details/jobs:
// the conversations with activity during the interval (start before its
// end, ended after its start or not ended), with startOfDayIntervalMatching
// only those that started on or after the UTC day of its start. The
// interval and predicate limits of the query apply (the jobs API's own are
// not in the SDK documentation).
func (s *Sandbox) handleJobCreate(w http.ResponseWriter, r *http.Request) {
	var q asyncQuery
	if !s.readJSON(w, r, &q) {
		return
	}
	from, to, ok := parseInterval(q.Interval)
	if !ok {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "interval must be an ISO-8601 interval start/end, for example 2026-05-01T00:00:00Z/2026-05-15T00:00:00Z.")
		return
	}
	if q.Limit < 0 {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "limit must not be negative.")
		return
	}
	if e := s.checkQueryLimits(&q.conversationQuery, to.Sub(from)); e != nil {
		s.writeAPIError(w, r, e)
		return
	}
	dayFrom := from.UTC().Truncate(day)
	available := s.now().Add(-s.cfg.AnalyticsDataLag)
	hits, err := s.matchConversations(&q.conversationQuery, func(a *Activity) bool {
		if !a.Start.Before(to) || (!a.End.IsZero() && !a.End.After(from)) || !a.Start.Before(available) {
			return false
		}
		return !q.StartOfDayIntervalMatching || !a.Start.Before(dayFrom)
	})
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", err.Error())
		return
	}
	if q.Limit > 0 && len(hits) > q.Limit {
		hits = hits[:q.Limit]
	}
	s.mu.Lock()
	id := newUUID(s.idRand)
	s.mu.Unlock()
	s.jobs.put(id, &analyticsJob{submitted: s.now(), available: available, convs: hits})
	s.writeJSON(w, http.StatusAccepted, map[string]string{"jobId": id})
}

// handleJobAvailability serves GET
// /api/v2/analytics/conversations/details/jobs/availability: the data
// lake's dataAvailabilityDate (DataAvailabilityResponse).
func (s *Sandbox) handleJobAvailability(w http.ResponseWriter, _ *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]any{"dataAvailabilityDate": msTime(s.now().Add(-s.cfg.AnalyticsDataLag))})
}

// handleJobStatus serves GET /api/v2/analytics/conversations/details/jobs/{jobId}.
func (s *Sandbox) handleJobStatus(w http.ResponseWriter, r *http.Request) {
	j := s.jobs.get(r.PathValue("jobId"))
	if j == nil {
		s.writeError(w, r, http.StatusNotFound, "not.found", "No analytics job has id "+r.PathValue("jobId")+".")
		return
	}
	now := s.now()
	out := map[string]any{"state": s.jobState(j, now), "submissionDate": msTime(j.submitted),
		"expirationDate": msTime(j.submitted.Add(s.cfg.AnalyticsJobDelay + jobTTL))}
	if out["state"] != "QUEUED" {
		out["completionDate"] = msTime(j.submitted.Add(s.cfg.AnalyticsJobDelay))
	}
	s.writeJSON(w, http.StatusOK, out)
}

// handleJobDelete serves DELETE /api/v2/analytics/conversations/details/jobs/{jobId}.
func (s *Sandbox) handleJobDelete(w http.ResponseWriter, r *http.Request) {
	if !s.jobs.remove(r.PathValue("jobId")) {
		s.writeError(w, r, http.StatusNotFound, "not.found", "No analytics job has id "+r.PathValue("jobId")+".")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleJobResults serves GET
// /api/v2/analytics/conversations/details/jobs/{jobId}/results?cursor&pageSize.
func (s *Sandbox) handleJobResults(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("jobId")
	j := s.jobs.get(id)
	if j == nil {
		s.writeError(w, r, http.StatusNotFound, "not.found", "No analytics job has id "+id+".")
		return
	}
	now := s.now()
	if st := s.jobState(j, now); st != "FULFILLED" {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "The job is "+st+": results can be read once it is FULFILLED.")
		return
	}
	size := s.cfg.MaxJobPageSize
	if v := r.URL.Query().Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (s.cfg.MaxJobPageSize > 0 && n > s.cfg.MaxJobPageSize) {
			limit := "any number"
			if s.cfg.MaxJobPageSize > 0 {
				limit = strconv.Itoa(s.cfg.MaxJobPageSize)
			}
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "pageSize "+v+" is out of range: it must be between 1 and "+limit+".")
			return
		}
		size = n
	}
	if size <= 0 {
		size = len(j.convs) + 1
	}
	lo := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, ok := decodeJobCursor(id, c)
		if !ok || n > len(j.convs) {
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "The cursor is not one of this job's.")
			return
		}
		lo = n
	}
	hi := min(lo+size, len(j.convs))
	out := map[string]any{"conversations": j.convs[lo:hi], "dataAvailabilityDate": msTime(j.available)}
	if hi < len(j.convs) {
		out["cursor"] = encodeJobCursor(id, hi)
	}
	s.writeJSON(w, http.StatusOK, out)
}

func encodeJobCursor(job string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(job + ":" + strconv.Itoa(offset)))
}

func decodeJobCursor(job, c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	j, off, ok := strings.Cut(string(b), ":")
	n, err := strconv.Atoi(off)
	return n, ok && j == job && err == nil && n >= 0
}
