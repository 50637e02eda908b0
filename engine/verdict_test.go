package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/riverqueue/river"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/store/storetest"
)

func apiErr(status int) *genesys.APIError {
	return &genesys.APIError{Status: status, Message: http.StatusText(status), Method: "POST", URL: "https://api.example/merge"}
}

func TestClassifyMerge(t *testing.T) {
	rl := func(after time.Duration) error {
		return &genesys.RateLimitError{APIError: *apiErr(http.StatusTooManyRequests), RetryAfter: after}
	}
	written := &genesys.TransportError{Method: "POST", URL: "u", Written: true, Err: errors.New("connection reset by peer")}
	unwritten := &genesys.TransportError{Method: "POST", URL: "u", Written: false, Err: errors.New("dial tcp: connection refused")}
	malformed := fmt.Errorf("%w: no id", genesys.ErrMalformedResponse)
	forbidden := apiErr(403)
	forbidden.Code, forbidden.MessageParams = "missing.permissions", map[string]string{"permissions": "externalContacts:identity:merge"}
	gone422 := apiErr(422)
	gone422.Code, gone422.EntityID = "payload.or.params.invalid", "c-2"
	gone422.Errors = []genesys.ErrorBody{{Code: "not.found", Status: 404, EntityID: "c-2", Message: "The requested contact c-2 was not found."}}
	limit422 := apiErr(422)
	limit422.Code = "payload.or.params.invalid"
	limit422.Errors = []genesys.ErrorBody{{Code: "merge.set.limit.exceeded", Status: 400}}
	for _, tc := range []struct {
		name    string
		err     error
		attempt int
		want    mergeVerdict
	}{
		{"2xx", nil, 1, mergeVerdict{kind: mergeApplied}},
		{"2xx on a later attempt", nil, 3, mergeVerdict{kind: mergeApplied}},
		{"409", apiErr(409), 1, mergeVerdict{kind: mergeConflict}},
		{"409 after an ambiguous attempt is still a conflict", apiErr(409), 2, mergeVerdict{kind: mergeConflict}},
		{"wrapped 409", fmt.Errorf("merge: %w", apiErr(409)), 1, mergeVerdict{kind: mergeConflict}},
		{"429 with Retry-After", rl(7 * time.Second), 1, mergeVerdict{kind: mergeThrottled, wait: 7 * time.Second}},
		{"429 without Retry-After", rl(0), 1, mergeVerdict{kind: mergeThrottled, wait: throttleWait}},
		{"429 as a plain APIError", apiErr(429), 2, mergeVerdict{kind: mergeThrottled, wait: throttleWait}},
		{"503", apiErr(503), 1, mergeVerdict{kind: mergeAmbiguous}},
		{"504", apiErr(504), 1, mergeVerdict{kind: mergeAmbiguous}},
		{"500", apiErr(500), 4, mergeVerdict{kind: mergeAmbiguous}},
		{"reset after the request was written", written, 1, mergeVerdict{kind: mergeAmbiguous}},
		{"2xx without a usable body", malformed, 1, mergeVerdict{kind: mergeAmbiguous}},
		{"404", apiErr(404), 1, mergeVerdict{kind: mergeStale}},
		{"401", apiErr(401), 1, mergeVerdict{kind: mergeStale}},
		{"404 after an ambiguous attempt: maybe our own merge", apiErr(404), 2, mergeVerdict{kind: mergeAmbiguous}},
		{"400 after an ambiguous attempt", apiErr(400), 2, mergeVerdict{kind: mergeAmbiguous}},
		{"400", apiErr(400), 1, mergeVerdict{kind: mergeRefused}},
		{"403", apiErr(403), 1, mergeVerdict{kind: mergeForbidden}},
		{"403 after an ambiguous attempt is still forbidden", apiErr(403), 3, mergeVerdict{kind: mergeForbidden}},
		{"403 as a permission error", genesys.AsPermissionError(genesys.CapMergeContacts, forbidden), 1, mergeVerdict{kind: mergeForbidden}},
		{"422", apiErr(422), 1, mergeVerdict{kind: mergeRefused}},
		{"422 merge-set limit", limit422, 1, mergeVerdict{kind: mergeRefused}},
		{"422 naming a vanished contact", gone422, 1, mergeVerdict{kind: mergeStale}},
		{"wrapped 422 naming a vanished contact", fmt.Errorf("merge: %w", gone422), 1, mergeVerdict{kind: mergeStale}},
		{"422 not.found after an ambiguous attempt: maybe our own merge", gone422, 2, mergeVerdict{kind: mergeAmbiguous}},
		{"422 after an ambiguous attempt", limit422, 2, mergeVerdict{kind: mergeAmbiguous}},
		{"failure before sending", unwritten, 1, mergeVerdict{kind: mergeAmbiguous, wait: time.Second}},
		{"cancelled", context.Canceled, 1, mergeVerdict{kind: mergeAmbiguous, wait: time.Second}},
		{"token failure", &genesys.AuthError{Code: "invalid_client"}, 1, mergeVerdict{kind: mergeAmbiguous, wait: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classifyMerge(tc.err, tc.attempt)
			if got != tc.want {
				t.Errorf("classifyMerge(%v, %d) = %v (wait %s), want %v (wait %s)", tc.err, tc.attempt, got.kind, got.wait, tc.want.kind, tc.want.wait)
			}
		})
	}
}

