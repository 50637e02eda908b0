package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/cycle"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/restore"
	"github.com/contactmerge/contactmerge/store"
	"github.com/contactmerge/contactmerge/web"
)

// serveOptions are the options of serve.
type serveOptions struct {
	Factory *Factory // builds the pipeline (pipeline.go)
	// Signals returns the channel of interrupts after the first (the first
	// ends the command's context) and a function that stops them; nil is
	// SIGINT and SIGTERM.
	Signals func() (<-chan os.Signal, func())

	pipeline runOptions // the pipeline flags, shared with run and worker
	addr     string
	user     string // --user, else $USER, else "console"
	config   string // --config FILE: the matcher configuration
	genToken bool   // --generate-token
	yes      bool   // --yes: start the workers at launch
	token    string // CONTACTMERGE_WEB_TOKEN (never a flag)

	// Scheduled cycles (cycle.go's flags, --every, --cron).
	cycles   cycleFlags
	every    time.Duration
	cron     string
	schedule cycle.Schedule // parsed from --every or --cron
	policy   cycle.Policy   // --policy, loaded
}

// webTokenEnv names the console's token in the environment.
const webTokenEnv = "CONTACTMERGE_WEB_TOKEN"

func newCmdServe(f *Factory, runF func(*serveOptions) error) *cobra.Command {
	o := &serveOptions{Factory: f, pipeline: *defaultRunOptions()}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Web console (review, operations), /metrics and /healthz, with the merge workers, in one process",
		Long: `Serves the web console: the overview (groups by state, merges and requests per minute
against the budget, throttled share, concurrency, ETA), the review queue (groups that need
a person first; filters and sorting), each group side by side with its merged record and
the waterfall of its match weights, with approve, reject, split, survivor and field
choices (keyboard: a, r, j, k), bulk approval with a preview, quarantined and failed
groups, the ledger with CSV download, the id map, River's own job view (/river), and run
control: the workers start once a person confirms the plan (as run asks), and pause and
resume. /metrics is Prometheus' text format; /healthz checks the store and the platform.

Decisions go through the same review functions as 'plan approve/reject' and are recorded
in the ledger with their author: the login name, or --user.

The console listens on loopback by default (127.0.0.1:8080). Any other address needs a
token: set CONTACTMERGE_WEB_TOKEN, or pass --generate-token to have one made and printed
once; people then log in with their name and the token. Without one, serve refuses such an
address (exit 2).

The first interrupt (Ctrl-C, SIGTERM) stops gracefully: no new merge starts, the merges in
progress finish and the console closes. A second one cancels the merges in progress; they
are verified at the next start before anything is sent again.

Scheduled cycles: with --every D (e.g. 24h: at the multiples of D since the Unix epoch, UTC)
or --cron EXPR (five fields, e.g. "0 3 * * *"), serve runs scan → discover → match → policy →
run → report on that schedule, one cycle at a time (across every serve and 'contactmerge cycle'
on the store), resuming at its step a cycle a crash or a stop left. The scan and the discovery
of the contacts scan cannot see (--discover, on by default) spend at most --scan-budget of the
rate-limit window. Nobody is there to confirm merges: a cycle merges
only under a --policy file in enforce mode, and that file is the confirmation (a shadow
policy, or none, merges nothing; approved groups wait for the console or 'run'). Each
cycle's summary is kept in the store and POSTed to --notify-webhook. The console's Cycles
page lists them, runs one now and skips the next ('contactmerge cycle skip' does too).`,
		Example: `  contactmerge serve                          # http://127.0.0.1:8080/
  contactmerge serve --user ann --addr 127.0.0.1:9000
  CONTACTMERGE_WEB_TOKEN=... contactmerge serve --addr 0.0.0.0:8080
  contactmerge serve --addr :8080 --generate-token --yes
  contactmerge serve --every 24h --policy policy.json --notify-webhook https://hooks.example.com/cm
  contactmerge serve --cron "0 3 * * 1-5" --policy policy.json --scan-budget 20%`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.pipeline.validate(); err != nil {
				return err
			}
			if err := o.cycles.validate(); err != nil {
				return err
			}
			var err error
			if o.schedule, _, err = cycle.ParseSchedule(o.every, o.cron); err != nil {
				return err
			}
			if o.policy, err = o.cycles.loadPolicy(); err != nil {
				return err
			}
			o.token = f.Getenv(webTokenEnv)
			if err := o.checkAddr(); err != nil {
				return err
			}
			if o.user == "" {
				o.user = f.Getenv("USER")
			}
			if o.user == "" {
				o.user = "console"
			}
			if runF != nil {
				return runF(o)
			}
			return serveRun(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on; anything but loopback needs a token ("+webTokenEnv+" or --generate-token)")
	fl.StringVar(&o.user, "user", "", "who decisions are recorded as when nobody logs in (default $USER)")
	fl.StringVar(&o.config, "config", "", "the matcher configuration the groups were made with (approve threshold, survivorship)")
	fl.BoolVar(&o.genToken, "generate-token", false, "make a token, print it once, and require a login with it")
	fl.BoolVarP(&o.yes, "yes", "y", false, "start the merge workers at launch, without the console's confirmation (as run --yes)")
	fl.DurationVar(&o.every, "every", 0, "run a cycle (scan → discover → match → policy → run → report) every D, e.g. 24h (at least 1m)")
	fl.StringVar(&o.cron, "cron", "", `run a cycle on a cron schedule, e.g. "0 3 * * *" (five fields; exclusive with --every)`)
	o.cycles.register(cmd)
	o.pipeline.flags(cmd)
	return cmd
}

// checkAddr refuses an address that does not parse, and a non-loopback one
// without a token (EINVALID, exit 2).
func (o *serveOptions) checkAddr() error {
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return usageErrorf("--addr %q is not HOST:PORT: %v", o.addr, err)
	}
	if loopbackHost(host) || o.token != "" || o.genToken {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "every interface"
	}
	return usageErrorf("--addr %s listens on %s, not on loopback: anyone who reaches it could approve merges, which are permanent. "+
		"Set %s (people log in with it), or pass --generate-token; nothing was started", o.addr, shown, webTokenEnv)
}

