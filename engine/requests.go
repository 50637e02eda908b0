package engine

import (
	"context"
	"sync"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// RequestLog counts the HTTP attempts of an API client by route and status
// in memory (Observe, on the request path, never waits for the store) and
// adds them to the store's durable request counters when flushed
// (cm.Store.AddRequestCounts), so that `status` reports every throttled
// response of every run, scan and worker, not only those the ledger
// records. A failed flush keeps its counts for the next one. It is safe for
// concurrent use.
type RequestLog struct {
	st      cm.Store
	mu      sync.Mutex
	pending map[requestKey]int64
	flush   sync.Mutex // one flush at a time: counts are added once
}

type requestKey struct {
	route  string
	status int
}

// NewRequestLog returns a RequestLog that flushes into st.
func NewRequestLog(st cm.Store) *RequestLog {
	return &RequestLog{st: st, pending: map[requestKey]int64{}}
}

// Observe counts one HTTP attempt; it fits genesys.Config.Observer.
func (l *RequestLog) Observe(ri genesys.RequestInfo) {
	route := ri.Route
	if route == "" {
		route = ri.Method + " (unknown route)"
	}
	l.mu.Lock()
	l.pending[requestKey{route, ri.Status}]++
	l.mu.Unlock()
}

// Flush adds the counts observed since the last successful flush to the
// store. It writes nothing when there are none.
func (l *RequestLog) Flush(ctx context.Context) error {
	l.flush.Lock()
	defer l.flush.Unlock()
	l.mu.Lock()
	taken := l.pending
	l.pending = map[requestKey]int64{}
	l.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	counts := make([]cm.RequestCount, 0, len(taken))
	for k, n := range taken {
		counts = append(counts, cm.RequestCount{Route: k.route, Status: k.status, N: n})
	}
	if err := l.st.AddRequestCounts(ctx, counts); err != nil {
		l.mu.Lock()
		for k, n := range taken {
			l.pending[k] += n
		}
		l.mu.Unlock()
		return err
	}
	return nil
}
