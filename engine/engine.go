package engine

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/match"
)

// Config configures an Engine. Zero fields take the defaults of
// DefaultConfig (see WithDefaults).
type Config struct {
	// Owner names this worker in leases and the ledger. Default: host:pid.
	Owner string
	// PreflightBatch is the number of groups read together in preflight.
	// Default 100 (bulk reads take up to 100 ids a request).
	PreflightBatch int
	// MaxPerRequest is the number of contact ids sent in one merge request.
	// Default 10; the platform allows 25. Larger groups merge in rounds.
	MaxPerRequest int
	// MaxMergeSet is the platform's merge-set limit. Default 52.
	MaxMergeSet int
	// ActivityLookback is how far back the analytics query looks for
	// conversations that have not ended: the query only returns
	// conversations that started in its interval, so an email or messaging
	// conversation open for longer is missed. Default 30 days; at most
	// MaxActivityLookback (31 days, the longest interval the platform takes
	// in one filtered query; the client splits the interval where it must).
	ActivityLookback time.Duration
	// CheckCases enables the (preview) case lookup per member in preflight.
	// It costs one request per contact; default false.
	CheckCases bool
	// QuarantineBase and QuarantineMax bound the exponential quarantine
	// backoff: base·2^(n-1), capped. Defaults 5 min and 6 h.
	QuarantineBase, QuarantineMax time.Duration
	// QuarantineGiveUp is the number of quarantines after which a group
	// fails instead ("gave up"). Default 8.
	QuarantineGiveUp int
	// VerifySettle is how long after an ambiguous outcome the engine waits
	// before it concludes from "no member changed" that the request was not
	// applied (a merge may still complete in the background after a gateway
	// timeout). Default 2 min.
	VerifySettle time.Duration
	// LeaseTTL is the lifetime of member leases. Default 2 min.
	LeaseTTL time.Duration
	// JobTimeout bounds one execution of a preflight or merge job (waits
	// for the rate budget included); an interrupted merge is verified by the
	// next execution. Default 2 min.
	JobTimeout time.Duration
	// RescueAfter is how long a job stays running before River takes it
	// over (its worker died): RiverConfig sets RescueStuckJobsAfter to it.
	// It must exceed JobTimeout. Default 3 min, or JobTimeout + 1 min when
	// that is longer.
	RescueAfter time.Duration
	// Concurrency configures the adaptive merge concurrency. Zero fields
	// take the defaults of DefaultConfig().Concurrency: initial 5, min 1,
	// max 50, window 10 s, throttled share 5%.
	Concurrency AIMDConfig
	// AlertWebhook, when set, receives every alert as a JSON POST.
	AlertWebhook string
	// Survivor is the survivorship policy used when a group is re-planned on
	// fresh data. Default match.DefaultConfig().Survivor.
	Survivor match.SurvivorPolicy
	// Logger receives the engine's log; default discards.
	Logger *slog.Logger
	// Metrics is the registry the engine writes to; default a new one.
	Metrics *Metrics
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultConfig returns the engine's defaults: the values WithDefaults fills
// in, and the defaults of the run and worker flags. Owner, Logger, Metrics
// and Now are left empty (WithDefaults fills them per engine).
func DefaultConfig() Config {
	return Config{
		PreflightBatch:   100,
		MaxPerRequest:    10,
		MaxMergeSet:      52,
		ActivityLookback: 30 * 24 * time.Hour,
		QuarantineBase:   5 * time.Minute,
		QuarantineMax:    6 * time.Hour,
		QuarantineGiveUp: 8,
		VerifySettle:     2 * time.Minute,
		LeaseTTL:         2 * time.Minute,
		JobTimeout:       2 * time.Minute,
		RescueAfter:      3 * time.Minute,
		Concurrency:      defaultAIMD(),
		Survivor:         match.DefaultConfig().Survivor,
	}
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = fmt.Sprintf("%s:%d", cmp.Or(host, "worker"), os.Getpid())
	}
	c.PreflightBatch = cmp.Or(c.PreflightBatch, d.PreflightBatch)
	c.MaxPerRequest = cmp.Or(c.MaxPerRequest, d.MaxPerRequest)
	c.MaxMergeSet = cmp.Or(c.MaxMergeSet, d.MaxMergeSet)
	c.ActivityLookback = cmp.Or(c.ActivityLookback, d.ActivityLookback)
	c.QuarantineBase = cmp.Or(c.QuarantineBase, d.QuarantineBase)
	c.QuarantineMax = cmp.Or(c.QuarantineMax, d.QuarantineMax)
	c.QuarantineGiveUp = cmp.Or(c.QuarantineGiveUp, d.QuarantineGiveUp)
	c.VerifySettle = cmp.Or(c.VerifySettle, d.VerifySettle)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, d.LeaseTTL)
	c.JobTimeout = cmp.Or(c.JobTimeout, d.JobTimeout)
	c.RescueAfter = cmp.Or(c.RescueAfter, max(d.RescueAfter, c.JobTimeout+time.Minute))
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Concurrency.Now == nil {
		c.Concurrency.Now = c.Now
	}
	c.Concurrency = c.Concurrency.withDefaults()
	if len(c.Survivor.Order) == 0 {
		c.Survivor = d.Survivor
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.MaxPerRequest < 2 || c.MaxPerRequest > genesys.MergeMax:
		return cm.Errorf(cm.EINVALID, "engine: MaxPerRequest must be between 2 and %d (got %d)", genesys.MergeMax, c.MaxPerRequest)
	case c.PreflightBatch < 1:
		return cm.Errorf(cm.EINVALID, "engine: PreflightBatch must be positive (got %d)", c.PreflightBatch)
	case c.MaxMergeSet < 2:
		return cm.Errorf(cm.EINVALID, "engine: MaxMergeSet must be at least 2 (got %d)", c.MaxMergeSet)
	case c.ActivityLookback < 0 || c.ActivityLookback > MaxActivityLookback:
		return cm.Errorf(cm.EINVALID, "engine: ActivityLookback %s is out of range: at most %s (31 days, the longest interval a filtered analytics query may span)",
			c.ActivityLookback, MaxActivityLookback)
	case c.RescueAfter <= c.JobTimeout:
		return cm.Errorf(cm.EINVALID, "engine: RescueAfter (%s) must exceed JobTimeout (%s)", c.RescueAfter, c.JobTimeout)
	}
	return nil
}