func TestClassifyReads(t *testing.T) {
	merged := func(id, to string) genesys.BulkResult {
		return genesys.BulkResult{ID: id, Success: true, Entity: &cm.Contact{ID: id, MergedTo: &cm.Ref{ID: to}}}
	}
	live := func(id string) genesys.BulkResult {
		return genesys.BulkResult{ID: id, Success: true, Entity: &cm.Contact{ID: id}}
	}
	failed := genesys.BulkResult{ID: "f", Error: &genesys.BulkError{Status: 500}}
	for _, tc := range []struct {
		name    string
		results []genesys.BulkResult
		want    readVerdict
	}{
		{"nothing read", nil, readVerdict{kind: readNotApplied, targets: map[string][]string{}}},
		{"none merged", []genesys.BulkResult{live("a"), live("b"), failed},
			readVerdict{kind: readNotApplied, targets: map[string][]string{}}},
		{"all into one", []genesys.BulkResult{merged("c", "x"), merged("a", "x"), merged("b", "x")},
			readVerdict{kind: readApplied, target: "x", inputs: []string{"c", "a", "b"}, targets: map[string][]string{"x": {"c", "a", "b"}}}},
		{"one round of several: the rest unchanged", []genesys.BulkResult{merged("c", "x"), merged("a", "x"), live("d"), failed},
			readVerdict{kind: readApplied, target: "x", inputs: []string{"c", "a"}, targets: map[string][]string{"x": {"c", "a"}}}},
		{"into different contacts", []genesys.BulkResult{merged("a", "x"), merged("b", "y"), merged("c", "x")},
			readVerdict{kind: readAnomaly, targets: map[string][]string{"x": {"a", "c"}, "y": {"b"}}}},
		{"a merged entity with an empty target is not merged", []genesys.BulkResult{merged("a", "")},
			readVerdict{kind: readNotApplied, targets: map[string][]string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classifyReads(tc.results)
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(readVerdict{})); d != "" {
				t.Errorf("classifyReads (-want +got):\n%s", d)
			}
		})
	}
}

func TestShortenIsRuneSafe(t *testing.T) {
	short := errors.New("genesys: 503 unavailable")
	if got := shorten(short); got != short.Error() {
		t.Errorf("shorten(short) = %q", got)
	}
	long := errors.New(strings.Repeat("é", shortenRunes+10))
	got := shorten(long)
	if !utf8.ValidString(got) || utf8.RuneCountInString(got) != shortenRunes+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("shorten(long) = %d runes, valid %v", utf8.RuneCountInString(got), utf8.ValidString(got))
	}
}

func TestPartialNote(t *testing.T) {
	g := cm.Group{Members: []string{"a", "b", "c", "d", "e"}}
	if n := partialNote(g, 5); n != "" {
		t.Errorf("no round applied: %q", n)
	}
	g.CanonicalID = "x"
	if n := partialNote(g, 2); !strings.Contains(n, "3 of 5 members are already one contact x") || !strings.Contains(n, "2 not merged yet") {
		t.Errorf("partial: %q", n)
	}
}

