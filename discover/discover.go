package discover

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// How the conversations are read.
const (
	// ViaJobs reads them with the asynchronous details jobs (pages of
	// genesys.JobPageSize): the default, fewer requests once there are more
	// than a few hundred conversations.
	ViaJobs = "jobs"
	// ViaQuery reads them with the synchronous details query (pages of
	// genesys.QueryPageSizeMax).
	ViaQuery = "query"
)

// DefaultDays is the default lookback: one details query's longest
// filtered interval.
const DefaultDays = 31

// MaxDays is the longest lookback Run takes (a year: analytics data
// retention is an organization setting; older conversations are
// usually gone, and each 31 days cost at least one job or query).
const MaxDays = 366

// storeChunk is the number of ids or contacts per store call.
const storeChunk = 500

// Options configures Run.
type Options struct {
	// Days is the lookback in days (default DefaultDays, at most MaxDays).
	// A lookback longer than 31 days is read in parts of 31 days.
	Days int
	// Via is ViaJobs (default) or ViaQuery.
	Via string
	// PollInterval is the wait between two status polls of a job (default
	// genesys.JobPollInterval).
	PollInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Known are ids Run counts as known and does not read although the
	// store holds no contact of that id: a scheduled cycle passes the ids
	// its ledger records as merged away (engine.AppliedMerges), whose
	// canonical contact the store holds, so that the conversations of a
	// merged duplicate do not make every later discovery read it again.
	Known []string
	// Reread is how long an id that a discovery found missing (404) or
	// merged away is not read again, when the store remembers such ids
	// (UnreadableStore): 0 is DefaultReread, a negative one reads every id.
	Reread time.Duration
}

// DefaultReread is the default Options.Reread: a week. A deleted or
// merged-away contact stays so; the week bounds what a 404 the platform
// gave by mistake (a contact read just as it was written) costs.
const DefaultReread = 7 * 24 * time.Hour

// UnreadableStore is a store that remembers the ids a discovery could not
// read as themselves (store.Store's backends do): Run skips those read
// within Options.Reread and records those it finds.
type UnreadableStore interface {
	// UnreadableSince returns, of ids, those recorded as read at or after
	// since, with their outcome ("missing" or "resolved").
	UnreadableSince(ctx context.Context, ids []string, since time.Time) (map[string]string, error)
	// RecordUnreadable records missing (404) and resolved (merged away)
	// ids as read at at.
	RecordUnreadable(ctx context.Context, at time.Time, missing, resolved []string) error
}

// Result is what Run did.
type Result struct {
	// Interval is the lookback read.
	Interval Interval `json:"interval"`
	// Via is how the conversations were read (ViaJobs or ViaQuery).
	Via string `json:"via"`
	// Conversations counts the distinct conversations read.
	Conversations int `json:"conversations"`
	// ContactIDs counts the distinct external contact ids they name.
	ContactIDs int `json:"contactIds"`
	// Known counts those already in the store (the scan listed them, or a
	// discovery before this one stored them) or in Options.Known.
	Known int `json:"known"`
	// Remembered counts the ids not read again because a discovery within
	// Options.Reread found them missing or merged away (UnreadableStore).
	Remembered int `json:"remembered"`
	// Read counts the ids read in bulk (ContactIDs − Known − Remembered).
	Read int `json:"read"`
	// Found counts the contacts stored by this run (new to the store), and
	// FoundByType splits them by type (Ephemeral, Identified, and Curated
	// ones the scan had not reached).
	Found       int            `json:"found"`
	FoundByType map[string]int `json:"foundByType"`
	// FoundIDs are the ids of the contacts stored, sorted.
	FoundIDs []string `json:"-"`
	// Resolved counts ids that were merged away: the bulk read answered
	// with their canonical contact (stored when new, else already known).
	Resolved int `json:"resolved"`
	// Missing counts ids the platform no longer has (deleted, or aged out:
	// auto-created contacts expire about 60 days after their last
	// interaction).
	Missing int `json:"missing"`
	// Failed counts ids whose bulk result was another error.
	Failed int `json:"failed"`
	// AnalyticsRequests counts the jobs' and queries' requests (job
	// submissions, status polls, results pages and deletes, or query
	// pages); BulkRequests the bulk reads (batches of the client's bulk
	// size). Retries after throttling or a 5xx are not in these counts.
	AnalyticsRequests int `json:"analyticsRequests"`
	BulkRequests      int `json:"bulkRequests"`
	// DataAvailability is the earliest dataAvailabilityDate a job reported
	// (jobs only): the data lake holds the conversations before it. Those
	// after it are read with the details query (TailQueries counts those
	// queries, their requests are in AnalyticsRequests).
	DataAvailability time.Time `json:"dataAvailability,omitzero"`
	TailQueries      int       `json:"tailQueries"`
}

