package web

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"
	"riverqueue.com/riverui/uiendpoints"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/store"
)

// assets holds the templates and the static files (CSS, the keyboard
// script): the console needs no network and no Node at run time.
//
//go:embed templates/*.html static/*
var assets embed.FS

// Config configures a Server. Store is required; every other field has a
// default or turns its part of the console off.
type Config struct {
	// Store is the console's store.
	Store store.Store
	// Jobs, when it is a River client of the store (what
	// store.Store.NewJobClient returns), is shown read-only under /river
	// (riverqueue.com/riverui). nil: no job view.
	Jobs store.JobClient
	// Metrics are the engine's collectors: the console records the groups
	// by state into them as it samples (nil: it records nothing).
	Metrics *engine.Metrics
	// Gatherer is served as /metrics and sampled for the charts. Default: a
	// registry holding Metrics alone.
	Gatherer prometheus.Gatherer
	// Run starts, pauses and resumes the merge workers (nil: the run page
	// says that this console runs no workers).
	Run RunControl
	// Checks are the checks of /healthz (store and platform reachable).
	// Default: the store alone.
	Checks []Check
	// Survive are the survivorship settings of the group pages and of a
	// steward's survivor and field choices (match.Config.SurviveOptions;
	// default match.DefaultConfig's).
	Survive *match.SurviveOptions
	// ApproveThreshold is the confidence from which the approve policy
	// approves a group: below it a proposed group needs a person (the
	// queue's first groups). Default match.DefaultConfig's (0.999).
	ApproveThreshold float64
	// Actor is who decisions are recorded as when nobody logged in (the
	// --user flag). Default "console".
	Actor string
	// Token, when set, is required: a person logs in with a name and the
	// token, and the name is the actor of their decisions. "" leaves the
	// console open to whoever reaches its address (loopback only: the
	// serve command refuses any other address without a token).
	Token string
	// Logger receives the console's log (never a token or a secret).
	// Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// SampleEvery is the period of the overview's time series. Default 5 s.
	SampleEvery time.Duration
	// LedgerPoll is how often the queue reads the ledger for changes made
	// outside the console. Default 2 s.
	LedgerPoll time.Duration
	// SessionTTL is how long a login lasts. Default 12 h.
	SessionTTL time.Duration
	// Restore builds the restorer of the merged-group pages' restore
	// button (restore.go); nil: no button.
	Restore RestoreFunc
	// Policy is the auto-approve policy file the process runs (serve
	// --policy): the policy page shows its guards (nil: the page shows the
	// recorded verdicts alone).
	Policy *policy.Policy
	// Cycles runs the scheduled cycles (serve --every/--cron): the cycles
	// page's "run now" and "skip next" (nil: the page lists the cycles
	// recorded in the store alone).
	Cycles CycleControl
}

// Check is one check of /healthz.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// RunControl is what the run page drives: the merge workers of the process
// (cmd/contactmerge's serve implements it over its pipeline).
type RunControl interface {
	// Status says whether the workers run.
	Status() RunStatus
	// Plan is what starting the workers now would do: the plan `run` shows
	// before it asks for confirmation.
	Plan(ctx context.Context) (RunPlan, error)
	// Start starts the workers for the plan whose Key is key, as actor;
	// ECONFLICT when the plan changed since (nothing started).
	Start(ctx context.Context, actor, key string) error
	// Pause stops the workers gracefully (running merges finish); Resume
	// starts them again.
	Pause(ctx context.Context, actor string) error
	Resume(ctx context.Context, actor string) error
}

// RunStatus is the state of the workers.
type RunStatus struct {
	// State is "idle" (never started), "running", "paused" or "stopping".
	State string
	Since time.Time
	By    string
	// Err is why the workers stopped by themselves, if they did.
	Err string
}

// RunPlan is a run's plan.
type RunPlan struct {
	// Text is the plan as the command line prints it.
	Text string
	// Groups, Contacts and ContactsAfter are its figures.
	Groups, Contacts, ContactsAfter int
	// Key identifies the plan: Start refuses a key the current plan does
	// not have.
	Key string
}

// Server is the web console: an http.Handler, and the background work
// Start runs (the queue index, the metric samples).
type Server struct {
	cfg      Config
	st       store.Store
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*template.Template
	mux      *http.ServeMux
	handler  http.Handler
	queue    *queueIndex
	series   *series
	auth     *auth
	river    http.Handler
	survive  match.SurviveOptions
	gatherer prometheus.Gatherer

	mu      sync.Mutex
	started bool
	wg      sync.WaitGroup
}

