package sandbox

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

func TestRateLimitHeadersAnd429(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RateLimit = 5
	e := loadEnv(t, cfg, simpleContacts(2))
	for i := 1; i <= 5; i++ {
		r := e.do("GET", "/api/v2/externalcontacts/contacts/c0000", nil)
		h := r.header
		if r.status != 200 || h.Get("inin-ratelimit-count") != strconv.Itoa(i) || h.Get("inin-ratelimit-allowed") != "5" || h.Get("inin-ratelimit-reset") != "60" {
			t.Fatalf("request %d: %d count=%s allowed=%s reset=%s", i, r.status, h.Get("inin-ratelimit-count"), h.Get("inin-ratelimit-allowed"), h.Get("inin-ratelimit-reset"))
		}
	}
	e.clock.Advance(20*time.Second + 500*time.Millisecond)
	r := e.do("GET", "/api/v2/externalcontacts/contacts/c0000", nil)
	b := r.errBody(t)
	if r.status != 429 || b.Code != "too.many.requests.retry.after" || r.header.Get("Retry-After") != "40" || r.header.Get("inin-ratelimit-reset") != "40" {
		t.Fatalf("over the limit: %d %s Retry-After=%q", r.status, r.body, r.header.Get("Retry-After"))
	}
	e.clock.Advance(39 * time.Second)
	if r := e.do("GET", "/api/v2/tokens/me", nil); r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Fatalf("0.5 s before reset: %d Retry-After=%q", r.status, r.header.Get("Retry-After"))
	}
	e.clock.Advance(time.Second)
	if r := e.do("GET", "/api/v2/tokens/me", nil); r.status != 200 || r.header.Get("inin-ratelimit-count") != "1" {
		t.Fatalf("new window: %d count=%s", r.status, r.header.Get("inin-ratelimit-count"))
	}
	// Limits are per token.
	other := e.fetchToken()
	if r := e.doTok(other, "GET", "/api/v2/tokens/me", nil); r.status != 200 || r.header.Get("inin-ratelimit-count") != "1" {
		t.Fatalf("second token: %d", r.status)
	}
	st := e.sb.Stats()
	if st.Throttled != 2 {
		t.Fatalf("Throttled = %d", st.Throttled)
	}
}

