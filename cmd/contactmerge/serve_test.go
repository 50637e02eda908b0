package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdServe(t *testing.T) {
	tests := []struct {
		args  string
		env   map[string]string
		check func(*serveOptions) bool
		code  int
		msg   string
	}{
		{args: "", env: map[string]string{"USER": "ann"}, check: func(o *serveOptions) bool {
			return o.addr == "127.0.0.1:8080" && o.user == "ann" && o.token == "" && !o.genToken && !o.yes && o.config == "" &&
				o.pipeline.maxPerRequest == 10 && o.pipeline.concurrency == 5 && o.Factory != nil
		}},
		{args: "", check: func(o *serveOptions) bool { return o.user == "console" }},
		{args: "--user bob --addr localhost:9000 --yes --max-rate 200 --config m.json", check: func(o *serveOptions) bool {
			return o.user == "bob" && o.addr == "localhost:9000" && o.yes && o.pipeline.maxRate == 200 && o.config == "m.json"
		}},
		{args: "--addr [::1]:8080", check: func(o *serveOptions) bool { return o.addr == "[::1]:8080" }},
		{args: "--addr 127.0.0.2:8080", check: func(o *serveOptions) bool { return true }},
		{args: "--addr 0.0.0.0:8080", env: map[string]string{webTokenEnv: "s3cret"}, check: func(o *serveOptions) bool { return o.token == "s3cret" }},
		{args: "--addr :8080 --generate-token", check: func(o *serveOptions) bool { return o.genToken && o.token == "" }},
		{args: "--addr 0.0.0.0:8080", code: exitUsage, msg: "not on loopback"},
		{args: "--addr :8080", code: exitUsage, msg: "listens on every interface"},
		{args: "--addr 10.1.2.3:8080", code: exitUsage, msg: "Set " + webTokenEnv},
		{args: "--addr nonsense", code: exitUsage, msg: "is not HOST:PORT"},
		{args: "--job-timeout 5m", code: exitUsage, msg: "must exceed --job-timeout"},
		{args: "--token x", code: exitUsage, msg: "unknown flag: --token"},
		{args: "now", code: exitUsage, msg: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			o, code, msg := parse(t, tt.env, newCmdServe, strings.Fields(tt.args)...)
			if tt.code != 0 {
				wantRefused(t, code, msg, tt.code, tt.msg)
				if strings.Contains(msg, "s3cret") {
					t.Errorf("the message holds the token: %s", msg)
				}
				return
			}
			if code != 0 || !tt.check(o) {
				t.Errorf("options %+v, code %d %s", o, code, msg)
			}
		})
	}
}

// syncBuf is an output stream safe to read while a command writes it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var consoleURL = regexp.MustCompile(`contactmerge console: (http://\S+)`)

// waitURL waits until out names the console's URL.
func waitURL(t *testing.T, out *syncBuf, done <-chan int) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := consoleURL.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before it served:\n%s", code, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve printed no URL:\n%s", out.String())
	return ""
}

// browser is a cookie-keeping HTTP client of one console.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowserClient(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	res, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	res, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	planKey   = regexp.MustCompile(`name="key" value="([^"]+)"`)
)

func find(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in %.800s", re, body)
	}
	return m[1]
}

// scrape reads /metrics in the Prometheus text format.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