// New returns the console for cfg. EINVALID when Store is missing.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, cm.Errorf(cm.EINVALID, "web: Config.Store is required")
	}
	d := match.DefaultConfig()
	s := &Server{cfg: cfg, st: cfg.Store, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.cfg.ApproveThreshold = cmp.Or(cfg.ApproveThreshold, d.ApproveThreshold)
	s.cfg.Actor = cmp.Or(cfg.Actor, "console")
	s.cfg.SampleEvery = cmp.Or(cfg.SampleEvery, 5*time.Second)
	s.cfg.LedgerPoll = cmp.Or(cfg.LedgerPoll, 2*time.Second)
	s.cfg.SessionTTL = cmp.Or(cfg.SessionTTL, 12*time.Hour)
	if cfg.Survive != nil {
		s.survive = *cfg.Survive
	} else {
		s.survive = d.SurviveOptions()
	}
	s.gatherer = cfg.Gatherer
	if s.gatherer == nil {
		reg := prometheus.NewRegistry()
		if cfg.Metrics != nil {
			if err := cfg.Metrics.Register(reg); err != nil {
				return nil, fmt.Errorf("web: metrics: %w", err)
			}
		}
		s.gatherer = reg
	}
	if len(s.cfg.Checks) == 0 {
		s.cfg.Checks = []Check{{Name: "store", Run: func(ctx context.Context) error { _, err := s.st.CountByState(ctx); return err }}}
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if s.auth, err = newAuth(s.cfg.Token, s.cfg.SessionTTL, s.now); err != nil {
		return nil, err
	}
	s.queue = newQueueIndex(cfg.Store)
	s.series = newSeries(720)
	if s.river, err = riverView(cfg.Jobs, s.log); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// riverView returns River's own job view for jobs, mounted read-only under
// /river, or nil when jobs is not a River client.
func riverView(jobs store.JobClient, log *slog.Logger) (http.Handler, error) {
	var b uiendpoints.Bundle
	switch c := jobs.(type) {
	case *river.Client[pgx.Tx]:
		b = riverui.NewEndpoints(c, nil)
	case *river.Client[*sql.Tx]:
		b = riverui.NewEndpoints(c, nil)
	default:
		return nil, nil
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: b, Logger: log, Prefix: "/river"})
	if err != nil {
		return nil, fmt.Errorf("web: River's job view: %w", err)
	}
	return h, nil
}

// Start runs the console's background work until ctx ends: the queue index
// (loaded, then kept current from the ledger) and the metric samples. It
// returns at once; Wait waits for the work to stop.
func (s *Server) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	s.wg.Go(func() {
		s.queue.run(ctx, s.cfg.LedgerPoll, func(err error) { s.log.Error("console: review queue", "err", err) })
	})
	s.wg.Go(func() { s.sampleLoop(ctx) })
}

// Wait waits until the background work Start began has stopped.
func (s *Server) Wait() { s.wg.Wait() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes registers every route; doc.go lists them.
func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	m.HandleFunc("GET /healthz", s.handleHealth)
	m.Handle("GET /metrics", s.auth.require(promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{ErrorLog: slogErrorLog{s.log}}), true))
	m.HandleFunc("GET /login", s.handleLoginForm)
	m.HandleFunc("POST /login", s.handleLogin)
	m.HandleFunc("POST /logout", s.handleLogout)

	page := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		m.Handle(pattern, s.auth.require(s.wrap(h), false))
	}
	page("GET /{$}", s.handleOverview)
	page("GET /queue", s.handleQueue)
	page("GET /queue/next", s.handleQueueStep)
	page("GET /groups/{id}", s.handleGroup)
	page("POST /groups/{id}/approve", s.handleApprove)
	page("POST /groups/{id}/reject", s.handleReject)
	page("POST /groups/{id}/split", s.handleSplit)
	page("POST /groups/{id}/choose", s.handleChoose)
	page("POST /groups/{id}/release", s.handleRelease)
	page("POST /groups/{id}/restore/preview", s.handleRestorePreview)
	page("POST /groups/{id}/restore", s.handleRestore)
	page("GET /bulk", s.handleBulkForm)
	page("POST /bulk/preview", s.handleBulkPreview)
	page("POST /bulk/approve", s.handleBulkApprove)
	page("GET /quarantine", s.handleStateList(cm.StateQuarantined))
	page("GET /failed", s.handleStateList(cm.StateFailed))
	page("GET /ledger", s.handleLedger)
	page("GET /ledger.csv", s.handleLedgerCSV)
	page("GET /idmap.csv", s.handleIDMap)
	page("GET /run", s.handleRun)
	page("POST /run/start", s.handleRunStart)
	page("POST /run/pause", s.handleRunPause)
	page("POST /run/resume", s.handleRunResume)
	page("GET /policy", s.handlePolicy)
	page("GET /cycles", s.handleCycles)
	page("POST /cycles/run", s.handleCycleRun)
	page("POST /cycles/skip", s.handleCycleSkip)
	page("POST /cycles/unskip", s.handleCycleUnskip)
	page("GET /sources", s.handleSources)
	if s.river != nil {
		m.Handle("/river", http.RedirectHandler("/river/", http.StatusFound))
		m.Handle("/river/", s.auth.require(readOnly(s.river), false))
	}
	m.Handle("/", s.auth.require(s.wrap(func(http.ResponseWriter, *http.Request) error {
		return errNotFound("no such page")
	}), false))
	s.mux = m
	s.handler = securityHeaders(http.NewCrossOriginProtection().Handler(s.auth.session(m)))
}

