package engine

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// Metrics holds the engine's Prometheus collectors (client_golang). It is
// owned by whoever builds the Engine (no globals, no default registry), fed
// by the engine and by the API client's observer (NewObserver), and read by
// Run's Progress and Summary (Get) and by commands (the demo's figures).
// Register adds its collectors to a registry that a /metrics endpoint
// serves (`contactmerge serve`). It is safe for concurrent use.
//
// The series, all prefixed contactmerge_:
//
//	requests_total{method,route,status}      HTTP attempts of the API client (status "error": no response)
//	request_duration_seconds{method,route}   their latency
//	throttled_total                          429 answers
//	ratelimit_allowed, ratelimit_remaining   the last inin-ratelimit-* budget seen (requests per window)
//	ratelimit_reset_seconds                  time until that window resets
//	merge_requests_total{outcome}            merge requests by verdict: applied, conflict, throttled, ambiguous, stale, refused
//	groups_merged_total                      groups that reached merged
//	groups{state}                            groups by state (set by Run at every poll)
//	concurrency_limit, merges_in_progress    adaptive concurrency (set by Run at every poll)
//	preflight_groups_total                   groups preflighted
//	preflight_quarantines_total              groups preflight quarantined for activity
//	verify_requests_total                    verifications (unresolved bulk reads)
//	verifications_total{outcome}             their outcome: not_applied, applied, anomaly, read_failed
//	transitions_total{to}                    state transitions the engine made
//	lease_conflicts_total, bisections_total, anomalies_total, alerts_total
//	job_duration_seconds{kind,result}        River job executions (result ok, snoozed, error)
//	job_wait_seconds{kind}                   from a job's scheduled time to its execution
type Metrics struct {
	// own holds exactly these collectors, for Get.
	own *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	throttled       prometheus.Counter
	rateAllowed     prometheus.Gauge
	rateRemaining   prometheus.Gauge
	rateReset       prometheus.Gauge
	merges          *prometheus.CounterVec
	groupsMerged    prometheus.Counter
	groups          *prometheus.GaugeVec
	concurrency     prometheus.Gauge
	inProgress      prometheus.Gauge
	preflighted     prometheus.Counter
	preflightQuar   prometheus.Counter
	verifyRequests  prometheus.Counter
	verifications   *prometheus.CounterVec
	transitions     *prometheus.CounterVec
	leaseConflicts  prometheus.Counter
	bisections      prometheus.Counter
	anomalies       prometheus.Counter
	alerts          prometheus.Counter
	jobDuration     *prometheus.HistogramVec
	jobWait         *prometheus.HistogramVec
}

// metricPrefix starts every series name of Metrics.
const metricPrefix = "contactmerge_"

// NewMetrics returns the engine's collectors, registered nowhere but in
// their own registry (for Get); Register adds them to another.
func NewMetrics() *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: metricPrefix + name, Help: help})
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: metricPrefix + name, Help: help})
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "requests_total",
			Help: "HTTP attempts of the Genesys Cloud API client (retries included) by method, route template and status; status \"error\" when no response was received."},
			[]string{"method", "route", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricPrefix + "request_duration_seconds",
			Help: "Latency of the API client's HTTP attempts.", Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
			[]string{"method", "route"}),
		throttled:     counter("throttled_total", "Throttled (429) answers of the platform."),
		rateAllowed:   gauge("ratelimit_allowed", "Requests the platform allows in its rate-limit window (last inin-ratelimit-allowed seen)."),
		rateRemaining: gauge("ratelimit_remaining", "Requests left in the current rate-limit window (allowed - count, last seen)."),
		rateReset:     gauge("ratelimit_reset_seconds", "Seconds until the rate-limit window resets (last inin-ratelimit-reset seen)."),
		merges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "merge_requests_total",
			Help: "Merge requests sent, by what their answer meant: applied, conflict (409), throttled (429), ambiguous (verify), stale (404/401), refused."},
			[]string{"outcome"}),
		groupsMerged: counter("groups_merged_total", "Groups that reached merged."),
		groups: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: metricPrefix + "groups",
			Help: "Merge groups by state (sampled by a running pipeline)."}, []string{"state"}),
		concurrency:    gauge("concurrency_limit", "The adaptive limit of concurrent merges."),
		inProgress:     gauge("merges_in_progress", "Merges holding a concurrency slot."),
		preflighted:    counter("preflight_groups_total", "Approved groups checked by preflight."),
		preflightQuar:  counter("preflight_quarantines_total", "Groups preflight quarantined because a member had an active conversation or open case."),
		verifyRequests: counter("verify_requests_total", "Verifications of ambiguous outcomes (unresolved bulk reads)."),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "verifications_total",
			Help: "Outcomes of verifications: not_applied, applied, anomaly, read_failed."}, []string{"outcome"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + "transitions_total",
			Help: "Group state transitions made by the engine, by target state."}, []string{"to"}),
		leaseConflicts: counter("lease_conflicts_total", "Executions that found a member leased by another worker."),
		bisections:     counter("bisections_total", "Groups bisected after a 409."),
		anomalies:      counter("anomalies_total", "Verifications that found members merged into different contacts."),
		alerts:         counter("alerts_total", "Throttling alerts (the throttled share of a window exceeded its limit)."),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricPrefix + "job_duration_seconds",
			Help: "Execution time of River jobs by kind and result (ok, snoozed, error).", Buckets: prometheus.ExponentialBuckets(0.005, 3, 10)},
			[]string{"kind", "result"}),
		jobWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: metricPrefix + "job_wait_seconds",
			Help: "Time from a River job's scheduled time to the start of its execution, by kind.", Buckets: prometheus.ExponentialBuckets(0.005, 3, 10)},
			[]string{"kind"}),
	}
	for _, o := range []string{"applied", "conflict", "throttled", "ambiguous", "stale", "refused"} {
		m.merges.WithLabelValues(o)
	}
	for _, o := range []string{"not_applied", "applied", "anomaly", "read_failed"} {
		m.verifications.WithLabelValues(o)
	}
	m.own = prometheus.NewRegistry()
	m.own.MustRegister(m.collectors()...)
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		m.requests, m.requestDuration, m.throttled, m.rateAllowed, m.rateRemaining, m.rateReset,
		m.merges, m.groupsMerged, m.groups, m.concurrency, m.inProgress, m.preflighted, m.preflightQuar,
		m.verifyRequests, m.verifications, m.transitions, m.leaseConflicts, m.bisections, m.anomalies,
		m.alerts, m.jobDuration, m.jobWait,
	}
}