func sandboxStats(t *testing.T, o *testorg.Org) sandbox.Stats {
	t.Helper()
	res, err := http.Get(o.URL + "/sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var s sandbox.Stats
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServe runs `serve` on a sandbox organization: /healthz, a decision
// recorded with --user, the run started from the plan's confirmation,
// merged exactly once, paused and resumed, /metrics agreeing with the
// sandbox's /sandbox/stats, and a clean stop.
func TestServe(t *testing.T) {
	faults, _ := sandbox.ParseFaults("error503=0.03,throttle429=0.01")
	o := testorg.New(t, sandbox.Config{Contacts: 600, Seed: 21, RateLimit: 100000, Faults: faults})
	db := testdb.SQLite(t)
	st := testorg.OpenStore(t, db)
	groups := seedOrg(t, st, o)
	before := sandboxStats(t, o)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := append(o.Env(), "CONTACTMERGE_DB="+db)
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	out, errOut := &syncBuf{}, &syncBuf{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--user", "ann", "--verify-settle", "1s"}, strings.NewReader(""), out, errOut,
			func(k string) string { return vars[k] })
	}()
	base := waitURL(t, out, done)
	b := newBrowserClient(t, base)

	if code, body := b.get("/healthz"); code != 200 || !strings.Contains(body, `"platform":"ok"`) || !strings.Contains(body, `"store":"ok"`) {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	// A decision in the console, recorded with --user.
	rejected := groups[0]
	code, page := b.get("/groups/" + rejected.ID)
	if code != 200 {
		t.Fatalf("group page = %d", code)
	}
	version := find(t, regexp.MustCompile(`name="version" value="(\d+)"`), page)
	if code, body := b.post("/groups/"+rejected.ID+"/reject", url.Values{"csrf": {find(t, csrfField, page)}, "version": {version}, "reason": {"not the same"}}); code != http.StatusSeeOther {
		t.Fatalf("reject = %d: %.400s", code, body)
	}
	if g, _ := st.Group(ctx, rejected.ID); g.State != cm.StateRejected {
		t.Fatalf("rejected group is %s", g.State)
	}
	actorOf(t, st, rejected.ID, cm.StateRejected, "ann")

	// The plan, then its confirmation.
	_, runPage := b.get("/run")
	if !strings.Contains(runPage, "plan: merge "+strconv.Itoa(len(groups)-1)+" groups") {
		t.Fatalf("run page shows no plan for %d groups: %.1500s", len(groups)-1, runPage)
	}
	csrf := find(t, csrfField, runPage)
	if code, _ := b.post("/run/start", url.Values{"csrf": {csrf}, "key": {find(t, planKey, runPage)}}); code != http.StatusBadRequest {
		t.Fatalf("start without the confirmation box = %d, want 400", code)
	}
	if code, body := b.post("/run/start", url.Values{"csrf": {csrf}, "key": {"stale"}, "confirm": {"yes"}}); code != http.StatusConflict || !strings.Contains(body, "plan changed") {
		t.Fatalf("start with a stale plan = %d %.300s, want 409", code, body)
	}
	if code, body := b.post("/run/start", url.Values{"csrf": {csrf}, "key": {find(t, planKey, runPage)}, "confirm": {"yes"}}); code != http.StatusSeeOther {
		t.Fatalf("start = %d: %.400s", code, body)
	}
	waitMerged(t, st, len(groups)-1)
	// Pause and resume.
	if code, _ := b.post("/run/pause", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("pause = %d", code)
	}
	if _, body := b.get("/run"); !strings.Contains(body, `id="run-state">paused<`) {
		t.Fatalf("after pause: %.600s", body)
	}
	if code, _ := b.post("/run/resume", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("resume = %d", code)
	}
	if _, body := b.get("/run"); !strings.Contains(body, `id="run-state">running<`) {
		t.Fatalf("after resume: %.600s", body)
	}

	// /metrics against /sandbox/stats: every request serve made (the
	// organization checks, health, plan, preflight, merges, verifications).
	after := sandboxStats(t, o)
	fams := scrape(t, base)
	got := map[string]float64{}
	for _, m := range fams["contactmerge_requests_total"].GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		s := l["status"]
		if s == "error" {
			s = "0"
		}
		got[l["method"]+" "+l["route"]+" "+s] += m.GetCounter().GetValue()
	}
	for route, byStatus := range after.Requests {
		if route == "POST /oauth/token" || strings.HasPrefix(route, "GET /sandbox/") {
			continue
		}
		for status, n := range byStatus {
			k := route + " " + strconv.Itoa(status)
			if d := float64(n - before.Requests[route][status]); got[k] != d {
				t.Errorf("%s: /metrics %v, /sandbox/stats %v", k, got[k], d)
			}
			delete(got, k)
		}
	}
	for k, n := range got {
		if n != 0 {
			t.Errorf("%s: /metrics %v, the sandbox saw none", k, n)
		}
	}
	if th := fams["contactmerge_throttled_total"].GetMetric()[0].GetCounter().GetValue(); th != float64(after.Throttled-before.Throttled) {
		t.Errorf("throttled: /metrics %v, /sandbox/stats %d", th, after.Throttled-before.Throttled)
	}
	merged := 0.0
	for _, m := range fams["contactmerge_groups_merged_total"].GetMetric() {
		merged += m.GetCounter().GetValue()
	}
	if int(merged) != len(groups)-1 {
		t.Errorf("groups merged: /metrics %v, want %d", merged, len(groups)-1)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited with %d:\n%s\n%s", code, out.String(), errOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(errOut.String(), "serve: stopped") {
		t.Errorf("no clean stop in %s", errOut.String())
	}
	testorg.CheckLedgerMerges(t, st, o)
	found := false
	_ = st.Ledger(context.Background(), cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerNote}}, func(ev cm.LedgerEvent) error {
		found = found || (ev.Actor == "ann" && strings.Contains(ev.Detail, "started by ann from the console"))
		return nil
	})
	if !found {
		t.Error("the ledger does not record who started the workers")
	}
}

