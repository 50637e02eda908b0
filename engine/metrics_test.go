package engine_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// sandboxStats reads GET /sandbox/stats of o.
func sandboxStats(t *testing.T, o *testorg.Org) sandbox.Stats {
	t.Helper()
	resp, err := http.Get(o.URL + "/sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s sandbox.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// scrape serves reg as /metrics, GETs it and parses the text format.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// series returns the value of the series of family name whose labels are
// exactly labels (counter or gauge), and whether it exists.
func series(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		if m.Counter != nil {
			return m.GetCounter().GetValue(), true
		}
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

// TestMetricsAgreeWithSandbox runs a pipeline under 503s, resets and 429
// bursts, scrapes its registry in the Prometheus text format and checks the
// request and throttle counters against the sandbox's own /sandbox/stats:
// every route and status the sandbox answered during the run, and nothing
// else.
func TestMetricsAgreeWithSandbox(t *testing.T) {
	faults, err := sandbox.ParseFaults("error503=0.05,reset=0.02,throttle429=0.01")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sandbox.DefaultConfig()
	cfg.Contacts, cfg.Seed, cfg.Faults, cfg.RateLimit = 800, 5, faults, -1
	o := testorg.New(t, cfg)
	st := testorg.OpenStore(t, t.TempDir()+"/m.db")
	groups := testorg.Seed(t, st, o)
	before := sandboxStats(t, o)

	met := engine.NewMetrics()
	reg := prometheus.NewRegistry()
	if err := met.Register(reg); err != nil {
		t.Fatal(err)
	}
	p := newPipeline(t, st, o, "w1", engine.Config{VerifySettle: 500 * time.Millisecond, Metrics: met})
	sum, err := p.eng.Run(context.Background(), p.jc, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after := sandboxStats(t, o)
	fams := scrape(t, reg)

	// Every (route, status) the sandbox counted during the run is a series
	// with the same count; login and test-only endpoints are not API calls.
	want := map[string]float64{}
	for route, byStatus := range after.Requests {
		if route == "POST /oauth/token" || strings.HasPrefix(route, "GET /sandbox/") {
			continue
		}
		for status, n := range byStatus {
			if d := n - before.Requests[route][status]; d > 0 {
				want[route+" "+strconv.Itoa(status)] = float64(d)
			}
		}
	}
	got := map[string]float64{}
	for _, m := range fams["contactmerge_requests_total"].GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		status := l["status"]
		if status == "error" {
			status = "0"
		}
		got[l["method"]+" "+l["route"]+" "+status] = m.GetCounter().GetValue()
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("requests %s: /metrics says %v, /sandbox/stats %v", k, got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok && n != 0 {
			t.Errorf("requests %s: /metrics says %v, /sandbox/stats has none", k, n)
		}
	}
	if th, _ := series(fams, "contactmerge_throttled_total", nil); th != float64(after.Throttled-before.Throttled) {
		t.Errorf("throttled: /metrics %v, /sandbox/stats %d", th, after.Throttled-before.Throttled)
	}
	counts, err := st.CountByState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := series(fams, "contactmerge_groups_merged_total", nil); m != float64(counts[cm.StateMerged]) {
		t.Errorf("groups merged: /metrics %v, store %d", m, counts[cm.StateMerged])
	}
	if g, ok := series(fams, "contactmerge_groups", map[string]string{"state": "merged"}); !ok || g != float64(counts[cm.StateMerged]) {
		t.Errorf("groups{state=merged}: /metrics %v (present %v), store %d", g, ok, counts[cm.StateMerged])
	}
	applied, _ := series(fams, "contactmerge_merge_requests_total", map[string]string{"outcome": "applied"})
	verified, _ := series(fams, "contactmerge_verifications_total", map[string]string{"outcome": "applied"})
	if int(applied+verified) != after.Merges-before.Merges {
		t.Errorf("merges: %v answered applied + %v verified applied, the sandbox applied %d", applied, verified, after.Merges-before.Merges)
	}
	if h := fams["contactmerge_job_duration_seconds"]; h == nil || len(h.GetMetric()) == 0 {
		t.Error("no job latency histogram")
	}
	if got, want := met.Get("contactmerge_requests_total"), sum.Requests; got != want {
		t.Errorf("Get(requests) = %v, the summary says %v", got, want)
	}
	if err := met.Register(reg); err == nil {
		t.Error("registering the collectors twice on one registry succeeded")
	}
	t.Logf("%d groups, %+v; sandbox faults %v", len(groups), sum, after.Faults)
}