// Register adds m's collectors to reg (the registry a /metrics endpoint
// serves). It fails when reg already holds collectors of the same names.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Get returns the sum over all label values of the series named name
// (e.g. "contactmerge_requests_total"; for a histogram, its sample count),
// 0 when there is none.
func (m *Metrics) Get(name string) float64 {
	families, err := m.own.Gather()
	if err != nil {
		return 0
	}
	return FamilySum(families, name)
}

// FamilySum returns the sum over all series of the metric family named
// name among families (counters, gauges, untyped values; histogram and
// summary sample counts), 0 when it is absent. The console reads its
// time series from a registry's Gather with it.
func FamilySum(families []*dto.MetricFamily, name string) float64 {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		var t float64
		for _, s := range f.GetMetric() {
			switch {
			case s.Counter != nil:
				t += s.GetCounter().GetValue()
			case s.Gauge != nil:
				t += s.GetGauge().GetValue()
			case s.Untyped != nil:
				t += s.GetUntyped().GetValue()
			case s.Histogram != nil:
				t += float64(s.GetHistogram().GetSampleCount())
			case s.Summary != nil:
				t += float64(s.GetSummary().GetSampleCount())
			}
		}
		return t
	}
	return 0
}

// observeInto records one HTTP attempt of the API client in m: requests by
// method, route and status, its latency, throttled answers and the
// rate-limit gauges.
func observeInto(m *Metrics, ri genesys.RequestInfo) {
	if m == nil {
		return
	}
	status := strconv.Itoa(ri.Status)
	if ri.Status == 0 {
		status = "error"
	}
	m.requests.WithLabelValues(ri.Method, ri.Route, status).Inc()
	if ri.Duration > 0 {
		m.requestDuration.WithLabelValues(ri.Method, ri.Route).Observe(ri.Duration.Seconds())
	}
	if throttled(ri) {
		m.throttled.Inc()
	}
	if ri.RateLimit.Known() {
		m.rateAllowed.Set(float64(ri.RateLimit.Allowed))
		m.rateRemaining.Set(float64(ri.RateLimit.Remaining()))
		m.rateReset.Set(ri.RateLimit.Reset.Seconds())
	}
}

// observeRun records what Run polls: groups by state and the concurrency.
func (m *Metrics) observeRun(counts map[cm.GroupState]int, a *AIMD) {
	for _, s := range cm.AllStates {
		m.groups.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
	limit, inUse := a.usage()
	m.concurrency.Set(float64(limit))
	m.inProgress.Set(float64(inUse))
}

// SetGroups records the number of groups in each state (the console samples
// it when no pipeline polls).
func (m *Metrics) SetGroups(counts map[cm.GroupState]int) {
	for _, s := range cm.AllStates {
		m.groups.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
}

// verifyOutcome is the outcome label of a verification's verdict.
func verifyOutcome(k readKind) string {
	switch k {
	case readNotApplied:
		return "not_applied"
	case readApplied:
		return "applied"
	case readAnomaly:
		return "anomaly"
	}
	return "invalid"
}

// jobMetrics is the River worker middleware that times every job
// (RiverConfig installs it).
type jobMetrics struct {
	river.MiddlewareDefaults
	m *Metrics
}

// Work implements rivertype.WorkerMiddleware.
func (j *jobMetrics) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	start := time.Now()
	err := doInner(ctx)
	j.m.observeJob(job.Kind, job.ScheduledAt, start, err)
	return err
}

// observeJob records one execution of a River job of kind that was
// scheduled at scheduled, started at start and returned err.
func (m *Metrics) observeJob(kind string, scheduled, start time.Time, err error) {
	result := "ok"
	var snooze *river.JobSnoozeError
	switch {
	case err == nil:
	case errors.As(err, &snooze):
		result = "snoozed"
	default:
		result = "error"
	}
	m.jobDuration.WithLabelValues(kind, result).Observe(time.Since(start).Seconds())
	if !scheduled.IsZero() {
		m.jobWait.WithLabelValues(kind).Observe(max(start.Sub(scheduled), 0).Seconds())
	}
}