// loopbackHost reports whether host is a loopback name or address.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// newWebToken returns a random token for --generate-token.
func newWebToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func serveRun(ctx context.Context, o *serveOptions) error {
	reg, met, err := newMetricsRegistry()
	if err != nil {
		return err
	}
	f := *o.Factory
	f.Metrics = met
	mcfg, err := loadMatchConfig(o.config)
	if err != nil {
		return err
	}
	if o.genToken && o.token == "" {
		if o.token, err = newWebToken(); err != nil {
			return err
		}
	}

	p, err := openPipeline(ctx, &f, &o.pipeline)
	if err != nil {
		return err
	}
	defer p.Close()
	// The store must be the token's organization's; a platform that does
	// not answer now leaves the console up (/healthz says so) and is
	// checked again before any merge.
	if _, _, err := checkOrg(ctx, p.store, f.StoreName(), p.api, false, ""); err != nil {
		if cm.IsCode(err, cm.EINVALID) {
			return err
		}
		f.Logger.Warn("serve: the platform did not answer", "err", err)
	}

	// bg lives until the end: the console's background work and requests
	// in progress; the workers run under the run control's own contexts.
	bg, cancelBG := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBG()
	rc := &runControl{p: p, f: &f, o: &o.pipeline, parent: bg, state: "idle"}
	plat := &platformCheck{api: p.api, now: f.Now}
	survive := mcfg.SurviveOptions()
	cycles, err := o.startCycles(ctx, &f, p.store, mcfg)
	if err != nil {
		return err
	}
	defer cycles.stop()
	srv, err := web.New(web.Config{
		Store: p.store, Jobs: p.jobs, Metrics: met, Gatherer: reg, Run: rc,
		Checks: []web.Check{
			{Name: "store", Run: func(ctx context.Context) error { _, err := p.store.CountByState(ctx); return err }},
			{Name: "platform", Run: plat.check},
		},
		Survive: &survive, ApproveThreshold: mcfg.ApproveThreshold, Actor: o.user, Token: o.token,
		Logger: f.Logger, Now: f.Now, Policy: o.filePolicy(), Cycles: cycles,
		Restore: func(actor string, keepEdited bool) *restore.Restorer {
			return restore.New(p.store, p.api, restore.Config{Actor: actor, Settle: o.pipeline.settle, KeepEdited: keepEdited, Logger: f.Logger})
		},
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return cm.Errorf(cm.EINVALID, "serve: listening on %s: %v", o.addr, err)
	}
	srv.Start(bg)
	hs := &http.Server{
		Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return bg },
		ErrorLog:    log.New(slogWriter{f.Logger}, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	url := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(f.IO.Out, "contactmerge console: %s (store %s)\n", url, f.StoreName())
	switch {
	case o.genToken && o.Factory.Getenv(webTokenEnv) == "":
		fmt.Fprintf(f.IO.Out, "login token (shown once; set %s to choose your own): %s\n", webTokenEnv, o.token)
	case o.token != "":
		fmt.Fprintf(f.IO.Out, "log in with your name and the token of %s\n", webTokenEnv)
	}
	fmt.Fprintln(f.IO.Out, "metrics: "+url+"/metrics  health: "+url+"/healthz  Ctrl-C stops")
	fmt.Fprintln(f.IO.Out, cycles.describe())
	if o.yes {
		if err := rc.launch(o.user, "started at launch (serve --yes)"); err != nil {
			f.Logger.Error("serve: starting the workers", "err", err)
		}
	} else {
		fmt.Fprintln(f.IO.Out, "the merge workers start when a person confirms the plan on "+url+"/run")
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}

	// Graceful stop; a second interrupt cancels the merges in progress.
	sigs, stopSigs := o.signals()
	defer stopSigs()
	hard := make(chan struct{})
	var hardOnce sync.Once
	go func() {
		// The interrupt that ended ctx may arrive here as well: it is not
		// the second one.
		grace := time.After(200 * time.Millisecond)
		first := ctx.Err() != nil
		for {
			select {
			case <-bg.Done():
				return
			case <-grace:
				first = false
			case <-sigs:
				if first {
					first = false
					continue
				}
				hardOnce.Do(func() { close(hard) })
				return
			}
		}
	}()
	fmt.Fprintln(f.IO.ErrOut, "serve: stopping: merges in progress finish, no new one starts (interrupt again to cancel them)")
	cycles.stop() // a cycle in progress is released: resumed at its step at the next start
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		sctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		rc.stop()
	}()
	cancelled := false
	select {
	case <-stopped:
	case <-hard:
		cancelled = true
		fmt.Fprintln(f.IO.ErrOut, "serve: cancelling the merges in progress (they are verified at the next start)")
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = p.jobs.StopAndCancel(cctx)
		cancel()
		_ = hs.Close()
		<-stopped
	}
	flushRequests(context.WithoutCancel(ctx), &f, p.engine)
	cancelBG()
	srv.Wait()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	if cancelled {
		return context.Canceled
	}
	fmt.Fprintln(f.IO.ErrOut, "serve: stopped")
	return nil
}

// signals returns the interrupts after the first.
func (o *serveOptions) signals() (<-chan os.Signal, func()) {
	if o.Signals != nil {
		return o.Signals()
	}
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

// displayAddr is a listener's address as a URL host: 127.0.0.1:8080, or
// localhost for the unspecified address.
func displayAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if ta.IP.IsUnspecified() {
		host, _ := os.Hostname()
		if host == "" {
			host = "localhost"
		}
		return net.JoinHostPort(host, fmt.Sprint(ta.Port))
	}
	return ta.String()
}

// slogWriter sends the HTTP server's error log to the logger.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(b []byte) (int, error) {
	w.l.Warn("serve: http", "err", strings.TrimSpace(string(b)))
	return len(b), nil
}

