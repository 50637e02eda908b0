package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/discover"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/store"
)

type discoverOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	StoreName func() string
	Client    func(ctx context.Context, maxRate int, observe func(genesys.RequestInfo)) (*genesys.Client, error)
	Metrics   *engine.Metrics
	Now       func() time.Time

	days   int
	via    string
	poll   time.Duration
	asJSON bool
}

func newCmdDiscover(f *Factory, runF func(*discoverOptions) error) *cobra.Command {
	o := &discoverOptions{IO: f.IO, OpenStore: f.OpenStore, StoreName: f.StoreName,
		Client: f.Client, Metrics: f.Metrics, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "discover",
		Short: "Find the contacts scan cannot see through the conversations that name them",
		Long: `Scan and search list no automatically created (Ephemeral, Identified) contact: the
multi-channel duplicates of curated contacts hide among them. Discover reads the analytics
conversation details of the last --days days (in parts of 31 days), collects the external
contact ids their participants carry, reads the ones the store does not hold in bulk and
stores them, so that 'contactmerge match' compares them with the curated contacts.

--via jobs (the default) uses the asynchronous details jobs, 1000 conversations a request;
--via query the synchronous details query, 200 a request. Run it after a scan, into the
same store; it changes nothing on the platform.`,
		Example: `  contactmerge scan && contactmerge discover && contactmerge match
  contactmerge discover --days 62 --via query --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.days < 1 || o.days > discover.MaxDays {
				return usageErrorf("--days %d is out of range 1..%d", o.days, discover.MaxDays)
			}
			if o.via != discover.ViaJobs && o.via != discover.ViaQuery {
				return usageErrorf("--via %q must be %s or %s", o.via, discover.ViaJobs, discover.ViaQuery)
			}
			if o.poll <= 0 {
				return usageErrorf("--poll %v must be positive", o.poll)
			}
			if runF != nil {
				return runF(o)
			}
			return discoverRun(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.days, "days", discover.DefaultDays, "lookback in days (1..366)")
	cmd.Flags().StringVar(&o.via, "via", discover.ViaJobs, "read conversations with the details jobs (jobs) or the details query (query)")
	cmd.Flags().DurationVar(&o.poll, "poll", genesys.JobPollInterval, "wait between two status polls of a details job")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the result as one JSON object")
	return cmd
}

// discoverResult is what discover prints.
type discoverResult struct {
	Organization cm.Org          `json:"organization"`
	Discovery    discover.Result `json:"discovery"`
	// HTTPRequests counts every API request the command sent (the token's
	// and the organization check's, retries included).
	HTTPRequests     int64   `json:"httpRequests"`
	RequestsPerFound float64 `json:"requestsPerContactFound"`
	Elapsed          float64 `json:"elapsedSeconds"`
	StoreTotal       int64   `json:"contactsInStore"`
}

func discoverRun(ctx context.Context, o *discoverOptions) error {
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var sent atomic.Int64
	reqs, observe := engine.NewRequestLog(st), engine.NewObserver(o.Metrics, nil)
	client, err := o.Client(ctx, 0, func(ri genesys.RequestInfo) {
		sent.Add(1)
		observe(ri)
		reqs.Observe(ri)
	})
	if err != nil {
		return err
	}
	org, _, err := checkOrg(ctx, st, o.StoreName(), client, false, "discover")
	if err != nil {
		return err
	}
	defer func() { _ = reqs.Flush(context.WithoutCancel(ctx)) }()
	start := o.Now()
	fmt.Fprintf(o.IO.ErrOut, "reading the conversations of the last %d days (details %s)…\n", o.days, o.via)
	res, err := discover.Run(ctx, client, st, discover.Options{Days: o.days, Via: o.via, PollInterval: o.poll, Now: o.Now})
	if err != nil {
		return err
	}
	out := discoverResult{Organization: org, Discovery: res, HTTPRequests: sent.Load(),
		RequestsPerFound: res.RequestsPerFound(), Elapsed: o.Now().Sub(start).Seconds()}
	if out.StoreTotal, err = st.CountContacts(ctx); err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(o.IO.Out, out)
	}
	w := o.IO.Out
	fmt.Fprintf(w, "discovery in %s, %s to %s (details %s):\n", org,
		res.Interval.Start.Format(time.DateOnly), res.Interval.End.Format(time.DateOnly), res.Via)
	remembered := ""
	if res.Remembered > 0 {
		remembered = fmt.Sprintf(", %d found missing or merged away by a discovery in the last %d days (not read again)",
			res.Remembered, int(discover.DefaultReread.Hours()/24))
	}
	fmt.Fprintf(w, "  %d conversations name %d external contacts: %d already in the store%s, %d read in bulk\n",
		res.Conversations, res.ContactIDs, res.Known, remembered, res.Read)
	fmt.Fprintf(w, "  %d contacts found and stored%s", res.Found, byType(res.FoundByType))
	if res.Resolved+res.Missing+res.Failed > 0 {
		fmt.Fprintf(w, "; %d merged-away ids resolved, %d no longer exist, %d failed", res.Resolved, res.Missing, res.Failed)
	}
	fmt.Fprintln(w)
	if res.TailQueries > 0 {
		fmt.Fprintf(w, "  the analytics data lake held the conversations until %s: the later ones were read with the details query\n",
			res.DataAvailability.Format(time.RFC3339))
	}
	perFound := "no contact found"
	if res.Found > 0 {
		perFound = fmt.Sprintf("%.3f per contact found", res.RequestsPerFound())
	}
	fmt.Fprintf(w, "  %d requests (%d analytics, %d bulk reads): %s; %d contacts in the store\n",
		res.Requests(), res.AnalyticsRequests, res.BulkRequests, perFound, out.StoreTotal)
	if res.Found > 0 {
		fmt.Fprintln(w, "run 'contactmerge match' to compare them with the curated contacts")
	}
	return nil
}

// byType writes " (Identified 12, Ephemeral 3)", types in name order.
func byType(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	types := make([]string, 0, len(m))
	for t := range m {
		types = append(types, t)
	}
	slices.Sort(types)
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%s %d", t, m[t])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