// Interval is a lookback, as JSON.
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Requests returns AnalyticsRequests + BulkRequests.
func (r Result) Requests() int { return r.AnalyticsRequests + r.BulkRequests }

// RequestsPerFound returns the requests spent per contact found (0 when
// none was found).
func (r Result) RequestsPerFound() float64 {
	if r.Found == 0 {
		return 0
	}
	return float64(r.Requests()) / float64(r.Found)
}

// Validate refuses options Run cannot use, naming the field (EINVALID).
func (o Options) Validate() error {
	switch {
	case o.Days < 0 || o.Days > MaxDays:
		return cm.Errorf(cm.EINVALID, "discover: days %d is out of range 1..%d", o.Days, MaxDays)
	case o.Via != "" && o.Via != ViaJobs && o.Via != ViaQuery:
		return cm.Errorf(cm.EINVALID, "discover: via %q must be %s or %s", o.Via, ViaJobs, ViaQuery)
	case o.PollInterval < 0:
		return cm.Errorf(cm.EINVALID, "discover: poll interval %v is negative", o.PollInterval)
	}
	return nil
}

// Run reads the conversations of the last opts.Days days, collects the
// external contact ids their participants carry, reads in bulk the ones
// the store does not hold and upserts the contacts found, so that match
// compares them with the curated contacts (each contact's type is in its
// record). A store that is an UnreadableStore remembers the ids the bulk
// read found missing or merged away, and Run does not read those again
// within Options.Reread. It changes nothing on the platform and, on an
// error, keeps what it stored before it.
func Run(ctx context.Context, api *genesys.Client, st cm.Store, opts Options) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	opts.Days = cmp.Or(opts.Days, DefaultDays)
	opts.Via = cmp.Or(opts.Via, ViaJobs)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	end := opts.Now().UTC()
	iv := genesys.Interval{Start: end.Add(-time.Duration(opts.Days) * 24 * time.Hour), End: end}
	res := Result{Interval: Interval{iv.Start, iv.End}, Via: opts.Via, FoundByType: map[string]int{}}

	ids, err := conversationContacts(ctx, api, iv, opts, &res)
	if err != nil {
		return res, err
	}
	res.ContactIDs = len(ids)
	unknown, err := notStored(ctx, st, ids)
	if err != nil {
		return res, err
	}
	if len(opts.Known) > 0 {
		known := make(map[string]bool, len(opts.Known))
		for _, id := range opts.Known {
			known[id] = true
		}
		unknown = slices.DeleteFunc(unknown, func(id string) bool { return known[id] })
	}
	res.Known = len(ids) - len(unknown)
	us, remembers := st.(UnreadableStore)
	if remembers && opts.Reread >= 0 && len(unknown) > 0 {
		rem, err := us.UnreadableSince(ctx, unknown, end.Add(-cmp.Or(opts.Reread, DefaultReread)))
		if err != nil {
			return res, fmt.Errorf("discover: read the unreadable ids: %w", err)
		}
		unknown = slices.DeleteFunc(unknown, func(id string) bool { _, ok := rem[id]; return ok })
		res.Remembered = len(rem)
	}
	res.Read = len(unknown)
	if len(unknown) == 0 {
		return res, nil
	}
	size := max(api.Contacts.BulkSize(), 1)
	results, _, err := api.Contacts.BulkGet(ctx, unknown)
	res.BulkRequests = (len(unknown) + size - 1) / size
	if err != nil {
		return res, fmt.Errorf("discover: bulk read of %d contacts: %w", len(unknown), err)
	}
	var found []cm.Contact
	var missing, resolved []string
	picked := map[string]bool{}
	for _, r := range results {
		switch {
		case r.Success && r.Entity != nil:
			c := r.Entity
			if c.ID != r.ID {
				res.Resolved++
				if r.ID != "" {
					resolved = append(resolved, r.ID)
				}
			}
			if picked[c.ID] {
				continue
			}
			picked[c.ID] = true
			found = append(found, *c)
		case r.Status == 404 || (r.Error != nil && (r.Error.Status == 404 || r.Error.Code == "genesys.result.missing")):
			res.Missing++
			if r.ID != "" {
				missing = append(missing, r.ID)
			}
		default:
			res.Failed++
		}
	}
	// A resolved id's canonical contact may already be stored.
	canon := make([]string, 0, len(found))
	for _, c := range found {
		canon = append(canon, c.ID)
	}
	fresh, err := notStored(ctx, st, canon)
	if err != nil {
		return res, err
	}
	isFresh := map[string]bool{}
	for _, id := range fresh {
		isFresh[id] = true
	}
	found = slices.DeleteFunc(found, func(c cm.Contact) bool { return !isFresh[c.ID] })
	for chunk := range slices.Chunk(found, storeChunk) {
		if err := st.UpsertContacts(ctx, chunk); err != nil {
			return res, fmt.Errorf("discover: store contacts: %w", err)
		}
		for _, c := range chunk {
			res.Found++
			res.FoundByType[cmp.Or(c.Type, "unknown")]++
			res.FoundIDs = append(res.FoundIDs, c.ID)
		}
	}
	slices.Sort(res.FoundIDs)
	if remembers {
		if err := us.RecordUnreadable(ctx, end, uniq(missing), uniq(resolved)); err != nil {
			return res, fmt.Errorf("discover: record the unreadable ids: %w", err)
		}
	}
	return res, nil
}

