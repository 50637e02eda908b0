package genesys_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testclock"
	"github.com/contactmerge/contactmerge/sandbox"
)

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// scanIDs returns the ids a full scan lists.
func scanIDs(t *testing.T, c *genesys.Client) []string {
	t.Helper()
	var ids []string
	for page, err := range c.Contacts.ScanAll(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range page.Entities {
			ids = append(ids, ct.ID)
		}
	}
	return ids
}

// TestSandboxBulkReadHalvesToThePlatformLimit: a platform that takes fewer
// ids per bulk read than the assumed 100 (here 40) refuses the first batch;
// the client halves it until one is accepted (25), keeps that size for
// every later read and says so once in its log.
func TestSandboxBulkReadHalvesToThePlatformLimit(t *testing.T) {
	logs := &lockedBuffer{}
	sb, c := newSandbox(t, 150, func(cfg *sandbox.Config) { cfg.MaxBulkIDs = 40 },
		func(c *genesys.Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	ids := scanIDs(t, c)
	res, _, err := c.Contacts.BulkGet(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(ids) {
		t.Fatalf("%d results for %d ids", len(res), len(ids))
	}
	for _, r := range res {
		if !r.Success {
			t.Errorf("%s: %+v", r.ID, r.Error)
		}
	}
	if got := c.Contacts.BulkSize(); got != 25 {
		t.Errorf("BulkSize = %d, want 25 (100 and 50 refused)", got)
	}
	route := "POST /api/v2/externalcontacts/bulk/contacts"
	refused := sb.Stats().Requests[route][http.StatusBadRequest]
	if refused != 2 {
		t.Errorf("%d refused bulk reads, want 2 (100, then 50)", refused)
	}
	// Later reads use the size that worked: no refusal, no second log line.
	if _, _, err := c.Contacts.BulkGetUnresolved(t.Context(), ids); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Contacts.BulkGet(t.Context(), ids); err != nil {
		t.Fatal(err)
	}
	if n := sb.Stats().Requests[route][http.StatusBadRequest]; n != refused {
		t.Errorf("%d more refusals after the size was learned", n-refused)
	}
	if n := strings.Count(logs.String(), "using 25 ids per bulk read from now on"); n != 1 {
		t.Errorf("the learned size is logged %d times, want once:\n%s", n, logs)
	}
}

// TestSandboxAnalyticsHalvesToThePlatformLimit: the same for the number of
// externalContactId predicates of a conversation-details query.
func TestSandboxAnalyticsHalvesToThePlatformLimit(t *testing.T) {
	logs := &lockedBuffer{}
	now := time.Now().UTC()
	sb, c := newSandbox(t, 120, func(cfg *sandbox.Config) { cfg.MaxAnalyticsPredicates = 30 },
		func(c *genesys.Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	ids := scanIDs(t, c)
	sb.AddActivity(sandbox.Activity{ExternalContactID: ids[len(ids)-1], ConversationID: "conv-open", Start: now.Add(-time.Hour)})
	got, err := c.Analytics.ActiveConversations(t.Context(), ids, genesys.Interval{Start: now.Add(-24 * time.Hour), End: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[ids[len(ids)-1]]) != 1 {
		t.Errorf("active = %v", got)
	}
	if n := strings.Count(logs.String(), "using 25 contact ids per analytics query from now on"); n != 1 {
		t.Errorf("the learned size is logged %d times, want once:\n%s", n, logs)
	}
}

// TestSandboxLongLookbackIsSplit: a lookback longer than the 31 days a
// filtered query may span is sent as several queries, and finds a
// conversation opened 40 days ago and still open.
func TestSandboxLongLookbackIsSplit(t *testing.T) {
	now := time.Now().UTC()
	sb, c := newSandbox(t, 0, nil, nil)
	sb.AddActivity(sandbox.Activity{ExternalContactID: "c-ann-1", ConversationID: "conv-old", Start: now.Add(-40 * 24 * time.Hour)})
	got, err := c.Analytics.ActiveConversations(t.Context(), []string{"c-ann-1", "c-bob-1"},
		genesys.Interval{Start: now.Add(-45 * 24 * time.Hour), End: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["c-ann-1"]) != 1 {
		t.Errorf("active = %v", got)
	}
	st := sb.Stats().Requests["POST /api/v2/analytics/conversations/details/query"]
	if st[http.StatusOK] != 2 || st[http.StatusBadRequest] != 0 {
		t.Errorf("queries by status = %v, want two 200s", st)
	}
}

// TestSandboxExpiredScanCursor: a scan resumed with a cursor older than the
// platform's 24 hours gets an error wrapping ErrCursorExpired (and the
// *APIError, a 400).
func TestSandboxExpiredScanCursor(t *testing.T) {
	clk := testclock.New(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	_, c := newSandbox(t, 50, func(cfg *sandbox.Config) { cfg.Now = clk.Now }, nil)
	page, _, err := c.Contacts.Scan(t.Context(), &genesys.ScanOptions{Limit: 10})
	if err != nil || page.After() == "" {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	if _, _, err := c.Contacts.Scan(t.Context(), &genesys.ScanOptions{Limit: 10, Cursor: page.After()}); err != nil {
		t.Fatalf("fresh cursor: %v", err)
	}
	clk.Advance(24*time.Hour + time.Second)
	_, _, err = c.Contacts.Scan(t.Context(), &genesys.ScanOptions{Limit: 10, Cursor: page.After()})
	var ae *genesys.APIError
	if !errors.Is(err, genesys.ErrCursorExpired) || !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("expired cursor: %v", err)
	}
	// The first page needs no cursor and still works.
	if _, _, err := c.Contacts.Scan(t.Context(), &genesys.ScanOptions{Limit: 10}); err != nil {
		t.Errorf("restart: %v", err)
	}
}

// TestSandboxCheckPermissions: the probes find exactly the permissions the
// client's role lacks, each named, and change nothing on the platform.
func TestSandboxCheckPermissions(t *testing.T) {
	all := []genesys.Capability{genesys.CapReadContacts, genesys.CapQueryConversations, genesys.CapLookUpCases, genesys.CapMergeContacts}
	sb, c := newSandbox(t, 0, nil, nil)
	if err := c.CheckPermissions(t.Context(), all...); err != nil {
		t.Fatalf("every permission held: %v", err)
	}
	if ops := sb.Oplog(); len(ops) != 0 {
		t.Errorf("the probes changed the platform: %+v", ops)
	}

	sb, c = newSandbox(t, 0, func(cfg *sandbox.Config) {
		cfg.Permissions = []string{sandbox.PermContactView, sandbox.PermCaseExternalContactView}
	}, nil)
	err := c.CheckPermissions(t.Context(), all...)
	if !errors.Is(err, genesys.ErrForbidden) {
		t.Fatalf("err = %v, want a permission error", err)
	}
	var pe *genesys.PermissionError
	if !errors.As(err, &pe) || pe.Capability != genesys.CapQueryConversations {
		t.Fatalf("first refusal = %+v", pe)
	}
	for _, want := range []string{
		"genesys: the OAuth client may not query conversation details (403 missing.permissions): it needs one of the permissions analytics:conversationDetail:view, analytics:agentConversationDetail:view",
		"genesys: the OAuth client may not merge contacts (403 missing.permissions): it needs the permission externalContacts:identity:merge",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nlacks\n%s", err, want)
		}
	}
	if strings.Contains(err.Error(), "read contacts") || strings.Contains(err.Error(), "look up cases") {
		t.Errorf("a held permission is reported missing: %v", err)
	}
	if ops := sb.Oplog(); len(ops) != 0 {
		t.Errorf("the probes changed the platform: %+v", ops)
	}
}