// TestRateLimitAccuracy drives the sandbox for ten simulated minutes with a
// fake clock: a client sending 10 requests/s gets 300 a minute through, and a
// client that honours Retry-After achieves the limit within ±5%.
func TestRateLimitAccuracy(t *testing.T) {
	cfg := DefaultConfig()
	e := loadEnv(t, cfg, simpleContacts(1))
	start := e.clock.Now()
	ok := 0
	for e.clock.Now().Sub(start) < 5*time.Minute {
		if r := e.do("GET", "/api/v2/tokens/me", nil); r.status == 200 {
			ok++
		}
		e.clock.Advance(100 * time.Millisecond)
	}
	if want := 5 * 300; math.Abs(float64(ok-want)) > 0.05*float64(want) {
		t.Fatalf("flooding client: %d requests admitted in 5 min, want %d ±5%%", ok, want)
	}

	e.token = e.fetchToken()
	start = e.clock.Now()
	ok = 0
	for e.clock.Now().Sub(start) < 10*time.Minute {
		r := e.do("GET", "/api/v2/tokens/me", nil)
		switch r.status {
		case 200:
			ok++
			e.clock.Advance(50 * time.Millisecond)
		case 429:
			secs, err := strconv.Atoi(r.header.Get("Retry-After"))
			if err != nil || secs < 1 || secs > 60 {
				t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
			}
			e.clock.Advance(time.Duration(secs) * time.Second)
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	perMin := float64(ok) / e.clock.Now().Sub(start).Minutes()
	if math.Abs(perMin-300) > 0.05*300 {
		t.Fatalf("polite client achieved %.1f requests/min, want 300 ±5%%", perMin)
	}
}

func TestUnlimitedHasNoRateHeaders(t *testing.T) {
	e := newEnv(t, Config{RateLimit: -1})
	for range 400 {
		if r := e.do("GET", "/api/v2/tokens/me", nil); r.status != 200 || r.header.Get("inin-ratelimit-count") != "" {
			t.Fatalf("%d %v", r.status, r.header)
		}
	}
}

func TestParseFaults(t *testing.T) {
	f, err := ParseFaults(" timeout504=0.05, error503=0.05,reset=0.02 ")
	if err != nil || f[FaultTimeout504] != 0.05 || f[FaultError503] != 0.05 || f[FaultReset] != 0.02 || len(f) != 3 {
		t.Fatalf("%v %v", f, err)
	}
	if g, err := ParseFaults(f.String()); err != nil || len(g) != 3 || g.String() != f.String() {
		t.Fatalf("round trip %q: %v %v", f.String(), g, err)
	}
	if f, err := ParseFaults(""); err != nil || len(f) != 0 {
		t.Fatalf("empty: %v %v", f, err)
	}
	for spec, want := range map[string]string{
		"bogus=0.1":              "bogus",
		"error500=1.5":           "error500",
		"error500=-0.1":          "error500",
		"error500":               "error500",
		"reset=abc":              "reset",
		"error500=0.7,reset=0.7": "more than 1",
		"throttle429=0.1,oops=1": "oops",
	} {
		if _, err := ParseFaults(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%q: error %v does not name %q", spec, err, want)
		}
	}
	if _, err := New(Config{Faults: Faults{"nope": 0.5}}); err == nil {
		t.Fatal("New accepted an unknown fault kind")
	}
}

func faultEnv(t *testing.T, f Faults, mod func(*Config)) *env {
	cfg := DefaultConfig()
	cfg.Faults = f
	cfg.Seed = 42
	if mod != nil {
		mod(&cfg)
	}
	return loadEnv(t, cfg, simpleContacts(60))
}

func TestFaultErrors(t *testing.T) {
	for kind, status := range map[string]int{FaultError500: 500, FaultError503: 503} {
		e := faultEnv(t, Faults{kind: 1}, nil)
		for range 3 {
			r := e.do("GET", "/api/v2/externalcontacts/contacts/c0000", nil)
			b := r.errBody(t)
			if r.status != status || b.Status != status || b.Code == "" || r.header.Get("inin-ratelimit-count") == "" {
				t.Fatalf("%s: %d %s", kind, r.status, r.body)
			}
		}
		if r := e.doTok("", "GET", "/api/v2/tokens/me", nil); r.status != 401 {
			t.Fatalf("%s: unauthenticated request got %d, want 401 (auth first)", kind, r.status)
		}
		if r := e.doTok("", "GET", "/sandbox/stats", nil); r.status != 200 {
			t.Fatalf("%s: /sandbox/ is faulted: %d", kind, r.status)
		}
		st := e.sb.Stats()
		if st.Faults[kind] != 3 || st.Requests["GET /api/v2/externalcontacts/contacts/{id}"][status] != 3 {
			t.Fatalf("%s stats: %+v", kind, st)
		}
	}
}

func TestFaultsCountTowardTheLimit(t *testing.T) {
	e := faultEnv(t, Faults{FaultError503: 1}, func(c *Config) { c.RateLimit = 3 })
	statuses := []int{}
	for range 5 {
		statuses = append(statuses, e.do("GET", "/api/v2/tokens/me", nil).status)
	}
	if !slices.Equal(statuses, []int{503, 503, 503, 429, 429}) {
		t.Fatalf("statuses %v", statuses)
	}
}

func TestFaultResetDropsConnection(t *testing.T) {
	e := faultEnv(t, Faults{FaultReset: 1}, nil)
	if _, err := e.send(e.token, "GET", "/api/v2/externalcontacts/contacts/c0000", nil); err == nil {
		t.Fatal("GET succeeded despite reset=1")
	}
	// Merges: the sandbox decides at random whether the merge was applied
	// before the connection dropped; stats say which.
	const n = 20
	for i := range n {
		ids := []string{"c" + pad(2*i, 4), "c" + pad(2*i+1, 4)}
		if _, err := e.send(e.token, "POST", "/api/v2/externalcontacts/contacts/merge", map[string]any{"contactIds": ids}); err == nil {
			t.Fatal("merge answered despite reset=1")
		}
	}
	st := e.sb.Stats()
	before, after := st.Faults["reset.before"], st.Faults["reset.after"]
	if before+after != n || before == 0 || after == 0 {
		t.Fatalf("reset.before=%d reset.after=%d, want a mix adding up to %d", before, after, n)
	}
	if ops := e.sb.Oplog(); len(ops) != after || st.Merges != after {
		t.Fatalf("%d merges applied, %d reported after", len(ops), after)
	}
	if st.Requests["POST /api/v2/externalcontacts/contacts/merge"][0] != n {
		t.Fatalf("resets not counted as status 0: %+v", st.Requests)
	}
}

func TestFaultTimeout504AppliesMerge(t *testing.T) {
	e := faultEnv(t, Faults{FaultTimeout504: 1}, func(c *Config) { c.GatewayTimeout = 150 * time.Millisecond })
	// Not a merge: unaffected.
	if r := e.get("c0000"); r.status != 200 {
		t.Fatalf("GET: %d", r.status)
	}
	start := time.Now()
	r := e.merge([]string{"c0000", "c0001"}, nil)
	if el := time.Since(start); r.status != 504 || el < 150*time.Millisecond || r.errBody(t).Code == "" {
		t.Fatalf("merge: %d after %v: %s", r.status, el, r.body)
	}
	ops := e.sb.Oplog()
	if len(ops) != 1 {
		t.Fatalf("the merge was not applied: %+v", ops)
	}
	var c cm.Contact
	e.get("c0000").decode(t, &c)
	if c.ID != ops[0].Result {
		t.Fatalf("GET alias %s, want %s", c.ID, ops[0].Result)
	}
	// A merge that fails fast answers its own error, not 504.
	if r := e.merge([]string{"c0002", "missing"}, nil); !isInvalidMerge(t, r, "not.found", "missing") {
		t.Fatalf("bad merge under timeout504: %d %s", r.status, r.body)
	}
	if st := e.sb.Stats(); st.Faults[FaultTimeout504] != 1 {
		t.Fatalf("stats %+v", st.Faults)
	}
}

func TestSlowMergeTimesOutButCompletes(t *testing.T) {
	e := faultEnv(t, nil, func(c *Config) {
		c.MergeLatency = 60 * time.Millisecond
		c.GatewayTimeout = 150 * time.Millisecond
	})
	start := time.Now()
	if r := e.merge([]string{"c0000", "c0001"}, nil); r.status != 200 || time.Since(start) < 120*time.Millisecond {
		t.Fatalf("2 inputs (120 ms): %d after %v", r.status, time.Since(start))
	}
	start = time.Now()
	r := e.merge([]string{"c0002", "c0003", "c0004"}, nil)
	el := time.Since(start)
	if r.status != 504 || el < 150*time.Millisecond || el > 2*time.Second {
		t.Fatalf("3 inputs (180 ms): %d after %v", r.status, el)
	}
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	ops := e.sb.Oplog()
	if len(ops) != 2 || !slices.Equal(ops[1].Inputs, []string{"c0002", "c0003", "c0004"}) {
		t.Fatalf("slow merge not completed: %+v", ops)
	}
	if st := e.sb.Stats(); st.Faults["slow504"] != 1 || st.Requests["POST /api/v2/externalcontacts/contacts/merge"][504] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFaultThrottleBurst(t *testing.T) {
	e := faultEnv(t, Faults{FaultThrottle: 1}, nil)
	r := e.do("GET", "/api/v2/tokens/me", nil)
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if r.status != 429 || err != nil || secs < 1 || secs > 3 || r.errBody(t).Code != "too.many.requests.retry.after" {
		t.Fatalf("throttle: %d Retry-After=%q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// The burst goes on until Retry-After has passed.
	if r := e.do("GET", "/api/v2/tokens/me", nil); r.status != 429 {
		t.Fatalf("inside the burst: %d", r.status)
	}
	st := e.sb.Stats()
	if st.Throttled != 2 || st.Faults[FaultThrottle] != 2 {
		t.Fatalf("stats %+v", st)
	}

	// With a small probability, bursts are rare and end.
	e2 := faultEnv(t, Faults{FaultThrottle: 0.02}, nil)
	got := map[int]int{}
	for range 1000 {
		got[e2.do("GET", "/api/v2/tokens/me", nil).status]++
		e2.clock.Advance(100 * time.Millisecond)
	}
	if got[429] == 0 || got[200] < 500 {
		t.Fatalf("statuses %v", got)
	}
}