// actorOf checks the actor of group id's transition to state.
func actorOf(t *testing.T, st cm.Store, id string, to cm.GroupState, actor string) {
	t.Helper()
	ok := false
	_ = st.Ledger(context.Background(), cm.LedgerFilter{GroupID: id}, func(ev cm.LedgerEvent) error {
		if ev.Kind == cm.LedgerTransition && ev.To == to {
			ok = ev.Actor == actor
		}
		return nil
	})
	if !ok {
		t.Fatalf("group %s: no transition to %s by %s", id, to, actor)
	}
}

func waitMerged(t *testing.T, st cm.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		counts, err := st.CountByState(context.Background())
		if err == nil && counts[cm.StateMerged] == n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	counts, _ := st.CountByState(context.Background())
	t.Fatalf("merged %d of %d: %v", counts[cm.StateMerged], n, counts)
}

// TestServeRefusesOpenAddress: a non-loopback address without a token
// starts nothing (exit 2).
func TestServeRefusesOpenAddress(t *testing.T) {
	r := run(t, []string{"CONTACTMERGE_DB=" + t.TempDir() + "/none.db"}, "serve", "--addr", "0.0.0.0:0")
	if r.code != exitUsage || !strings.Contains(r.err, "not on loopback") {
		t.Fatalf("serve --addr 0.0.0.0:0 = %d %q", r.code, r.err)
	}
}