// platformCheck is /healthz's platform check: GET /api/v2/tokens/me, at
// most every 15 s (each costs one request of the rate budget).
type platformCheck struct {
	api *genesys.Client
	now func() time.Time

	mu  sync.Mutex
	at  time.Time
	err error
}

func (c *platformCheck) check(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && c.now().Sub(c.at) < 15*time.Second {
		return c.err
	}
	_, _, c.err = tokenOrg(ctx, c.api)
	c.at = c.now()
	return c.err
}

// runControl starts, pauses and resumes the pipeline's workers for the
// console (web.RunControl): engine.Run with Forever, as the worker command
// runs it, under a context of its own.
type runControl struct {
	p      *pipeline
	f      *Factory
	o      *runOptions
	parent context.Context

	mu     sync.Mutex
	state  string // idle, running, paused, stopping
	since  time.Time
	by     string
	err    string
	cancel context.CancelFunc
	done   chan struct{}
}

// Status implements web.RunControl.
func (c *runControl) Status() web.RunStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return web.RunStatus{State: c.state, Since: c.since, By: c.by, Err: c.err}
}

// Plan implements web.RunControl: the plan run shows, after the same
// organization check.
func (c *runControl) Plan(ctx context.Context) (web.RunPlan, error) {
	_, rl, err := checkOrg(ctx, c.p.store, c.f.StoreName(), c.p.api, false, "")
	if err != nil {
		return web.RunPlan{}, err
	}
	plan, err := buildRunPlan(ctx, c.p.store, c.o, c.f.Now(), rl, false)
	if err != nil {
		return web.RunPlan{}, err
	}
	var b bytes.Buffer
	plan.write(&b)
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%d/%d/%d/%d/%d", plan.Groups, plan.Contacts, plan.ContactsAfter, plan.Resumed,
		plan.Retried, plan.Waiting, plan.MergeRequests))
	return web.RunPlan{Text: b.String(), Groups: plan.Groups, Contacts: plan.Contacts, ContactsAfter: plan.ContactsAfter,
		Key: hex.EncodeToString(h[:8])}, nil
}