// uniq returns ids sorted, without repeats.
func uniq(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// conversationContacts reads the conversations of iv (in parts of at most
// 31 days) and returns the distinct external contact ids their
// participants name, sorted.
func conversationContacts(ctx context.Context, api *genesys.Client, iv genesys.Interval, opts Options, res *Result) ([]string, error) {
	convs := map[string]bool{}
	ids := map[string]bool{}
	collect := func(c *genesys.AnalyticsConversation) error {
		if c.ConversationID != "" {
			if convs[c.ConversationID] {
				return nil // a part's neighbour returned it too
			}
			convs[c.ConversationID] = true
		}
		for _, p := range c.Participants {
			if p.ExternalContactID != "" {
				ids[p.ExternalContactID] = true
			}
		}
		return nil
	}
	for _, part := range split(iv) {
		switch opts.Via {
		case ViaJobs:
			st, err := api.Analytics.EachJobConversation(ctx, &genesys.AsyncConversationQuery{
				Interval: part.String(), Order: "asc", OrderBy: "conversationStart",
				SegmentFilters: genesys.ContactSegmentFilters(),
			}, opts.PollInterval, collect)
			res.AnalyticsRequests += st.Requests()
			if d := st.DataAvailability; !d.IsZero() && (res.DataAvailability.IsZero() || d.Before(res.DataAvailability)) {
				res.DataAvailability = d
			}
			if err != nil {
				return nil, fmt.Errorf("discover: conversations of %s (details job): %w", part, err)
			}
			// The data lake is behind: the query, which reads live data,
			// reads what the job could not see (not less than a second:
			// dates travel in milliseconds).
			if d := st.DataAvailability; !d.IsZero() && d.After(part.Start) && part.End.Sub(d) >= time.Second {
				tail := genesys.Interval{Start: d, End: part.End}
				n, err := api.Analytics.EachQueryConversation(ctx, &genesys.ConversationQuery{
					Interval: tail.String(), Order: "asc", OrderBy: "conversationStart",
					SegmentFilters: genesys.ContactSegmentFilters(),
				}, collect)
				res.AnalyticsRequests += n
				res.TailQueries++
				if err != nil {
					return nil, fmt.Errorf("discover: conversations of %s after the data lake's availability (details query): %w", tail, err)
				}
			}
		default:
			n, err := api.Analytics.EachQueryConversation(ctx, &genesys.ConversationQuery{
				Interval: part.String(), Order: "asc", OrderBy: "conversationStart",
				SegmentFilters: genesys.ContactSegmentFilters(),
			}, collect)
			res.AnalyticsRequests += n
			if err != nil {
				return nil, fmt.Errorf("discover: conversations of %s (details query): %w", part, err)
			}
		}
	}
	res.Conversations = len(convs)
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}

// split cuts iv into parts of at most genesys.MaxAnalyticsInterval from its
// start. Unlike genesys.SplitInterval it does not start at midnight: a
// conversation of a day two parts touch comes in both and is counted once,
// and the default lookback of 31 days is one part.
func split(iv genesys.Interval) []genesys.Interval {
	var out []genesys.Interval
	for s := iv.Start; s.Before(iv.End); s = s.Add(genesys.MaxAnalyticsInterval) {
		out = append(out, genesys.Interval{Start: s, End: minTime(s.Add(genesys.MaxAnalyticsInterval), iv.End)})
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// notStored returns the ids of ids the store does not hold, in order.
func notStored(ctx context.Context, st cm.Store, ids []string) ([]string, error) {
	var out []string
	for chunk := range slices.Chunk(ids, storeChunk) {
		have, err := st.Contacts(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("discover: read the store: %w", err)
		}
		for _, id := range chunk {
			if _, ok := have[id]; !ok {
				out = append(out, id)
			}
		}
	}
	return out, nil
}
