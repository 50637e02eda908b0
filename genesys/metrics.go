package genesys

import (
	"maps"
	"sort"
	"sync"
	"time"
)

// Metrics is a registry of request metrics fed by Config.Observer (set
// Observer to m.Observe). There is no global registry: create one per
// client or per process and pass it where it is read. It is safe for
// concurrent use.
type Metrics struct {
	mu        sync.Mutex
	requests  int64
	errors    int64
	throttled int64
	retries   int64
	byStatus  map[int]int64
	byRoute   map[string]*RouteStats
	last      RateLimit
}

// RouteStats are the counters of one method and route.
type RouteStats struct {
	Method, Route string
	Requests      int64         // attempts
	Errors        int64         // attempts with no response
	Throttled     int64         // 429 responses
	ServerErrors  int64         // 5xx responses
	TotalDuration time.Duration // sum of attempt durations
	MaxDuration   time.Duration
}

// MetricsSnapshot is a copy of a Metrics registry.
type MetricsSnapshot struct {
	Requests  int64         // attempts
	Errors    int64         // attempts with no response
	Throttled int64         // 429 responses
	Retries   int64         // attempts after the first of a request
	ByStatus  map[int]int64 // responses by status code
	Routes    []RouteStats  // sorted by method and route
	RateLimit RateLimit     // last budget reported
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{byStatus: map[int]int64{}, byRoute: map[string]*RouteStats{}}
}

// Observe records one attempt. Its signature fits Config.Observer.
func (m *Metrics) Observe(ri RequestInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	if ri.Attempt > 1 {
		m.retries++
	}
	key := ri.Method + " " + ri.Route
	rs := m.byRoute[key]
	if rs == nil {
		rs = &RouteStats{Method: ri.Method, Route: ri.Route}
		m.byRoute[key] = rs
	}
	rs.Requests++
	rs.TotalDuration += ri.Duration
	rs.MaxDuration = max(rs.MaxDuration, ri.Duration)
	switch {
	case ri.Status == 0:
		m.errors++
		rs.Errors++
	default:
		m.byStatus[ri.Status]++
		if ri.Status >= 500 {
			rs.ServerErrors++
		}
	}
	if ri.Throttled {
		m.throttled++
		rs.Throttled++
	}
	if ri.RateLimit.Known() && !ri.RateLimit.Observed.Before(m.last.Observed) {
		m.last = ri.RateLimit
	}
}

// Snapshot returns a copy of the counters.
func (m *Metrics) Snapshot() MetricsSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MetricsSnapshot{
		Requests: m.requests, Errors: m.errors, Throttled: m.throttled, Retries: m.retries,
		ByStatus: maps.Clone(m.byStatus), RateLimit: m.last,
	}
	for _, rs := range m.byRoute {
		s.Routes = append(s.Routes, *rs)
	}
	sort.Slice(s.Routes, func(i, j int) bool {
		if s.Routes[i].Route != s.Routes[j].Route {
			return s.Routes[i].Route < s.Routes[j].Route
		}
		return s.Routes[i].Method < s.Routes[j].Method
	})
	return s
}
