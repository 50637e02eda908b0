package sandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// conversationQuery is the supported subset of ConversationQuery.
type conversationQuery struct {
	Interval string `json:"interval"`
	Order    string `json:"order"`
	OrderBy  string `json:"orderBy"`
	Paging   *struct {
		PageSize   int `json:"pageSize"`
		PageNumber int `json:"pageNumber"`
	} `json:"paging"`
	ConversationFilters []queryFilter `json:"conversationFilters"`
	SegmentFilters      []queryFilter `json:"segmentFilters"`
}

type queryFilter struct {
	Type       string           `json:"type"`
	Predicates []queryPredicate `json:"predicates"`
	Clauses    []queryFilter    `json:"clauses"`
}

type queryPredicate struct {
	Type      string `json:"type"`
	Dimension string `json:"dimension"`
	Operator  string `json:"operator"`
	Value     string `json:"value"`
}

// eval evaluates f with pred deciding each predicate.
func (f queryFilter) eval(pred func(queryPredicate) (bool, error)) (bool, error) {
	or := strings.EqualFold(f.Type, "or")
	if !or && !strings.EqualFold(f.Type, "and") {
		return false, fmt.Errorf("filter type %q must be and or or", f.Type)
	}
	n := 0
	var res bool
	combine := func(v bool) {
		if n == 0 {
			res = v
		} else if or {
			res = res || v
		} else {
			res = res && v
		}
		n++
	}
	for _, p := range f.Predicates {
		v, err := pred(p)
		if err != nil {
			return false, err
		}
		combine(v)
	}
	for _, c := range f.Clauses {
		v, err := c.eval(pred)
		if err != nil {
			return false, err
		}
		combine(v)
	}
	return n == 0 || res, nil
}

// filtered reports whether q filters at all: a conversation or segment
// filter with a predicate or a clause.
func (q *conversationQuery) filtered() bool {
	for _, fs := range [][]queryFilter{q.ConversationFilters, q.SegmentFilters} {
		for _, f := range fs {
			if len(f.Predicates) > 0 || len(f.Clauses) > 0 {
				return true
			}
		}
	}
	return false
}

// checkQueryLimits refuses an interval longer than the platform allows (31
// days with a filter, 7 without: analytics detail-query documentation) and
// a predicate list longer than MaxAnalyticsPredicates.
func (s *Sandbox) checkQueryLimits(q *conversationQuery, span time.Duration) *apiError {
	limit, with := s.cfg.MaxAnalyticsInterval, "with"
	if !q.filtered() {
		limit, with = s.cfg.MaxAnalyticsIntervalUnfiltered, "without"
	}
	if limit > 0 && span > limit {
		return newAPIError(http.StatusBadRequest, "bad.request",
			"The interval {interval} spans {span}; a query {with} filters may span at most {limit}.",
			map[string]string{"interval": q.Interval, "span": humanSpan(span), "with": with, "limit": humanDuration(limit)})
	}
	maxPreds := s.cfg.MaxAnalyticsPredicates
	if maxPreds <= 0 {
		return nil
	}
	var check func(field string, fs []queryFilter) *apiError
	check = func(field string, fs []queryFilter) *apiError {
		for i, f := range fs {
			name := fmt.Sprintf("%s[%d]", field, i)
			if len(f.Predicates) > maxPreds {
				return errLimit(name+".predicates", len(f.Predicates), maxPreds)
			}
			if e := check(name+".clauses", f.Clauses); e != nil {
				return e
			}
		}
		return nil
	}
	if e := check("conversationFilters", q.ConversationFilters); e != nil {
		return e
	}
	return check("segmentFilters", q.SegmentFilters)
}

// humanSpan writes an interval's length in days (with two decimals when not
// whole).
func humanSpan(d time.Duration) string {
	if d%day == 0 {
		return humanDuration(d)
	}
	return strconv.FormatFloat(float64(d)/float64(day), 'f', 2, 64) + " days"
}

// detailParticipant and detailConversation are the parts of an analytics
// conversation the sandbox answers with.
type detailParticipant struct {
	ExternalContactID string `json:"externalContactId,omitempty"`
	Purpose           string `json:"purpose"`
}

type detailConversation struct {
	ConversationID    string              `json:"conversationId"`
	ConversationStart msTime              `json:"conversationStart"`
	ConversationEnd   *msTime             `json:"conversationEnd,omitempty"`
	Participants      []detailParticipant `json:"participants"`
}

// parseInterval parses an ISO-8601 "start/end" interval.
func parseInterval(v string) (from, to time.Time, ok bool) {
	startS, endS, ok := strings.Cut(v, "/")
	from, err1 := time.Parse(time.RFC3339Nano, startS)
	to, err2 := time.Parse(time.RFC3339Nano, endS)
	return from, to, ok && err1 == nil && err2 == nil && to.After(from)
}

