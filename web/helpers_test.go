package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/internal/testlog"

	"github.com/riverqueue/river"
	"go.uber.org/goleak"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
	"github.com/contactmerge/contactmerge/web"
)

// TestMain checks that no goroutine outlives the tests, and removes the
// benchmark's store.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore.dir != "" {
		_ = os.RemoveAll(benchStore.dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// fixture is a console on a sandbox-backed store: the sandbox's contacts
// scanned into a SQLite store and matched into proposed groups.
type fixture struct {
	t      *testing.T
	org    *testorg.Org
	st     store.Store
	srv    *web.Server
	http   *httptest.Server
	url    string
	client *http.Client
	logs   *syncBuffer
	met    *engine.Metrics // the console's: a pipeline given them shows in its charts
	groups []cm.Group      // as match proposed them, by id
}

// fixtureOpts tune a fixture.
type fixtureOpts struct {
	contacts  int
	seed      int64
	token     string
	rateLimit int // the sandbox's requests per minute per token (0: unlimited)
	cfg       func(*web.Config)
}

// syncBuffer is the shared concurrency-safe log sink of the tests.
type syncBuffer = testlog.Buffer

// seedStore scans o into a new SQLite store and saves match's groups.
func seedStore(t testing.TB, o *testorg.Org) (store.Store, []cm.Group) {
	t.Helper()
	ctx := context.Background()
	st := testorg.OpenStore(t, t.TempDir()+"/console.db")
	if _, err := engine.Scan(ctx, o.Client(t, nil), st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.BindOrg(ctx, cm.Org{ID: "sandbox-org", Source: "scan"}); err != nil && !cm.IsCode(err, cm.ECONFLICT) {
		t.Fatal(err)
	}
	res, err := match.Run(ctx, st, match.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveProposals(ctx, res.Groups, "match"); err != nil {
		t.Fatal(err)
	}
	gs, err := st.Groups(ctx, cm.GroupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return st, gs
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	if o.contacts == 0 {
		o.contacts = 300
	}
	scfg := sandbox.DefaultConfig()
	scfg.Contacts, scfg.Seed, scfg.RateLimit = o.contacts, o.seed+1, -1
	if o.rateLimit > 0 {
		scfg.RateLimit = o.rateLimit
	}
	org := testorg.New(t, scfg)
	st, groups := seedStore(t, org)
	logs := &syncBuffer{}
	met := engine.NewMetrics()
	cfg := web.Config{
		Store: st, Metrics: met, Token: o.token, Actor: "tester",
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SampleEvery: 200 * time.Millisecond, LedgerPoll: 100 * time.Millisecond,
		ApproveThreshold: 1.01, // every proposed group needs a person
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	srv, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv.Start(ctx)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		srv.Wait()
	})
	jar, _ := cookiejar.New(nil)
	f := &fixture{t: t, org: org, st: st, srv: srv, http: hs, url: hs.URL, logs: logs, met: met, groups: groups,
		client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return f
}

// resp is an answer read whole.
type resp struct {
	status int
	body   string
	header http.Header
}

func (f *fixture) do(req *http.Request) resp {
	f.t.Helper()
	res, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b), res.Header}
}

func (f *fixture) get(path string) resp {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.url+path, nil)
	return f.do(req)
}

// follow GETs path and follows redirects.
func (f *fixture) follow(path string) resp {
	f.t.Helper()
	for range 10 {
		r := f.get(path)
		if r.status != http.StatusSeeOther && r.status != http.StatusFound {
			return r
		}
		path = r.header.Get("Location")
		if u, err := url.Parse(path); err == nil && u.IsAbs() {
			path = u.RequestURI()
		}
	}
	f.t.Fatalf("too many redirects at %s", path)
	return resp{}
}

func (f *fixture) post(path string, form url.Values) resp {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the session (from the overview's forms,
// or the login page's).
func (f *fixture) csrf(page string) string {
	f.t.Helper()
	r := f.follow(page)
	m := csrfRe.FindStringSubmatch(r.body)
	if m == nil {
		f.t.Fatalf("no csrf token on %s (%d): %.300s", page, r.status, r.body)
	}
	return m[1]
}

// group reads a group from the store.
func (f *fixture) group(id string) cm.Group {
	f.t.Helper()
	g, err := f.st.Group(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return g
}

// ledger returns a group's ledger rows.
func (f *fixture) ledger(groupID string) []cm.LedgerEvent {
	f.t.Helper()
	var out []cm.LedgerEvent
	err := f.st.Ledger(context.Background(), cm.LedgerFilter{GroupID: groupID}, func(ev cm.LedgerEvent) error {
		out = append(out, ev)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// runPipeline merges the approved groups through an engine that feeds the
// console's metrics, as serve's workers do, until none is left.
func (f *fixture) runPipeline() engine.Summary {
	f.t.Helper()
	eng, err := engine.New(f.st, engine.Config{Owner: "test", Metrics: f.met, VerifySettle: time.Second}, f.org.NewClient)
	if err != nil {
		f.t.Fatal(err)
	}
	jc, err := f.st.NewJobClient(eng.RiverConfig(river.Config{FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond}))
	if err != nil {
		f.t.Fatal(err)
	}
	sum, err := eng.Run(context.Background(), jc, engine.RunOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return sum
}

// proposed returns the ids of the groups in state proposed, in id order.
func (f *fixture) proposed() []cm.Group {
	f.t.Helper()
	gs, err := f.st.Groups(context.Background(), cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}})
	if err != nil {
		f.t.Fatal(err)
	}
	return gs
}

// decide posts a decision form for g as the page would.
func (f *fixture) decide(g cm.Group, action string, extra url.Values) resp {
	f.t.Helper()
	form := url.Values{"csrf": {f.csrf("/groups/" + g.ID)}, "version": {itoa(g.Version)}}
	for k, v := range extra {
		form[k] = v
	}
	return f.post("/groups/"+g.ID+"/"+action, form)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
