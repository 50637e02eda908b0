package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Limits of the analytics helpers.
const (
	// AnalyticsBatch is the number of contact ids OR-ed in one query until
	// the platform refuses that many (the figure is unconfirmed; see
	// ActiveConversations).
	AnalyticsBatch = 100
	// AnalyticsPageSize is the page size ActiveConversations asks for.
	AnalyticsPageSize = 100
	// analyticsMaxPages stops paging a query that never ends.
	analyticsMaxPages = 1000
)

// AnalyticsService is the analytics conversation-details API.
type AnalyticsService service

// Interval is a time interval; its String form is the ISO-8601
// "start/end" the analytics API takes.
type Interval struct{ Start, End time.Time }

// String returns "start/end" in UTC RFC 3339 with milliseconds.
func (i Interval) String() string {
	const f = "2006-01-02T15:04:05.000Z"
	return i.Start.UTC().Format(f) + "/" + i.End.UTC().Format(f)
}

// Predicate is a conversation or segment detail query predicate.
type Predicate struct {
	Type      string `json:"type,omitempty"`      // dimension | property | metric
	Dimension string `json:"dimension,omitempty"` // e.g. externalContactId, conversationEnd
	Operator  string `json:"operator,omitempty"`  // matches | exists | notExists
	Value     string `json:"value,omitempty"`
}

// Clause is a group of predicates inside a filter.
type Clause struct {
	Type       string      `json:"type"` // and | or
	Predicates []Predicate `json:"predicates"`
}

// Filter is a conversation or segment filter.
type Filter struct {
	Type       string      `json:"type"` // and | or
	Predicates []Predicate `json:"predicates,omitempty"`
	Clauses    []Clause    `json:"clauses,omitempty"`
}

// Paging selects a page of a query.
type Paging struct {
	PageSize   int `json:"pageSize"`
	PageNumber int `json:"pageNumber"`
}

// ConversationQuery is the body of POST
// /api/v2/analytics/conversations/details/query.
type ConversationQuery struct {
	Interval            string   `json:"interval"`
	Order               string   `json:"order,omitempty"`   // asc | desc | unordered
	OrderBy             string   `json:"orderBy,omitempty"` // conversationStart | …
	Paging              *Paging  `json:"paging,omitempty"`
	ConversationFilters []Filter `json:"conversationFilters,omitempty"`
	SegmentFilters      []Filter `json:"segmentFilters,omitempty"`
}