// Engine preflights and executes approved merge groups against the platform.
// It is safe for concurrent use by River workers.
type Engine struct {
	cfg   Config
	store cm.Store
	api   *genesys.Client
	pool  *genesys.Pool // nil: api alone (New); else api is its first (pool.go)
	aimd  *AIMD
	log   *slog.Logger
	met   *Metrics
	jobs  Jobs // set by Attach; nil means "no job queue" (direct calls)
	// requests counts every response for the store's request counters
	// (FlushRequests).
	requests *RequestLog
	// execSeq numbers executions, to give each its own lease owner.
	execSeq atomic.Int64
	// halted holds the error that stops the engine (a 403: ErrForbidden).
	halted *halt
	// workerID is the River client id RiverConfig gave the job client: the
	// engine's id in heartbeats (takeover.go).
	workerID string
}

// ClientFunc builds the engine's API client; observe must be (part of) the
// client's genesys.Config.Observer.
type ClientFunc func(observe func(genesys.RequestInfo)) (*genesys.Client, error)

// New returns an Engine whose API client newClient builds with
// the engine's observer (ObserveRequest), so that the engine sees every
// response for metrics and adaptive concurrency without the caller wiring
// it. It returns newClient's error as is.
func New(st cm.Store, cfg Config, newClient ClientFunc) (*Engine, error) {
	e, err := newEngine(st, cfg)
	if err != nil {
		return nil, err
	}
	if e.api, err = newClient(e.ObserveRequest); err != nil {
		return nil, err
	}
	return e, nil
}

