package discover_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/discover"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// hiddenOrg is a sandbox whose auto-created contacts scan does not list and
// whose conversation history names them.
func hiddenOrg(t testing.TB, contacts int, seed int64) *testorg.Org {
	return testorg.New(t, sandbox.Config{Contacts: contacts, Seed: seed, RateLimit: -1, History: true})
}

// scanned returns a store (dsn) holding what a scan of o lists.
func scanned(t testing.TB, o *testorg.Org, dsn string) store.Store {
	t.Helper()
	st := testorg.OpenStore(t, dsn)
	if _, err := engine.Scan(context.Background(), o.Client(t, nil), st, engine.ScanOptions{}); err != nil {
		t.Fatal(err)
	}
	return st
}

// hiddenDuplicates returns the members of the sandbox's true clusters that
// scan does not list.
func hiddenDuplicates(o *testorg.Org) []string {
	listed := map[string]bool{}
	for _, cl := range o.SB.Truth() {
		for _, id := range cl {
			listed[id] = true
		}
	}
	var out []string
	for _, cl := range o.SB.TruthAll() {
		for _, id := range cl {
			if !listed[id] {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// share is the part of want that got holds.
func share(want, got []string) (int, float64) {
	n := 0
	for _, id := range want {
		if _, ok := slices.BinarySearch(got, id); ok {
			n++
		}
	}
	return n, float64(n) / float64(max(len(want), 1))
}

// analyticsAndBulk counts the sandbox's answers on the analytics and bulk
// read routes.
func analyticsAndBulk(o *testorg.Org) int {
	n := 0
	for route, byStatus := range o.SB.Stats().Requests {
		if strings.Contains(route, "/analytics/") || strings.Contains(route, "/bulk/") {
			for _, k := range byStatus {
				n += k
			}
		}
	}
	return n
}

// TestRunFindsHiddenContacts: after a scan, which lists no auto-created
// contact, a discovery over 62 days finds every auto-created contact (each
// had a conversation in the 60 days before it would age out), stores
// nothing else, and counts its requests as the sandbox does; one over 31
// days finds about half of the hidden duplicates. Run again, it reads
// nothing in bulk and stores nothing.
func TestRunFindsHiddenContacts(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			o := hiddenOrg(t, 3000, 11)
			st := scanned(t, o, dsn(t))
			ctx := context.Background()
			api := o.Client(t, nil)
			before := analyticsAndBulk(o)
			res, err := discover.Run(ctx, api, st, discover.Options{Days: 31, PollInterval: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if got := analyticsAndBulk(o) - before; res.Requests() != got {
				t.Errorf("Result counts %d requests, the sandbox answered %d", res.Requests(), got)
			}
			hidden := hiddenDuplicates(o)
			n31, share31 := share(hidden, res.FoundIDs)
			if len(hidden) < 30 || share31 < 0.3 || share31 > 0.75 {
				t.Errorf("31 days: %d of %d hidden duplicates found (%.2f)", n31, len(hidden), share31)
			}
			for _, id := range res.FoundIDs {
				c, ok := o.SB.Contact(id)
				if !ok || c.Type == cm.TypeCurated {
					t.Fatalf("found %s (%+v): not an auto-created contact of the organization", id, c.Type)
				}
			}
			if res.Found != res.Read || res.Missing+res.Failed+res.Resolved != 0 || res.Known == 0 {
				t.Errorf("31 days: %+v", res)
			}

			res62, err := discover.Run(ctx, api, st, discover.Options{Days: 62, PollInterval: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			all := slices.Concat(res.FoundIDs, res62.FoundIDs)
			slices.Sort(all)
			if n, s := share(hidden, all); s != 1 {
				t.Errorf("62 days: %d of %d hidden duplicates found", n, len(hidden))
			}
			total, err := st.CountContacts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if int(total) != o.SB.Canonical() {
				t.Errorf("the store holds %d contacts, the organization %d", total, o.SB.Canonical())
			}
			again, err := discover.Run(ctx, api, st, discover.Options{Days: 62, PollInterval: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if again.Read != 0 || again.Found != 0 || again.BulkRequests != 0 || again.Known != again.ContactIDs {
				t.Errorf("again: %+v", again)
			}
			t.Logf("31 days: %d/%d hidden duplicates (%.2f), %d found, %d requests (%.3f per contact found); 62 days: %d more",
				n31, len(hidden), share31, res.Found, res.Requests(), res.RequestsPerFound(), res62.Found)
		})
	}
}

// lastOneOClock is the latest 01:00 UTC that has passed (today's, or
// before 01:00 yesterday's): the clock of the tests that compare the jobs
// with the query. The query reads the conversations started on the days
// its interval touches (the platform's rule), a job those of the interval:
// late in a UTC day the query reads almost a day more than the jobs (it
// found 6% more contacts at 21:45 and failed the tests' 5%). Reading up to
// 01:00 makes the query's extra an hour, whatever the time. The clock must
// not lie ahead: with today's 01:00 at 00:28, the jobs spent as many
// analytics requests as the query (6) and TestRunViaQueryFindsTheSame
// failed.
func lastOneOClock() time.Time {
	now := time.Now().UTC()
	t := now.Truncate(24 * time.Hour).Add(time.Hour)
	if t.After(now) {
		t = t.Add(-24 * time.Hour)
	}
	return t
}

// TestRunViaQueryFindsTheSame: the details query finds the contacts the
// jobs find (and those of one more day at most), in more requests.
func TestRunViaQueryFindsTheSame(t *testing.T) {
	o := hiddenOrg(t, 3000, 12)
	var results []discover.Result
	for _, via := range []string{discover.ViaJobs, discover.ViaQuery} {
		st := scanned(t, o, testdb.SQLite(t))
		res, err := discover.Run(context.Background(), o.Client(t, nil), st, discover.Options{Via: via, PollInterval: time.Millisecond, Now: lastOneOClock})
		if err != nil {
			t.Fatal(err)
		}
		if res.Via != via {
			t.Errorf("via %q reported as %q", via, res.Via)
		}
		results = append(results, res)
	}
	j, q := results[0], results[1]
	// The query also returns the conversations of the interval's first day
	// that started before it (it takes every day the interval touches): at
	// most a few contacts more.
	if _, s := share(j.FoundIDs, q.FoundIDs); s != 1 || len(q.FoundIDs) > len(j.FoundIDs)+len(j.FoundIDs)/20 {
		t.Errorf("jobs found %d, the query %d (share of the jobs' in the query's %.3f)", len(j.FoundIDs), len(q.FoundIDs), s)
	}
	if j.AnalyticsRequests >= q.AnalyticsRequests {
		t.Errorf("jobs took %d analytics requests, the query %d", j.AnalyticsRequests, q.AnalyticsRequests)
	}
}

// curatedMate returns a curated member of the true cluster of id.
func curatedMate(t testing.TB, o *testorg.Org, id string) string {
	t.Helper()
	var curated string
	for _, cl := range o.SB.TruthAll() {
		if slices.Contains(cl, id) {
			for _, m := range cl {
				if c, _ := o.SB.Contact(m); c.Type == cm.TypeCurated {
					curated = m
				}
			}
		}
	}
	if curated == "" {
		t.Fatal("no curated member in the cluster of", id)
	}
	return curated
}

// TestRunResolvesMergedIDs: a conversation of a contact merged since names
// the merged-away id; the bulk read answers with the canonical contact,
// which is stored (the curated member's conversations name an id the store
// holds: they are not read).
func TestRunResolvesMergedIDs(t *testing.T) {
	o := hiddenOrg(t, 1000, 13)
	st := scanned(t, o, testdb.SQLite(t))
	ctx := context.Background()
	api := o.Client(t, nil)
	hidden := hiddenDuplicates(o)
	curated := curatedMate(t, o, hidden[0])
	merged, _, err := api.Contacts.Merge(ctx, &genesys.MergeRequest{ContactIDs: []string{hidden[0], curated}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := discover.Run(ctx, api, st, discover.Options{Days: 62, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resolved != 1 || !slices.Contains(res.FoundIDs, merged.ID) || slices.Contains(res.FoundIDs, hidden[0]) {
		t.Errorf("resolved %d; found the merged contact %s: %v, the merged-away %s: %v", res.Resolved,
			merged.ID, slices.Contains(res.FoundIDs, merged.ID), hidden[0], slices.Contains(res.FoundIDs, hidden[0]))
	}
}

// TestOptionsValidate: bad options are EINVALID naming the field, before
// any request.
func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    discover.Options
		want string
	}{
		{discover.Options{Days: -1}, "days -1"},
		{discover.Options{Days: discover.MaxDays + 1}, "days 367"},
		{discover.Options{Via: "websocket"}, `via "websocket"`},
		{discover.Options{PollInterval: -time.Second}, "poll interval"},
	} {
		err := tc.o.Validate()
		if cm.ErrorCode(err) != cm.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want EINVALID naming %q", tc.o, err, tc.want)
		}
		if _, err := discover.Run(context.Background(), nil, nil, tc.o); cm.ErrorCode(err) != cm.EINVALID {
			t.Errorf("Run %+v: %v", tc.o, err)
		}
	}
}

// TestDiscoverFigures measures, on organizations with hidden auto-created
// contacts, the share of hidden duplicates a discovery finds and the
// requests it spends per contact found (and per hidden duplicate found),
// and how many of them match groups with their cluster, for both ways of
// reading and
// lookbacks of 31 and 62 days. DISCOVER_CONTACTS sets the size (default
// 3000) and DISCOVER_SEEDS the number of seeds (default 1):
//
//	DISCOVER_CONTACTS=20000 DISCOVER_SEEDS=5 go test ./discover/ -run TestDiscoverFigures -v
func TestDiscoverFigures(t *testing.T) {
	contacts, seeds := testorg.EnvSize(t, "DISCOVER_CONTACTS", 3000), testorg.EnvSize(t, "DISCOVER_SEEDS", 1)
	for seed := int64(1); seed <= int64(seeds); seed++ {
		o := hiddenOrg(t, contacts, seed)
		hidden := hiddenDuplicates(o)
		for _, via := range []string{discover.ViaJobs, discover.ViaQuery} {
			for _, days := range []int{31, 62} {
				st := scanned(t, o, testdb.SQLite(t))
				res, err := discover.Run(context.Background(), o.Client(t, nil), st, discover.Options{Days: days, Via: via, PollInterval: time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				n, s := share(hidden, res.FoundIDs)
				grouped := "-"
				if via == discover.ViaJobs {
					g := groupedWithCluster(t, st, o, hidden)
					grouped = fmt.Sprintf("%d (%.3f)", g, float64(g)/float64(max(len(hidden), 1)))
				}
				t.Logf("seed %d %-5s %2d days: %d conversations, %d hidden duplicates of %d found (%.3f), %d contacts found, %d requests (%d analytics, %d bulk): %.4f per contact found, %.4f per hidden duplicate found; grouped by match with their cluster: %s",
					seed, via, days, res.Conversations, n, len(hidden), s, res.Found, res.Requests(), res.AnalyticsRequests, res.BulkRequests,
					res.RequestsPerFound(), float64(res.Requests())/float64(max(n, 1)), grouped)
			}
		}
	}
}

// groupedWithCluster matches the store's contacts (the default matcher
// configuration) and counts the hidden duplicates put in a group with
// another member of their true cluster.
func groupedWithCluster(t *testing.T, st store.Store, o *testorg.Org, hidden []string) int {
	t.Helper()
	var cs []cm.Contact
	if err := st.EachContact(context.Background(), func(c *cm.Contact) error {
		cs = append(cs, *c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := match.MatchContacts(context.Background(), cs, match.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	groupOf := map[string]int{}
	for i, g := range res.Groups {
		for _, id := range g.Members {
			groupOf[id] = i + 1
		}
	}
	n := 0
	for _, cl := range o.SB.TruthAll() {
		for _, id := range cl {
			if _, ok := slices.BinarySearch(hidden, id); !ok || groupOf[id] == 0 {
				continue
			}
			if slices.ContainsFunc(cl, func(m string) bool { return m != id && groupOf[m] == groupOf[id] }) {
				n++
			}
		}
	}
	return n
}

// TestRunReadsPastTheDataLake: when the data lake is behind, the job misses
// the latest conversations and Run reads them with the details query: it
// finds what the query alone finds.
func TestRunReadsPastTheDataLake(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 2000, Seed: 14, RateLimit: -1, History: true, AnalyticsDataLag: 5 * 24 * time.Hour})
	ctx := context.Background()
	jobs, err := discover.Run(ctx, o.Client(t, nil), scanned(t, o, testdb.SQLite(t)), discover.Options{PollInterval: time.Millisecond, Now: lastOneOClock})
	if err != nil {
		t.Fatal(err)
	}
	query, err := discover.Run(ctx, o.Client(t, nil), scanned(t, o, testdb.SQLite(t)), discover.Options{Via: discover.ViaQuery, Now: lastOneOClock})
	if err != nil {
		t.Fatal(err)
	}
	if lag := time.Since(jobs.DataAvailability); jobs.TailQueries != 1 || lag < 5*24*time.Hour || lag > 5*24*time.Hour+time.Minute {
		t.Errorf("tail queries %d, data available until %v ago", jobs.TailQueries, lag)
	}
	if _, s := share(jobs.FoundIDs, query.FoundIDs); s != 1 || len(query.FoundIDs) > len(jobs.FoundIDs)+len(jobs.FoundIDs)/20 {
		t.Errorf("jobs and tail found %d, the query %d (share %.3f)", len(jobs.FoundIDs), len(query.FoundIDs), s)
	}
}

// TestRunRemembersUnreadableIDs: a discovery records the ids it found
// merged away or deleted, the next one (within Options.Reread) does not
// read them again and spends no bulk request, and one past Reread reads
// them again and finds them as before.
func TestRunRemembersUnreadableIDs(t *testing.T) {
	o := hiddenOrg(t, 1000, 13)
	st := scanned(t, o, testdb.SQLite(t))
	ctx := context.Background()
	api := o.Client(t, nil)
	hidden := hiddenDuplicates(o)
	if len(hidden) < 2 {
		t.Fatalf("%d hidden duplicates, want 2", len(hidden))
	}
	curated := curatedMate(t, o, hidden[0])
	if _, _, err := api.Contacts.Merge(ctx, &genesys.MergeRequest{ContactIDs: []string{hidden[0], curated}}); err != nil {
		t.Fatal(err)
	}
	req, err := api.NewRequest(ctx, http.MethodDelete, "/api/v2/externalcontacts/contacts/"+hidden[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Do(req, nil); err != nil {
		t.Fatalf("delete %s: %v", hidden[1], err)
	}
	now := time.Now()
	at := func(d time.Duration) func() time.Time { return func() time.Time { return now.Add(d) } }

	first, err := discover.Run(ctx, api, st, discover.Options{Days: 62, PollInterval: time.Millisecond, Now: at(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if first.Resolved == 0 || first.Missing == 0 || first.Remembered != 0 {
		t.Fatalf("first discovery: resolved %d, missing %d, remembered %d; want the merged-away and the deleted id, nothing remembered",
			first.Resolved, first.Missing, first.Remembered)
	}
	unreadable := first.Resolved + first.Missing

	again, err := discover.Run(ctx, api, st, discover.Options{Days: 62, PollInterval: time.Millisecond, Now: at(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if again.Remembered != unreadable || again.Read != 0 || again.BulkRequests != 0 {
		t.Errorf("discovery an hour later: remembered %d (want %d), read %d, %d bulk requests (want none)",
			again.Remembered, unreadable, again.Read, again.BulkRequests)
	}

	later, err := discover.Run(ctx, api, st, discover.Options{Days: 62, PollInterval: time.Millisecond, Now: at(0), Reread: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if later.Remembered != 0 || later.Read != unreadable || later.Resolved != first.Resolved || later.Missing != first.Missing || later.Found != 0 {
		t.Errorf("discovery past Reread: remembered %d, read %d (want %d), resolved %d, missing %d (want %d and %d), found %d (want 0)",
			later.Remembered, later.Read, unreadable, later.Resolved, later.Missing, first.Resolved, first.Missing, later.Found)
	}
}