// readOnly serves GET and HEAD through h and refuses every other method:
// River's job view is shown, never used to cancel, retry or delete the
// engine's jobs (nor does it carry the console's CSRF token).
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "River's job view is read-only in the contactmerge console", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every answer carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/river") {
			hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		}
		h.ServeHTTP(w, r)
	})
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// httpError is an error with the status and the message a page shows.
type httpError struct {
	status int
	title  string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errNotFound(msg string) error { return &httpError{http.StatusNotFound, "Not found", msg} }
func errBadRequest(msg string) error {
	return &httpError{http.StatusBadRequest, "Bad request", msg}
}
func errConflict(msg string) error { return &httpError{http.StatusConflict, "Changed meanwhile", msg} }

// wrap turns a handler's error into an error page: the one place that maps
// errors to statuses. cm's EINVALID is a 400 with its message (what the
// review package refused and why), ENOTFOUND a 404, ECONFLICT a 409; any
// other error is a 500 whose details go to the log only.
func (s *Server) wrap(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var he *httpError
		switch {
		case errors.As(err, &he):
		case cm.IsCode(err, cm.EINVALID):
			he = &httpError{http.StatusBadRequest, "Not done", err.Error()}
		case cm.IsCode(err, cm.ENOTFOUND):
			he = &httpError{http.StatusNotFound, "Not found", err.Error()}
		case cm.IsCode(err, cm.ECONFLICT):
			he = &httpError{http.StatusConflict, "Changed meanwhile", err.Error() + ". Nothing was changed: reload the page to see the change."}
		case errors.Is(err, context.Canceled):
			return
		default:
			s.log.Error("console", "method", r.Method, "path", r.URL.Path, "err", err)
			he = &httpError{http.StatusInternalServerError, "Internal error", "The console could not do this; the details are in its log."}
		}
		s.renderStatus(w, r, he.status, "error", map[string]any{"Title": he.title, "Message": he.msg})
	})
}

// view is what every page template receives.
type view struct {
	Title    string
	Nav      string // the navigation entry shown as current
	Actor    string
	LoginOn  bool // the console needs a login
	LoggedIn bool
	CSRF     string
	Flash    string
	River    bool
	Data     any
}

// render writes page name with data.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	s.renderStatus(w, r, http.StatusOK, name, data)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	v := view{Nav: name, Actor: s.actor(r), LoginOn: s.auth.on(), CSRF: s.auth.csrfToken(r), Flash: flashText(r.URL.Query().Get("flash")),
		River: s.river != nil, Data: data, LoggedIn: s.auth.name(r) != ""}
	if m, ok := data.(map[string]any); ok {
		if t, ok := m["Title"].(string); ok {
			v.Title = t
		}
		if n, ok := m["Nav"].(string); ok {
			v.Nav = n
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "page", v); err != nil {
		s.log.Error("console: template", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderPartial writes the block "live" of page name (the overview's
// partial update).
func (s *Server) renderPartial(w http.ResponseWriter, name string, data any) error {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "live", view{Data: data}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(buf.Bytes())
	return err
}

// actor is who r's decisions are recorded as: the login name, else the
// configured actor.
func (s *Server) actor(r *http.Request) string {
	if name := s.auth.name(r); name != "" {
		return name
	}
	return s.cfg.Actor
}

// slogErrorLog adapts the logger to promhttp's error log.
type slogErrorLog struct{ l *slog.Logger }

func (e slogErrorLog) Println(v ...any) { e.l.Error("console: /metrics", "err", fmt.Sprint(v...)) }