// TestServeSignals runs serve as a process with merges slow enough to be
// in progress when it is interrupted: one SIGTERM lets them finish and
// exits 0; SIGINT twice cancels them and exits 1. Either way the ledger
// records every merge the platform applied exactly once, and a later run
// verifies and finishes the rest.
func TestServeSignals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		signals []os.Signal
		code    int
		want    string
	}{
		{"graceful", []os.Signal{syscall.SIGTERM}, 0, "serve: stopped"},
		{"cancel", []os.Signal{os.Interrupt, os.Interrupt}, exitFailure, "cancelling the merges in progress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testorg.New(t, sandbox.Config{Contacts: 300, Seed: 5, RateLimit: 100000, MergeLatency: 1500 * time.Millisecond, GatewayTimeout: time.Minute})
			db := testdb.SQLite(t)
			st := testorg.OpenStore(t, db)
			groups := seedOrg(t, st, o)
			env := append(o.Env(), "CONTACTMERGE_DB="+db)
			cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--yes", "--verify-settle", "1s")
			cmd.Env = append(append(os.Environ(), "CONTACTMERGE_AS_MAIN=1"), env...)
			out := &syncBuf{}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			})
			waitURL(t, out, nil)
			// Wait for merges on the wire.
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				if c, _ := st.CountByState(context.Background()); c[cm.StateInFlight] > 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			for i, s := range tc.signals {
				if i > 0 {
					time.Sleep(500 * time.Millisecond)
				}
				if err := cmd.Process.Signal(s); err != nil {
					t.Fatal(err)
				}
			}
			err := cmd.Wait()
			code := 0
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				code = ee.ExitCode()
			case err != nil:
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, tc.code, tc.want, out.String())
			}
			if c, _ := st.CountByState(context.Background()); tc.code == 0 && c[cm.StateInFlight]+c[cm.StateUnknown] > 0 {
				t.Errorf("a graceful stop left merges unsettled: %v", c)
			}
			if r := run(t, env, "run", "--yes", "--verify-settle", "1s"); r.code != 0 {
				t.Fatalf("run after serve = %d: %s %s", r.code, r.out, r.err)
			}
			testorg.CheckExactlyOnce(t, st, o, groups, 10)
		})
	}
}

// TestServeWithToken: on a non-loopback address with a token the console
// needs a login, and the token is in no output of serve; with
// --generate-token the token is printed exactly once and works.
func TestServeWithToken(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 200, Seed: 8, RateLimit: 100000})
	db := testdb.SQLite(t)
	st := testorg.OpenStore(t, db)
	seedOrg(t, st, o)
	for _, tc := range []struct {
		name  string
		token string // in the environment
		args  []string
	}{
		{"env", "env-token-5a1d9c", []string{"serve", "--addr", "0.0.0.0:0"}},
		{"generated", "", []string{"serve", "--addr", "0.0.0.0:0", "--generate-token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{}
			for _, kv := range append(o.Env(), "CONTACTMERGE_DB="+db) {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
			if tc.token != "" {
				vars[webTokenEnv] = tc.token
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out, errOut := &syncBuf{}, &syncBuf{}
			done := make(chan int, 1)
			go func() {
				done <- Main(ctx, tc.args, strings.NewReader(""), out, errOut, func(k string) string { return vars[k] })
			}()
			base := waitURL(t, out, done)
			if u, err := url.Parse(base); err == nil {
				base = "http://127.0.0.1:" + u.Port()
			}
			token := tc.token
			if token == "" {
				token = find(t, regexp.MustCompile(`login token \(shown once[^)]*\): (\S+)`), out.String())
			}
			b := newBrowserClient(t, base)
			if code, _ := b.get("/queue"); code != http.StatusSeeOther {
				t.Fatalf("/queue without a login = %d", code)
			}
			if code, _ := b.get("/healthz"); code != http.StatusOK {
				t.Fatalf("/healthz = %d", code)
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("/metrics with the token = %d", res.StatusCode)
			}
			_, login := b.get("/login")
			if code, _ := b.post("/login", url.Values{"csrf": {find(t, csrfField, login)}, "name": {"eve"}, "token": {token}, "next": {"/queue"}}); code != http.StatusSeeOther {
				t.Fatalf("login = %d", code)
			}
			if code, body := b.get("/queue"); code != http.StatusOK || !strings.Contains(body, "eve") {
				t.Fatalf("/queue after the login = %d", code)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("serve exited with %d: %s %s", code, out.String(), errOut.String())
			}
			want := 0
			if tc.token == "" {
				want = 1 // printed once, on purpose
			}
			if n := strings.Count(out.String()+errOut.String(), token); n != want {
				t.Fatalf("the token appears %d times in serve's output, want %d:\n%s\n%s", n, want, out.String(), errOut.String())
			}
		})
	}
}