// AnalyticsSession is a participant session (only what contactmerge reads).
type AnalyticsSession struct {
	SessionID string `json:"sessionId,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	Direction string `json:"direction,omitempty"`
}

// AnalyticsParticipant is a participant of an analytics conversation.
type AnalyticsParticipant struct {
	ParticipantID     string             `json:"participantId,omitempty"`
	ParticipantName   string             `json:"participantName,omitempty"`
	Purpose           string             `json:"purpose,omitempty"`
	ExternalContactID string             `json:"externalContactId,omitempty"`
	Sessions          []AnalyticsSession `json:"sessions,omitempty"`
}

// AnalyticsConversation is one conversation of a details query.
type AnalyticsConversation struct {
	ConversationID    string                 `json:"conversationId"`
	ConversationStart *time.Time             `json:"conversationStart,omitempty"`
	ConversationEnd   *time.Time             `json:"conversationEnd,omitempty"`
	Participants      []AnalyticsParticipant `json:"participants,omitempty"`
}

// ConversationQueryResponse is the answer of a details query.
type ConversationQueryResponse struct {
	Conversations []AnalyticsConversation `json:"conversations,omitempty"`
	TotalHits     int                     `json:"totalHits"`
}

// QueryConversationDetails sends POST
// /api/v2/analytics/conversations/details/query. It only reads, so it is
// retried after 5xx and network errors.
func (s *AnalyticsService) QueryConversationDetails(ctx context.Context, q *ConversationQuery) (*ConversationQueryResponse, *Response, error) {
	if q == nil || q.Interval == "" {
		return nil, nil, errors.New("genesys: a conversation query needs an interval")
	}
	req, err := s.client.NewRequest(ctx, http.MethodPost, "/api/v2/analytics/conversations/details/query", q)
	if err != nil {
		return nil, nil, err
	}
	out := new(ConversationQueryResponse)
	resp, err := s.client.Do(req, out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// ActiveConversationsQuery returns the query for the active conversations
// (conversationEnd notExists) of up to AnalyticsBatch contact ids (OR-ed
// externalContactId segment predicates), for one page.
func ActiveConversationsQuery(contactIDs []string, interval Interval, pageNumber int) *ConversationQuery {
	preds := make([]Predicate, len(contactIDs))
	for i, id := range contactIDs {
		preds[i] = Predicate{Type: "dimension", Dimension: "externalContactId", Operator: "matches", Value: id}
	}
	return &ConversationQuery{
		Interval: interval.String(),
		Order:    "desc",
		OrderBy:  "conversationStart",
		Paging:   &Paging{PageSize: AnalyticsPageSize, PageNumber: pageNumber},
		ConversationFilters: []Filter{{Type: "and", Predicates: []Predicate{
			{Type: "dimension", Dimension: "conversationEnd", Operator: "notExists"},
		}}},
		SegmentFilters: []Filter{{Type: "or", Predicates: preds}},
	}
}

// MaxAnalyticsInterval is the longest interval of a conversation-details
// query with a filter (31 days; 7 without one), as the Developer Center's
// analytics detail-query documentation states (GENESYS_API.md §0).
const MaxAnalyticsInterval = 31 * 24 * time.Hour

// SplitInterval splits i into intervals the details query takes: the first
// starts at UTC midnight of i.Start (the query returns the conversations that
// started on any day an interval touches, so this loses nothing), each
// spans at most span (MaxAnalyticsInterval when span ≤ 0; whole days, at
// least one) and so touches at most span's number of days, and the last
// ends at i.End.
func SplitInterval(i Interval, span time.Duration) []Interval {
	const day = 24 * time.Hour
	if span <= 0 {
		span = MaxAnalyticsInterval
	}
	span = max(span.Truncate(day), day)
	var out []Interval
	for s := i.Start.UTC().Truncate(day); s.Before(i.End); s = s.Add(span) {
		out = append(out, Interval{Start: s, End: minTime(s.Add(span), i.End)})
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ActiveConversations returns, for each of contactIDs that has any, the ids
// of its active conversations that started in interval (on a day it
// touches). The interval is split with SplitInterval, so a lookback longer
// than MaxAnalyticsInterval takes one query per part; each query ORs the
// externalContactId of up to AnalyticsBatch ids. No official source states
// how many predicates a query takes: when the platform refuses a batch as
// too large (a 413, or a 400 naming the predicates or their count), the
// batch is halved and sent again, and the size that worked is kept for
// every later query of the client (and logged once). Each query is paged
// (page size AnalyticsPageSize) until a short page or totalHits is reached;
// repeated records are dropped. A conversation is attributed to the queried
// ids named by its participants' externalContactId; one that names none of
// them (possible when the match was on a segment only) is listed under the
// empty key "", so a caller can treat its whole batch conservatively. Pass
// every id of a merge set, since old conversations stay on ancestor ids.
func (s *AnalyticsService) ActiveConversations(ctx context.Context, contactIDs []string, interval Interval) (map[string][]string, error) {
	if !interval.End.After(interval.Start) {
		return nil, fmt.Errorf("genesys: interval %s is empty", interval)
	}
	var ids []string
	seen := map[string]bool{}
	for _, id := range contactIDs {
		if strings.TrimSpace(id) == "" {
			return nil, errors.New("genesys: empty contact id")
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	parts := SplitInterval(interval, MaxAnalyticsInterval)
	out := map[string][]string{}
	limit := s.client.predicates
	size, shrunk := limit.get(), false
	for start := 0; start < len(ids); {
		size = min(size, limit.get())
		batch := ids[start:min(start+size, len(ids))]
		found, err := s.activeBatch(ctx, batch, parts)
		if err != nil {
			if len(batch) > 1 && batchRefused(err, "predicates", len(batch)) {
				size, shrunk = halve(len(batch)), true
				continue
			}
			return out, err
		}
		if shrunk {
			limit.learn(ctx, len(batch))
			shrunk = false
		}
		for id, convs := range found {
			out[id] = append(out[id], convs...)
		}
		start += len(batch)
	}
	return out, nil
}

// BatchSize returns the number of contact ids ActiveConversations now ORs in
// one query: AnalyticsBatch, or less once the platform refused that many.
func (s *AnalyticsService) BatchSize() int { return s.client.predicates.get() }

// activeBatch queries the active conversations of one batch of ids over
// every part of the interval.
func (s *AnalyticsService) activeBatch(ctx context.Context, batch []string, parts []Interval) (map[string][]string, error) {
	out := map[string][]string{}
	inBatch := make(map[string]bool, len(batch))
	for _, id := range batch {
		inBatch[id] = true
	}
	convSeen := map[string]bool{}
	for _, part := range parts {
		fetched := 0
		for page := 1; ; page++ {
			if page > analyticsMaxPages {
				return out, fmt.Errorf("genesys: active conversation query did not end after %d pages", analyticsMaxPages)
			}
			res, _, err := s.QueryConversationDetails(ctx, ActiveConversationsQuery(batch, part, page))
			if err != nil {
				return out, err
			}
			for _, conv := range res.Conversations {
				fetched++
				if conv.ConversationID == "" || conv.ConversationEnd != nil || convSeen[conv.ConversationID] {
					continue
				}
				convSeen[conv.ConversationID] = true
				named := map[string]bool{}
				for _, p := range conv.Participants {
					if inBatch[p.ExternalContactID] && !named[p.ExternalContactID] {
						named[p.ExternalContactID] = true
						out[p.ExternalContactID] = append(out[p.ExternalContactID], conv.ConversationID)
					}
				}
				if len(named) == 0 {
					out[""] = append(out[""], conv.ConversationID)
				}
			}
			if len(res.Conversations) < AnalyticsPageSize || (res.TotalHits > 0 && fetched >= res.TotalHits) {
				break
			}
		}
	}
	return out, nil
}

// QueryPageSizeMax is the largest paging.pageSize of a details query: the
// maximum a Genesys developer blog post uses (2022-04-21, analytics
// conversations API behavior; GENESYS_API.md §6). A page size the platform
// refuses is halved by EachQueryConversation.
const QueryPageSizeMax = 200

// ContactSegmentFilters selects the conversations with a segment naming an
// external contact (externalContactId exists): the filter that also lets a
// query span 31 days instead of 7.
func ContactSegmentFilters() []Filter {
	return []Filter{{Type: "and", Predicates: []Predicate{
		{Type: "dimension", Dimension: "externalContactId", Operator: "exists"},
	}}}
}

// EachQueryConversation pages the details query q (its Paging is
// replaced: pageSize QueryPageSizeMax, from page 1) and calls fn for each
// conversation until a short page, an empty one or totalHits. A page size
// the platform refuses (a 400 naming pageSize) is halved and the walk
// starts over at that size (fn is not called twice for a conversation id).
// It returns the number of requests sent.
func (s *AnalyticsService) EachQueryConversation(ctx context.Context, q *ConversationQuery, fn func(*AnalyticsConversation) error) (int, error) {
	if q == nil {
		return 0, errors.New("genesys: nil conversation query")
	}
	qq := *q
	size, requests := QueryPageSizeMax, 0
	seen := map[string]bool{}
	fetched := 0
	for page := 1; ; page++ {
		if page > analyticsMaxPages {
			return requests, fmt.Errorf("genesys: conversation query did not end after %d pages", analyticsMaxPages)
		}
		qq.Paging = &Paging{PageSize: size, PageNumber: page}
		res, _, err := s.QueryConversationDetails(ctx, &qq)
		requests++
		if err != nil {
			if size > 1 && batchRefused(err, "pagesize", size) {
				size, page, fetched = halve(size), 0, 0
				continue
			}
			return requests, err
		}
		for i := range res.Conversations {
			c := &res.Conversations[i]
			fetched++
			if c.ConversationID != "" && seen[c.ConversationID] {
				continue
			}
			seen[c.ConversationID] = true
			if err := fn(c); err != nil {
				return requests, err
			}
		}
		if len(res.Conversations) < size || (res.TotalHits > 0 && fetched >= res.TotalHits) {
			return requests, nil
		}
	}
}