func TestAppliedMergeOf(t *testing.T) {
	ids := []string{"x", "m9"}
	for _, tc := range []struct {
		name string
		ev   cm.LedgerEvent
		want cm.AppliedMerge
		ok   bool
	}{
		{"2xx api row", cm.LedgerEvent{Seq: 4, Kind: cm.LedgerAPI, GroupID: "g", Status: 200, CanonicalID: "y", Request: mergeSummary(ids, true)},
			cm.AppliedMerge{Seq: 4, GroupID: "g", Inputs: ids, Result: "y"}, true},
		{"verification note", cm.LedgerEvent{Seq: 9, Kind: cm.LedgerNote, GroupID: "g", CanonicalID: "y", Request: verifiedSummary(ids)},
			cm.AppliedMerge{Seq: 9, GroupID: "g", Inputs: ids, Result: "y", Verified: true}, true},
		{"ambiguous api row", cm.LedgerEvent{Kind: cm.LedgerAPI, Status: 504, Request: mergeSummary(ids, false)}, cm.AppliedMerge{}, false},
		{"malformed 2xx (no result)", cm.LedgerEvent{Kind: cm.LedgerAPI, Status: 200, Request: mergeSummary(ids, false)}, cm.AppliedMerge{}, false},
		{"transition row", cm.LedgerEvent{Kind: cm.LedgerTransition, CanonicalID: "y"}, cm.AppliedMerge{}, false},
		{"note without request", cm.LedgerEvent{Kind: cm.LedgerNote, CanonicalID: "y"}, cm.AppliedMerge{Result: "y", Verified: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := AppliedMergeOf(tc.ev)
			if ok != tc.ok || !cmp.Equal(got, tc.want) {
				t.Errorf("AppliedMergeOf = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDefaultConfigIsWhatWithDefaultsFills(t *testing.T) {
	d := DefaultConfig()
	got := Config{Owner: "o"}.WithDefaults()
	// Per-engine fields aside, WithDefaults fills exactly DefaultConfig.
	got.Owner, got.Logger, got.Metrics, got.Now, got.Concurrency.Now = "", nil, nil, nil, nil
	if d := cmp.Diff(d, got, cmp.Comparer(func(a, b func(Alert)) bool { return a == nil && b == nil })); d != "" {
		t.Errorf("WithDefaults vs DefaultConfig (-default +filled):\n%s", d)
	}
	for name, v := range map[string]bool{
		"max per request": d.MaxPerRequest == 10, "concurrency": d.Concurrency.Initial == 5, "max concurrency": d.Concurrency.Max == 50,
		"settle": d.VerifySettle == 2*time.Minute, "job timeout": d.JobTimeout == 2*time.Minute, "rescue after": d.RescueAfter == 3*time.Minute,
		"lease TTL": d.LeaseTTL == 2*time.Minute, "check cases": !d.CheckCases,
	} {
		if !v {
			t.Errorf("DefaultConfig: unexpected %s", name)
		}
	}
	if err := d.WithDefaults().validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	// A longer job timeout moves the default rescue time after it.
	if c := (Config{JobTimeout: 5 * time.Minute}).WithDefaults(); c.RescueAfter != 6*time.Minute || c.validate() != nil {
		t.Errorf("JobTimeout 5m: RescueAfter %s, %v", c.RescueAfter, c.validate())
	}
	if err := (Config{JobTimeout: 5 * time.Minute, RescueAfter: time.Minute}).WithDefaults().validate(); !cm.IsCode(err, cm.EINVALID) {
		t.Errorf("RescueAfter below JobTimeout: %v", err)
	}
	// The AIMD takes the engine's clock unless it has its own.
	clock := storetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if c := (Config{Now: clock.Now}).WithDefaults(); !c.Concurrency.Now().Equal(clock.Now()) {
		t.Errorf("AIMD clock not the engine's")
	}
}

func TestNextRetryUsesTheEngineClock(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e, err := newEngine(nil, Config{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	for attempt, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 40: 30 * time.Second} {
		if got := e.nextRetry(attempt).Sub(clock.Now()); got != want {
			t.Errorf("nextRetry(%d) = now+%s, want now+%s", attempt, got, want)
		}
	}
}

func TestRiverConfig(t *testing.T) {
	e, err := newEngine(nil, Config{JobTimeout: time.Minute, RescueAfter: 90 * time.Second, Concurrency: AIMDConfig{Max: 7}})
	if err != nil {
		t.Fatal(err)
	}
	c := e.RiverConfig(river.Config{FetchPollInterval: time.Second, MaxAttempts: 3})
	if c.Workers == nil || c.Queues[QueueMerge].MaxWorkers != 7 || c.Queues[QueuePreflight].MaxWorkers == 0 || c.Queues[QueueRetry].MaxWorkers == 0 {
		t.Errorf("workers/queues = %v, %+v", c.Workers, c.Queues)
	}
	if c.JobTimeout != time.Minute || c.RescueStuckJobsAfter != 90*time.Second {
		t.Errorf("timeouts = %s, %s", c.JobTimeout, c.RescueStuckJobsAfter)
	}
	if c.FetchPollInterval != time.Second || c.FetchCooldown != defaultFetchCooldown || c.MaxAttempts != 3 {
		t.Errorf("base not kept or defaults not filled: %+v", c)
	}
}

func TestJobInsertOpts(t *testing.T) {
	for _, tc := range []struct {
		args  river.JobArgsWithInsertOpts
		queue string
	}{{MergeArgs{}, QueueMerge}, {PreflightArgs{}, QueuePreflight}, {RetryArgs{}, QueueRetry}} {
		o := tc.args.InsertOpts()
		if o.Queue != tc.queue || o.MaxAttempts != jobMaxAttempts || len(o.UniqueOpts.ByState) == 0 {
			t.Errorf("%T.InsertOpts() = %+v", tc.args, o)
		}
	}
}
