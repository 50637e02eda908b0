package engine

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
)

// Metrics is a small registry of counters and gauges: contactmerge's only
// one. It is owned by whoever builds the Engine (no globals), fed by the
// engine and by the API client's observer (NewObserver), and read by Run's
// Progress and Summary and by commands (the demo's figures). WritePrometheus
// renders it for a /metrics endpoint. It is safe for concurrent use.
type Metrics struct {
	mu       sync.Mutex
	counters map[string]float64
	gauges   map[string]float64
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{counters: map[string]float64{}, gauges: map[string]float64{}}
}

// Add increases counter name (Prometheus style, labels included in the name,
// e.g. `contactmerge_requests_total{route="merge",status="200"}`).
func (m *Metrics) Add(name string, v float64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.counters[name] += v
	m.mu.Unlock()
}

// Set sets gauge name to v.
func (m *Metrics) Set(name string, v float64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.gauges[name] = v
	m.mu.Unlock()
}

// Get returns the value of counter or gauge name (0 if unknown).
func (m *Metrics) Get(name string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.counters[name]; ok {
		return v
	}
	return m.gauges[name]
}

// Snapshot returns a copy of every counter and gauge.
func (m *Metrics) Snapshot() map[string]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := maps.Clone(m.counters)
	maps.Copy(out, m.gauges)
	return out
}

// Sum returns the total of all counters whose name starts with prefix.
func (m *Metrics) Sum(prefix string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var t float64
	for k, v := range m.counters {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			t += v
		}
	}
	return t
}

// WritePrometheus writes the registry in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, set := range []struct {
		kind string
		vals map[string]float64
	}{{"counter", m.counters}, {"gauge", m.gauges}} {
		for _, k := range slices.Sorted(maps.Keys(set.vals)) {
			if _, err := fmt.Fprintf(w, "%s %g\n", k, set.vals[k]); err != nil {
				return err
			}
		}
	}
	return nil
}