// Start implements web.RunControl: the person confirmed the plan whose
// key is key.
func (c *runControl) Start(ctx context.Context, actor, key string) error {
	plan, err := c.Plan(ctx)
	if err != nil {
		return err
	}
	if plan.Key != key {
		return cm.Errorf(cm.ECONFLICT, "the plan changed since it was shown (now %d groups, %d contacts): review it again; nothing was started",
			plan.Groups, plan.Contacts)
	}
	if err := c.launch(actor, fmt.Sprintf("started by %s from the console, confirming the plan: %d groups, %d contacts become %d",
		actor, plan.Groups, plan.Contacts, plan.ContactsAfter)); err != nil {
		return err
	}
	return nil
}

// Pause implements web.RunControl.
func (c *runControl) Pause(ctx context.Context, actor string) error {
	c.mu.Lock()
	if c.state != "running" {
		defer c.mu.Unlock()
		return cm.Errorf(cm.EINVALID, "the workers are %s, not running", c.state)
	}
	c.state = "stopping"
	c.mu.Unlock()
	c.halt()
	c.note(ctx, actor, "workers paused by "+actor+" from the console")
	c.mu.Lock()
	c.state, c.since, c.by = "paused", c.f.Now(), actor
	c.mu.Unlock()
	return nil
}

// Resume implements web.RunControl.
func (c *runControl) Resume(ctx context.Context, actor string) error {
	c.mu.Lock()
	state := c.state
	c.mu.Unlock()
	if state != "paused" {
		return cm.Errorf(cm.EINVALID, "the workers are %s, not paused", state)
	}
	if _, _, err := checkOrg(ctx, c.p.store, c.f.StoreName(), c.p.api, false, ""); err != nil {
		return err
	}
	return c.launch(actor, "workers resumed by "+actor+" from the console")
}

// launch starts the workers and records why in the ledger.
func (c *runControl) launch(actor, why string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == "running" || c.state == "stopping" {
		return cm.Errorf(cm.EINVALID, "the workers are already %s", c.state)
	}
	if c.parent.Err() != nil {
		return cm.Errorf(cm.EINVALID, "the console is stopping")
	}
	ctx, cancel := context.WithCancel(c.parent)
	done := make(chan struct{})
	c.cancel, c.done = cancel, done
	c.state, c.since, c.by, c.err = "running", c.f.Now(), actor, ""
	c.noteLocked(ctx, actor, why)
	e := c.p.engine
	go func() {
		defer close(done)
		_, err := e.Run(ctx, gracefulJobs{c.p.jobs}, engine.RunOptions{Forever: true, Progress: func(engine.Progress) { flushRequests(ctx, c.f, e) }})
		if err != nil && ctx.Err() == nil {
			c.f.Logger.Error("serve: the workers stopped", "err", err)
			c.mu.Lock()
			c.state, c.since, c.err = "paused", c.f.Now(), "the workers stopped: "+err.Error()
			c.mu.Unlock()
		}
	}()
	return nil
}

// gracefulJobs starts River under a context that the end of engine.Run's
// context does not cancel: River cancels its running jobs when the context
// given to Start ends, so a pause would cut the merges in progress short
// (they would be verified later, but a pause is not a crash). When Run's
// context ends, Run stops the client with Stop, which lets the running
// jobs finish; serve's second interrupt calls StopAndCancel.
type gracefulJobs struct{ store.JobClient }

// Start implements engine.Runner.
func (g gracefulJobs) Start(ctx context.Context) error {
	return g.JobClient.Start(context.WithoutCancel(ctx))
}

// halt stops the workers gracefully and waits for them.
func (c *runControl) halt() {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// stop stops the workers at the end of serve.
func (c *runControl) stop() {
	c.halt()
	c.mu.Lock()
	if c.state == "running" {
		c.state = "stopping"
	}
	c.mu.Unlock()
}

func (c *runControl) note(ctx context.Context, actor, detail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noteLocked(ctx, actor, detail)
}

// noteLocked records a run-control action in the ledger (best effort).
func (c *runControl) noteLocked(ctx context.Context, actor, detail string) {
	err := c.p.store.AppendLedger(context.WithoutCancel(ctx), cm.LedgerEvent{Kind: cm.LedgerNote, Actor: actor, Detail: detail})
	if err != nil {
		c.f.Logger.Warn("serve: recording a run-control action", "err", err)
	}
}