// matchConversations returns the conversations of the activity that inWindow
// accepts and q's filters keep, ordered by q.Order. Each names its customer
// (the externalContactId the activity records) and an agent.
func (s *Sandbox) matchConversations(q *conversationQuery, inWindow func(a *Activity) bool) ([]detailConversation, error) {
	var hits []detailConversation
	s.mu.RLock()
	now := s.now()
	var qerr error
	for i := range s.acts {
		a := &s.acts[i]
		if a.ConversationID == "" || !inWindow(a) {
			continue
		}
		active := a.active(now)
		convPred := func(p queryPredicate) (bool, error) {
			if p.Dimension != "conversationEnd" {
				return false, fmt.Errorf("conversation filter dimension %q is not supported", p.Dimension)
			}
			switch p.Operator {
			case "notExists":
				return active, nil
			case "exists":
				return !active, nil
			}
			return false, fmt.Errorf("operator %q is not supported on conversationEnd", p.Operator)
		}
		segPred := func(p queryPredicate) (bool, error) {
			switch p.Operator {
			case "", "matches":
			case "exists", "notExists":
				if p.Dimension != "externalContactId" {
					return false, fmt.Errorf("operator %q is not supported on %s", p.Operator, p.Dimension)
				}
				// Some segment of the conversation (the customer's) names a
				// contact; the agent's never does.
				return p.Operator == "exists", nil
			default:
				return false, fmt.Errorf("operator %q is not supported on %s", p.Operator, p.Dimension)
			}
			switch p.Dimension {
			case "externalContactId":
				return a.ExternalContactID == p.Value, nil
			case "canonicalExternalContactId":
				c := s.resolveLocked(a.ExternalContactID)
				return c != nil && c.ID == p.Value, nil
			}
			return false, fmt.Errorf("segment filter dimension %q is not supported", p.Dimension)
		}
		keep := true
		for _, f := range q.ConversationFilters {
			v, err := f.eval(convPred)
			if err != nil {
				qerr = err
			}
			keep = keep && v
		}
		for _, f := range q.SegmentFilters {
			v, err := f.eval(segPred)
			if err != nil {
				qerr = err
			}
			keep = keep && v
		}
		if qerr != nil {
			break
		}
		if keep {
			cv := detailConversation{ConversationID: a.ConversationID, ConversationStart: msTime(a.Start),
				Participants: []detailParticipant{{ExternalContactID: a.ExternalContactID, Purpose: "customer"}, {Purpose: "agent"}}}
			if !active && !a.End.IsZero() {
				e := msTime(a.End)
				cv.ConversationEnd = &e
			}
			hits = append(hits, cv)
		}
	}
	s.mu.RUnlock()
	if qerr != nil {
		return nil, qerr
	}
	slices.SortStableFunc(hits, func(a, b detailConversation) int {
		if q.Order == "desc" {
			return time.Time(b.ConversationStart).Compare(time.Time(a.ConversationStart))
		}
		return time.Time(a.ConversationStart).Compare(time.Time(b.ConversationStart))
	})
	return hits, nil
}

// handleAnalytics serves POST /api/v2/analytics/conversations/details/query
// for the shape in GENESYS_API.md §6: the conversations that started on a
// day the interval touches, pageSize at most 200 (the maximum a Genesys
// developer blog post uses, GENESYS_API.md §6).
func (s *Sandbox) handleAnalytics(w http.ResponseWriter, r *http.Request) {
	var q conversationQuery
	if !s.readJSON(w, r, &q) {
		return
	}
	from, to, ok := parseInterval(q.Interval)
	if !ok {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "interval must be an ISO-8601 interval start/end, for example 2026-05-01T00:00:00Z/2026-05-15T00:00:00Z.")
		return
	}
	if e := s.checkQueryLimits(&q, to.Sub(from)); e != nil {
		s.writeAPIError(w, r, e)
		return
	}
	size, num := 25, 1
	if q.Paging != nil {
		if q.Paging.PageSize != 0 {
			size = q.Paging.PageSize
		}
		if q.Paging.PageNumber != 0 {
			num = q.Paging.PageNumber
		}
	}
	if size < 1 || size > MaxQueryPageSize || num < 1 {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "paging.pageSize must be between 1 and 200 and paging.pageNumber at least 1.")
		return
	}
	dayFrom := from.UTC().Truncate(24 * time.Hour)
	dayTo := to.Add(-time.Nanosecond).UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	hits, err := s.matchConversations(&q, func(a *Activity) bool {
		return !a.Start.Before(dayFrom) && a.Start.Before(dayTo)
	})
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", err.Error())
		return
	}
	out := map[string]any{"totalHits": len(hits)}
	lo := (num - 1) * size
	if lo < len(hits) {
		out["conversations"] = hits[lo:min(lo+size, len(hits))]
	}
	s.writeJSON(w, http.StatusOK, out)
}

// MaxQueryPageSize is the largest paging.pageSize of a conversation-details
// query the sandbox takes.
const MaxQueryPageSize = 200

// handleCases serves GET /api/v2/casemanagement/cases/externalcontacts/{id}.
func (s *Sandbox) handleCases(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if v := r.URL.Query().Get("pageSize"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 200 {
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "pageSize must be between 1 and 200.")
			return
		}
	}
	type caseRef struct {
		ID              string `json:"id"`
		Status          string `json:"status"`
		ExternalContact cm.Ref `json:"externalContact"`
		SelfURI         string `json:"selfUri"`
	}
	entities := []caseRef{}
	s.mu.RLock()
	for _, i := range s.actIdx[id] {
		a := s.acts[i]
		if a.CaseID != "" {
			entities = append(entities, caseRef{ID: a.CaseID, Status: a.Status, ExternalContact: ref(id), SelfURI: "/api/v2/casemanagement/cases/" + a.CaseID})
		}
	}
	s.mu.RUnlock()
	s.writeJSON(w, http.StatusOK, map[string]any{"entities": entities, "selfUri": r.URL.Path})
}