func newEngine(st cm.Store, cfg Config) (*Engine, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, store: st, log: cfg.Logger, met: cfg.Metrics, requests: NewRequestLog(st)}
	e.halted = newHalt()
	alertFns := []func(Alert){e.logAlert}
	if cfg.AlertWebhook != "" {
		post := webhookAlerter(cfg.AlertWebhook, &http.Client{Timeout: 10 * time.Second}, cfg.Logger)
		// Alerts fire from the request path: never make a request wait for
		// the webhook.
		alertFns = append(alertFns, func(a Alert) { go post(a) })
	}
	ac := cfg.Concurrency
	userAlert := ac.Alert
	ac.Alert = func(a Alert) {
		for _, f := range alertFns {
			f(a)
		}
		if userAlert != nil {
			userAlert(a)
		}
	}
	e.aimd = NewAIMD(ac)
	return e, nil
}

// Metrics returns the engine's registry.
func (e *Engine) Metrics() *Metrics { return e.met }

// Concurrency returns the adaptive concurrency controller.
func (e *Engine) Concurrency() *AIMD { return e.aimd }

// Client returns the engine's API client.
func (e *Engine) Client() *genesys.Client { return e.api }

func (e *Engine) logAlert(a Alert) {
	e.met.alerts.Inc()
	e.log.Error("throttling alert", "message", a.Message, "requests", a.Requests, "throttled", a.Throttled)
}

// ObserveRequest records one HTTP attempt of the genesys client: request
// and throttle counters by route and status, the AIMD window, and the
// count FlushRequests adds to the store's durable request counters. It is
// NewObserver(e.Metrics(), e.Concurrency()) plus that count.
func (e *Engine) ObserveRequest(ri genesys.RequestInfo) {
	observeInto(e.met, ri)
	e.aimd.Observe(throttled(ri))
	e.requests.Observe(ri)
}

// FlushRequests adds the requests ObserveRequest counted since the last
// flush to the store's request counters (cm.Store.AddRequestCounts), which
// `status` reports: the ledger records the outcome of each merge, not the
// throttled or failed attempts before it, nor the reads. Callers of Run
// flush from its Progress callback and once after it returns; counts not
// yet flushed when the process dies are lost (at most one poll's worth).
func (e *Engine) FlushRequests(ctx context.Context) error { return e.requests.Flush(ctx) }

// NewObserver returns a genesys.Config.Observer that records every HTTP
// attempt in m (see observeInto) and, when a is not nil, feeds a's
// throttling window. Commands that run without an engine (scan) pass a nil
// a.
func NewObserver(m *Metrics, a *AIMD) func(genesys.RequestInfo) {
	return func(ri genesys.RequestInfo) {
		observeInto(m, ri)
		if a != nil {
			a.Observe(throttled(ri))
		}
	}
}

func throttled(ri genesys.RequestInfo) bool {
	return ri.Throttled || ri.Status == http.StatusTooManyRequests
}

// Requests returns the number of HTTP attempts recorded so far.
func (e *Engine) Requests() float64 { return e.met.Get("contactmerge_requests_total") }

// quarantineDelay is the backoff before the n-th quarantine's retry (n ≥ 1).
func (e *Engine) quarantineDelay(n int) time.Duration {
	d := e.cfg.QuarantineBase
	for i := 1; i < n && d < e.cfg.QuarantineMax; i++ {
		d *= 2
	}
	return min(d, e.cfg.QuarantineMax)
}

// transition applies t and counts it; ECONFLICT (lost race) is returned as
// is. An edge the state machine does not have is a bug, reported as
// EINTERNAL rather than mistaken for a lost race.
func (e *Engine) transition(ctx context.Context, t cm.Transition) (cm.Group, error) {
	if t.Actor == "" {
		t.Actor = e.cfg.Owner
	}
	for _, from := range t.From {
		if from != t.To && !cm.CanTransition(from, t.To) {
			return cm.Group{}, cm.Errorf(cm.EINTERNAL, "engine: no transition %s → %s (group %s)", from, t.To, t.GroupID)
		}
	}
	g, err := e.store.Transition(ctx, t)
	if err == nil {
		e.met.transitions.WithLabelValues(string(t.To)).Inc()
	}
	return g, err
}
