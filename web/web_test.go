package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/web"
)

// TestPages renders every page of a console on a sandbox-backed store.
func TestPages(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	g := f.groups[0]
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{"Overview", "contacts in the snapshot", "Merges per minute", "Requests per minute", "Throttled share", "Concurrency", "<svg"}},
		{"/?partial=1", 200, []string{`id="stat-groups"`, "<svg"}},
		{"/queue", 200, []string{"Review queue", `id="queue-total">` + itoa(int64(len(f.groups))) + "<", g.ID}},
		{"/queue?state=all&sort=-size", 200, []string{"Review queue"}},
		{"/groups/" + g.ID, 200, []string{"Members side by side", "merged record", `id="approve-form"`, `id="reject-form"`, `id="split-form"`, "waterfall", "match weight"}},
		{"/bulk", 200, []string{"Bulk approve"}},
		{"/quarantine", 200, []string{"Quarantined groups"}},
		{"/failed", 200, []string{"Failed groups"}},
		{"/ledger", 200, []string{"proposed by match"}},
		{"/ledger?q=" + g.ID, 200, []string{g.ID}},
		{"/ledger?q=" + g.Members[0], 200, []string{g.ID}},
		{"/run", 200, []string{"runs no merge workers"}},
		{"/healthz", 200, []string{`"status":"ok"`}},
		{"/metrics", 200, []string{"contactmerge_groups{state=\"proposed\"}"}},
		{"/groups/g_0000000000000000dead", 404, []string{"There is no group g_0000000000000000dead"}},
		{"/no/such/page", 404, []string{"Not found"}},
		{"/queue?min=2", 400, []string{"min: confidence"}},
		{"/queue?sort=bogus", 400, []string{"sort"}},
		{"/static/app.js", 200, []string{"keydown"}},
	} {
		var r resp
		// Samples and the queue index load in the background.
		for range 50 {
			if r = f.follow(tc.path); r.status == tc.status && containsAll(r.body, tc.want) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if r.status != tc.status {
			t.Errorf("GET %s = %d, want %d: %.400s", tc.path, r.status, tc.status, r.body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("GET %s: no %q in %.600s", tc.path, w, r.body)
			}
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestDecisions makes every decision through the pages and checks the
// store: states, the actor in the ledger, the pair constraints of a
// rejection and of a split, the survivor and a field's value chosen.
func TestDecisions(t *testing.T) {
	f := newFixture(t, fixtureOpts{contacts: 400})
	var big []cm.Group // groups of 3 or more, for the split and the choice
	var pairs []cm.Group
	for _, g := range f.proposed() {
		if len(g.Members) >= 3 {
			big = append(big, g)
		} else {
			pairs = append(pairs, g)
		}
	}
	if len(big) < 2 || len(pairs) < 2 {
		t.Fatalf("fixture has %d large groups and %d pairs", len(big), len(pairs))
	}
	ctx := context.Background()

	// Approve: the next group of the queue comes next.
	a := pairs[0]
	r := f.decide(a, "approve", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/groups/") {
		t.Fatalf("approve = %d → %q, want a redirect to the next group: %.300s", r.status, r.header.Get("Location"), r.body)
	}
	if got := f.group(a.ID); got.State != cm.StateApproved {
		t.Fatalf("approved group is %s", got.State)
	}
	wantActor(t, f, a.ID, cm.StateApproved, "tester")

	// Reject with a reason: cannot-link for every pair.
	rj := pairs[1]
	f.decide(rj, "reject", url.Values{"reason": {"different people"}})
	if got := f.group(rj.ID); got.State != cm.StateRejected {
		t.Fatalf("rejected group is %s", got.State)
	}
	cs, err := f.st.Constraints(ctx, cm.ConstraintFilter{GroupID: rj.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Kind != cm.CannotLink || cs[0].Actor != "tester" || cs[0].Reason != "different people" {
		t.Fatalf("rejection constraints = %+v", cs)
	}

	// Split one member off: cannot-links between it and the rest only.
	sp := big[0]
	off := sp.Members[len(sp.Members)-1]
	r = f.decide(sp, "split", url.Values{"member": {off}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("split = %d: %.400s", r.status, r.body)
	}
	cs, err = f.st.Constraints(ctx, cm.ConstraintFilter{GroupID: sp.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != len(sp.Members)-1 {
		t.Fatalf("split recorded %d constraints, want %d: %+v", len(cs), len(sp.Members)-1, cs)
	}
	for _, c := range cs {
		if c.Kind != cm.CannotLink || (c.A != off && c.B != off) {
			t.Fatalf("split constraint %+v does not separate %s", c, off)
		}
	}
	wantActor(t, f, sp.ID, cm.StateRejected, "tester")

	// Choose a survivor and take a field's value from another member.
	ch := big[1]
	surv := ch.Members[0]
	if surv == ch.SurvivorID {
		surv = ch.Members[1]
	}
	r = f.decide(ch, "choose", url.Values{"survivor": {surv}, "take.firstName": {ch.Members[len(ch.Members)-1]}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("choose = %d: %.600s", r.status, r.body)
	}
	got := f.group(ch.ID)
	if got.State != cm.StateApproved || got.SurvivorID != surv {
		t.Fatalf("chosen group: state %s survivor %s, want approved with %s", got.State, got.SurvivorID, surv)
	}
	ds, err := f.st.Decisions(ctx, ch.ID)
	if err != nil || len(ds) == 0 || ds[len(ds)-1].Take["firstName"] != ch.Members[len(ch.Members)-1] {
		t.Fatalf("decisions = %+v, %v; want the firstName choice", ds, err)
	}

	// A decision the review package refuses is a 400 that says why, and
	// changes nothing: approving a rejected pair is fine, but approving a
	// group already approved is not an edge.
	r = f.decide(f.group(a.ID), "approve", nil)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "cannot be approved") {
		t.Fatalf("approving an approved group = %d: %.400s", r.status, r.body)
	}
}

// wantActor checks that the latest transition of group id to state was
// recorded with actor.
func wantActor(t *testing.T, f *fixture, id string, to cm.GroupState, actor string) {
	t.Helper()
	var last *cm.LedgerEvent
	for _, ev := range f.ledger(id) {
		if ev.Kind == cm.LedgerTransition && ev.To == to {
			last = &ev
		}
	}
	if last == nil || last.Actor != actor {
		t.Fatalf("group %s: transition to %s recorded with actor %+v, want %q", id, to, last, actor)
	}
}

// TestRefusedRequests: a missing or forged CSRF token, a cross-origin
// POST, a stale version and an unknown group change nothing.
func TestRefusedRequests(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	g := f.proposed()[0]
	before := len(f.ledger(""))
	csrf := f.csrf("/groups/" + g.ID)
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
		status int
		want   string
	}{
		{"no token", url.Values{"version": {itoa(g.Version)}}, "", 403, "security token is missing or wrong"},
		{"forged token", url.Values{"version": {itoa(g.Version)}, "csrf": {strings.Repeat("0", 40)}}, "", 403, "security token is missing or wrong"},
		{"cross-origin", url.Values{"version": {itoa(g.Version)}, "csrf": {csrf}}, "http://evil.example", 403, ""},
		{"stale version", url.Values{"version": {itoa(g.Version - 1)}, "csrf": {csrf}}, "", 409, "changed since you loaded it"},
		{"no version", url.Values{"csrf": {csrf}}, "", 400, "which version"},
	} {
		req, _ := http.NewRequest(http.MethodPost, f.url+"/groups/"+g.ID+"/approve", strings.NewReader(tc.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		r := f.do(req)
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d %.300s; want %d with %q", tc.name, r.status, r.body, tc.status, tc.want)
		}
	}
	// Without a session cookie at all.
	req, _ := http.NewRequest(http.MethodPost, f.url+"/groups/"+g.ID+"/approve", strings.NewReader(url.Values{"csrf": {csrf}, "version": {itoa(g.Version)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("POST without a session = %d, want 403", res.StatusCode)
	}
	r := f.post("/groups/g_0000000000000000dead/approve", url.Values{"csrf": {csrf}, "version": {"1"}})
	if r.status != http.StatusNotFound {
		t.Errorf("deciding an unknown group = %d, want 404", r.status)
	}
	if got := f.group(g.ID); got.State != cm.StateProposed || got.Version != g.Version {
		t.Fatalf("group changed: %s v%d", got.State, got.Version)
	}
	if after := len(f.ledger("")); after != before {
		t.Fatalf("the ledger grew from %d to %d rows", before, after)
	}
}

// TestStaleGroupPage: a group changed by someone else after its page was
// loaded is not decided; the message names the change.
func TestStaleGroupPage(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	g := f.proposed()[0]
	page := f.get("/groups/" + g.ID)
	csrf := csrfRe.FindStringSubmatch(page.body)[1]
	version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(page.body)[1]
	// Another steward rejects it on the command line meanwhile.
	if _, err := review.Decide(context.Background(), f.st, g, cm.Decision{Actor: "bob", Reason: "cli"}); err != nil {
		t.Fatal(err)
	}
	r := f.post("/groups/"+g.ID+"/approve", url.Values{"csrf": {csrf}, "version": {version}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "changed since you loaded it") || !strings.Contains(r.body, "rejected") {
		t.Fatalf("stale approve = %d: %.500s", r.status, r.body)
	}
	if got := f.group(g.ID); got.State != cm.StateRejected {
		t.Fatalf("group is %s, want still rejected", got.State)
	}
}

// TestQueueOrderAndPaging pages through the queue in every order of
// review.SortKeys, forward and back, and compares with review.List (the
// order `plan show` lists).
func TestQueueOrderAndPaging(t *testing.T) {
	f := newFixture(t, fixtureOpts{contacts: 500})
	ctx := context.Background()
	// Some variety: approve a few, reject one.
	ps := f.proposed()
	for i, g := range ps[:4] {
		if _, err := review.Decide(ctx, f.st, g, cm.Decision{Approve: i != 3, Actor: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	// The decisions reach the queue with the next ledger poll.
	waitFor(t, f, "/queue?state=approved", func(r resp) bool { return strings.Contains(r.body, `id="queue-total">3<`) })
	idRe := regexp.MustCompile(`<tr data-href="/groups/([^?"]+)`)
	nextRe := regexp.MustCompile(`href="([^"]+)" rel="next"`)
	prevRe := regexp.MustCompile(`href="([^"]+)" rel="prev"`)
	for _, sort := range review.SortKeys {
		want, err := review.List(ctx, f.st, review.ListOptions{Sort: sort, ApproveThreshold: 1.01})
		if err != nil {
			t.Fatal(err)
		}
		var wantIDs []string
		for _, r := range want.Groups {
			wantIDs = append(wantIDs, r.ID)
		}
		var got []string
		var pages []string
		link := "/queue?state=all&limit=7&sort=" + sort
		for link != "" {
			r := waitFor(t, f, link, func(r resp) bool { return r.status == 200 && !strings.Contains(r.body, "still loading") })
			pages = append(pages, link)
			for _, m := range idRe.FindAllStringSubmatch(r.body, -1) {
				got = append(got, m[1])
			}
			link = ""
			if m := nextRe.FindStringSubmatch(r.body); m != nil {
				link = strings.ReplaceAll(m[1], "&amp;", "&")
			}
		}
		if !slices.Equal(got, wantIDs) {
			t.Fatalf("sort %s: the queue pages list\n%v\nreview.List lists\n%v", sort, got, wantIDs)
		}
		// Back from the last page: the pages before it, in order.
		last := f.get(pages[len(pages)-1])
		var back []string
		for {
			m := prevRe.FindStringSubmatch(last.body)
			if m == nil {
				break
			}
			last = f.get(strings.ReplaceAll(m[1], "&amp;", "&"))
			var ids []string
			for _, x := range idRe.FindAllStringSubmatch(last.body, -1) {
				ids = append(ids, x[1])
			}
			back = append(ids, back...)
		}
		if n := len(got) - len(back); n <= 0 || !slices.Equal(back, got[:len(back)]) {
			t.Fatalf("sort %s: paging back gives %v, want the start of %v", sort, back, got)
		}
	}
	// Filters: confidence range and size.
	r := f.get("/queue?state=all&minsize=3&limit=500")
	for _, m := range idRe.FindAllStringSubmatch(r.body, -1) {
		if g := f.group(m[1]); len(g.Members) < 3 {
			t.Fatalf("minsize=3 lists %s of size %d", g.ID, len(g.Members))
		}
	}
}

func waitFor(t *testing.T, f *fixture, path string, ok func(resp) bool) resp {
	t.Helper()
	var r resp
	for range 100 {
		if r = f.get(path); ok(r) {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("GET %s: %d %.300s", path, r.status, r.body)
	return r
}

// TestQueueFollowsTheLedger: a decision made outside the console leaves
// the default view within the ledger poll.
func TestQueueFollowsTheLedger(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	g := f.proposed()[0]
	waitFor(t, f, "/queue", func(r resp) bool { return strings.Contains(r.body, g.ID) })
	if _, err := review.Decide(context.Background(), f.st, g, cm.Decision{Approve: true, Actor: "cli"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, f, "/queue", func(r resp) bool { return r.status == 200 && !strings.Contains(r.body, g.ID) })
}

// TestBulkApprove previews the groups at or above a threshold, refuses an
// apply whose set changed since, then applies.
func TestBulkApprove(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	csrf := f.csrf("/bulk")
	gs := f.proposed()
	th := gs[len(gs)/2].Confidence
	want, contacts := 0, 0
	for _, g := range gs {
		if g.Confidence >= th {
			want++
			contacts += len(g.Members)
		}
	}
	r := f.post("/bulk/preview", url.Values{"csrf": {csrf}, "threshold": {formatFloat(th)}})
	if !strings.Contains(r.body, `id="preview-groups">`+itoa(int64(want))+"<") || !strings.Contains(r.body, `id="preview-contacts">`+itoa(int64(contacts))+"<") {
		t.Fatalf("preview: want %d groups, %d contacts: %.1500s", want, contacts, r.body)
	}
	fp := regexp.MustCompile(`name="fingerprint" value="([^"]+)"`).FindStringSubmatch(r.body)[1]
	r = f.post("/bulk/approve", url.Values{"csrf": {csrf}, "threshold": {formatFloat(th)}, "fingerprint": {"stale"}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "changed since the preview") {
		t.Fatalf("stale bulk apply = %d: %.400s", r.status, r.body)
	}
	r = f.post("/bulk/approve", url.Values{"csrf": {csrf}, "threshold": {formatFloat(th)}, "fingerprint": {fp}})
	if !strings.Contains(r.body, `id="bulk-decided">`+itoa(int64(want))+"<") {
		t.Fatalf("bulk apply: %.800s", r.body)
	}
	for _, g := range gs {
		got := f.group(g.ID)
		if (g.Confidence >= th) != (got.State == cm.StateApproved) {
			t.Errorf("group %s (confidence %v) is %s after a bulk approval at %v", g.ID, g.Confidence, got.State, th)
		}
	}
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// errPlatform is a platform check's failure.
var errPlatform = errors.New("GET /api/v2/tokens/me: dial tcp 127.0.0.1:9: connection refused")

// TestDownloads: the ledger CSV and the id map.
func TestDownloads(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	g := f.proposed()[0]
	f.decide(g, "approve", nil)
	r := f.get("/ledger.csv?q=" + g.ID)
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 3 || rows[0][0] != "seq" || rows[len(rows)-1][3] != g.ID || rows[len(rows)-1][6] != "tester" {
		t.Fatalf("ledger.csv = %v", rows)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") {
		t.Fatalf("ledger.csv Content-Disposition %q", cd)
	}
	r = f.get("/idmap.csv")
	if !strings.HasPrefix(r.body, "oldId,canonicalId,groupId") {
		t.Fatalf("idmap.csv = %q", r.body)
	}
	r = f.get("/idmap.csv?format=json")
	if r.status != 200 {
		t.Fatalf("idmap json = %d", r.status)
	}
}

// TestRiverView mounts River's job view read-only on the store's own
// job client.
func TestRiverView(t *testing.T) {
	f := newFixture(t, fixtureOpts{cfg: func(c *web.Config) {
		jc, err := c.Store.NewJobClient(&river.Config{})
		if err != nil {
			t.Fatal(err)
		}
		c.Jobs = jc
	}})
	for _, p := range []string{"/river/", "/river/api/states", "/river/api/jobs?state=available&limit=5"} {
		if r := f.get(p); r.status != 200 {
			t.Errorf("GET %s = %d: %.300s", p, r.status, r.body)
		}
	}
	if r := f.get("/"); !strings.Contains(r.body, `href="/river/"`) {
		t.Error("no link to the job view")
	}
	r := f.post("/river/api/jobs/cancel", url.Values{"csrf": {f.csrf("/bulk")}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "read-only") {
		t.Errorf("POST to the job view = %d %.200s, want 403 read-only", r.status, r.body)
	}
}

// TestHealthz reports each check, 503 when one fails, and never a secret.
func TestHealthz(t *testing.T) {
	f := newFixture(t, fixtureOpts{cfg: func(c *web.Config) {
		c.Checks = []web.Check{
			{Name: "store", Run: func(context.Context) error { return nil }},
			{Name: "platform", Run: func(context.Context) error { return errPlatform }},
		}
	}})
	r := f.get("/healthz")
	var h struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.body), &h); err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusServiceUnavailable || h.Status != "unavailable" || h.Checks["store"] != "ok" || !strings.Contains(h.Checks["platform"], "connection refused") {
		t.Fatalf("healthz = %d %+v", r.status, h)
	}
}

// TestLoginAndSecrets: with a token the console needs a login; the login
// name is the actor of decisions; the token appears in no page, cookie,
// log or error; /metrics takes the token as a bearer.
func TestLoginAndSecrets(t *testing.T) {
	const token = "tok-3f9c2a7d1e8b4c6f"
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, fixtureOpts{token: token, cfg: func(c *web.Config) { c.Now = clock; c.SessionTTL = time.Hour }})
	g := f.proposed()[0]
	var pages []resp
	r := f.get("/queue")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
		t.Fatalf("GET /queue before login = %d %q", r.status, r.header.Get("Location"))
	}
	if r := f.post("/groups/"+g.ID+"/approve", url.Values{"csrf": {f.csrf("/login")}, "version": {itoa(g.Version)}}); r.status != http.StatusForbidden {
		t.Fatalf("POST before login = %d", r.status)
	}
	csrf := f.csrf("/login")
	r = f.post("/login", url.Values{"csrf": {csrf}, "name": {"ann"}, "token": {"wrong-" + token}, "next": {"/queue"}})
	pages = append(pages, r)
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "not the console&#39;s token") {
		t.Fatalf("login with a wrong token = %d: %.300s", r.status, r.body)
	}
	r = f.post("/login", url.Values{"csrf": {csrf}, "name": {"ann"}, "token": {token}, "next": {"/queue"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/queue" {
		t.Fatalf("login = %d %q: %.300s", r.status, r.header.Get("Location"), r.body)
	}
	u, _ := url.Parse(f.url)
	for _, c := range f.client.Jar.Cookies(u) {
		if strings.Contains(c.Value, token) {
			t.Fatal("the session cookie holds the token")
		}
	}
	r = f.decide(g, "approve", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("approve after login = %d: %.300s", r.status, r.body)
	}
	wantActor(t, f, g.ID, cm.StateApproved, "ann")
	for _, p := range []string{"/", "/?partial=1", "/queue", "/groups/" + g.ID, "/bulk", "/quarantine", "/failed", "/ledger", "/ledger?q=" + g.ID,
		"/ledger.csv", "/idmap.csv", "/run", "/healthz", "/metrics", "/login", "/nope"} {
		r := f.follow(p)
		if r.status >= 500 {
			t.Errorf("GET %s = %d", p, r.status)
		}
		pages = append(pages, r)
	}
	for _, r := range pages {
		for _, secret := range []string{token, "sandbox-secret"} {
			if strings.Contains(r.body, secret) || strings.Contains(strings.Join(r.header.Values("Set-Cookie"), ";"), secret) {
				t.Errorf("a page holds %q: %.200s", secret, r.body)
			}
		}
	}
	if strings.Contains(f.logs.String(), token) {
		t.Error("the log holds the token")
	}
	if !strings.Contains(f.logs.String(), "login refused") {
		t.Error("the refused login is not logged")
	}
	// /metrics: a session, or the token as a bearer.
	req, _ := http.NewRequest(http.MethodGet, f.url+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials = %d, want 401", res.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/metrics with the bearer token = %d, want 200", res.StatusCode)
	}
	// A login lasts SessionTTL.
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if r := f.get("/queue"); r.status != http.StatusSeeOther {
		t.Errorf("GET /queue after the session expired = %d, want a redirect to the login", r.status)
	}
}
