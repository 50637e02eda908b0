package web

import (
	"context"
	"sync"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
)

// sample is one reading of the metrics and the store.
type sample struct {
	At        time.Time
	Requests  float64 // contactmerge_requests_total, summed
	Throttled float64 // contactmerge_throttled_total
	Merged    float64 // contactmerge_groups_merged_total
	Allowed   float64 // contactmerge_ratelimit_allowed: the budget per window
	Remaining float64 // contactmerge_ratelimit_remaining
	Limit     float64 // contactmerge_concurrency_limit
	InUse     float64 // contactmerge_merges_in_progress
	Counts    map[cm.GroupState]int
	Contacts  int64
}

// series is a ring of the last samples.
type series struct {
	mu   sync.RWMutex
	buf  []sample
	next int
	full bool
}

func newSeries(n int) *series { return &series{buf: make([]sample, n)} }

func (s *series) add(x sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf[s.next] = x
	s.next = (s.next + 1) % len(s.buf)
	s.full = s.full || s.next == 0
}

// all returns the samples, oldest first.
func (s *series) all() []sample {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.full {
		return append([]sample(nil), s.buf[:s.next]...)
	}
	return append(append([]sample(nil), s.buf[s.next:]...), s.buf[:s.next]...)
}

// sampleLoop samples at once, then every SampleEvery until ctx ends.
func (s *Server) sampleLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.SampleEvery)
	defer t.Stop()
	for {
		if err := s.sampleOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("console: sampling", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sampleOnce reads the metrics and the store's counts into the series.
func (s *Server) sampleOnce(ctx context.Context) error {
	x := sample{At: s.now()}
	fams, err := s.gatherer.Gather()
	if err != nil {
		return err
	}
	x.Requests = engine.FamilySum(fams, "contactmerge_requests_total")
	x.Throttled = engine.FamilySum(fams, "contactmerge_throttled_total")
	x.Merged = engine.FamilySum(fams, "contactmerge_groups_merged_total")
	x.Allowed = engine.FamilySum(fams, "contactmerge_ratelimit_allowed")
	x.Remaining = engine.FamilySum(fams, "contactmerge_ratelimit_remaining")
	x.Limit = engine.FamilySum(fams, "contactmerge_concurrency_limit")
	x.InUse = engine.FamilySum(fams, "contactmerge_merges_in_progress")
	if x.Counts, err = s.st.CountByState(ctx); err != nil {
		return err
	}
	if x.Contacts, err = s.st.CountContacts(ctx); err != nil {
		return err
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.SetGroups(x.Counts)
	}
	s.series.add(x)
	return nil
}

// rates are the figures of the overview's charts at each sample: what
// happened in the minute before it (a rolling count, so that a short burst
// reads as what it is rather than extrapolated to a rate), and the
// concurrency then.
type rates struct {
	At               []time.Time
	MergesPerMin     []float64
	RequestsPerMin   []float64
	BudgetPerMin     []float64
	ThrottledShare   []float64 // 0..1
	Concurrency      []float64
	InUse            []float64
	RecentMergesRate float64 // merges per minute over the last 5 minutes
}

// derive computes the rates of samples (oldest first).
func derive(samples []sample) rates {
	var r rates
	j := 0
	for i := 1; i < len(samples); i++ {
		b := samples[i]
		for j < i && b.At.Sub(samples[j].At) > time.Minute {
			j++
		}
		if j == i {
			j = i - 1
		}
		a := samples[j]
		dreq := max(b.Requests-a.Requests, 0)
		share := 0.0
		if dreq > 0 {
			share = max(b.Throttled-a.Throttled, 0) / dreq
		}
		r.At = append(r.At, b.At)
		r.MergesPerMin = append(r.MergesPerMin, max(b.Merged-a.Merged, 0))
		r.RequestsPerMin = append(r.RequestsPerMin, dreq)
		r.BudgetPerMin = append(r.BudgetPerMin, b.Allowed)
		r.ThrottledShare = append(r.ThrottledShare, share)
		r.Concurrency = append(r.Concurrency, b.Limit)
		r.InUse = append(r.InUse, b.InUse)
	}
	if n := len(samples); n >= 2 {
		last := samples[n-1]
		i := n - 2
		for i > 0 && last.At.Sub(samples[i].At) < 5*time.Minute {
			i--
		}
		if dt := last.At.Sub(samples[i].At).Minutes(); dt > 0 {
			r.RecentMergesRate = max(last.Merged-samples[i].Merged, 0) / dt
		}
	}
	return r
}
