package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/sandbox"
)

type demoOptions struct {
	Factory *Factory // the demo derives its own (withEnv) for its store and sandbox

	contacts     int
	seed         int64
	asJSON       bool
	rateLimit    int
	faults       string
	activityRate float64
	keep         bool
	faultSpec    sandbox.Faults // faults, parsed
}

func newCmdDemo(f *Factory, runF func(*demoOptions) error) *cobra.Command {
	o := &demoOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try everything against an emulated organization: scan → match → approve → run",
		Long: `Starts an in-process sandbox (an emulated Genesys Cloud organization with known duplicate
clusters, a few contacts in active conversations, and a few injected faults), a temporary
SQLite store, and runs the whole pipeline against it: scan, match, approve the groups above
the default confidence threshold, and run. The summary checks the result against the
sandbox's ground truth: detection precision and recall, groups merged, quarantined and failed,
API requests per merged group, and whether every merge happened exactly once.

The run merges without asking (as 'run --yes' does): the organization and the store are the
demo's own and disappear with it. --db and CONTACTMERGE_DB are ignored.`,
		Example: `  contactmerge demo
  contactmerge demo --contacts 10000 --seed 7 --json
  contactmerge demo --faults throttle429=0.02,timeout504=0.05 --keep`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.contacts < 10 {
				return cm.Errorf(cm.EINVALID, "--contacts must be at least 10")
			}
			var err error
			if o.faultSpec, err = parseFaultsFlag(o.faults); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return demoRun(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.contacts, "contacts", 2000, "contacts in the synthetic organization")
	fl.Int64Var(&o.seed, "seed", 1, "generator seed")
	fl.BoolVar(&o.asJSON, "json", false, "print one JSON object")
	fl.IntVar(&o.rateLimit, "rate-limit", 300, "the sandbox's requests per minute per token")
	fl.StringVar(&o.faults, "faults", "timeout504=0.02,error503=0.02,reset=0.01", "faults the sandbox injects")
	fl.Float64Var(&o.activityRate, "activity-rate", 0.02, "fraction of contacts in an active conversation")
	fl.BoolVar(&o.keep, "keep", false, "keep the temporary store and print its path")
	return cmd
}

// DemoResult is the demo's summary (--json prints it).
type DemoResult struct {
	Contacts    int     `json:"contacts"`
	TrueGroups  int     `json:"trueDuplicateClusters"`
	Found       int     `json:"groupsFound"`
	Approved    int     `json:"groupsApproved"`
	Precision   float64 `json:"detectionPrecision"`
	Recall      float64 `json:"detectionRecall"`
	F1          float64 `json:"detectionF1"`
	Merged      int     `json:"groupsMerged"`
	Quarantined int     `json:"groupsQuarantined"`
	Failed      int     `json:"groupsFailed"`
	Dropped     int     `json:"groupsDropped"`
	Split       int     `json:"groupsSplit"`
	// Requests of the run (preflight and merges; scan excluded).
	RunRequests       float64 `json:"runRequests"`
	RequestsPerMerged float64 `json:"requestsPerMergedGroup"`
	ScanRequests      int     `json:"scanRequests"`
	Throttled         float64 `json:"throttled"`
	FaultsInjected    int     `json:"faultsInjected"`
	Verified          float64 `json:"ambiguousOutcomesVerified"`
	PlatformMerges    int     `json:"platformMerges"`
	DoubleMerged      int     `json:"contactsMergedTwice"`
	ExactlyOnce       bool    `json:"exactlyOnce"`
	ElapsedSeconds    float64 `json:"elapsedSeconds"`
	Store             string  `json:"store,omitempty"`
}

func demoRun(ctx context.Context, o *demoOptions) error {
	f := o.Factory
	start := f.Now()
	since := func(t time.Time) time.Duration { return f.Now().Sub(t).Round(time.Millisecond) }
	say := func(format string, args ...any) {
		if !o.asJSON {
			fmt.Fprintf(f.IO.Out, format+"\n", args...)
		}
	}

	// 1. The emulated organization, served on a loopback port.
	scfg := sandbox.DefaultConfig()
	scfg.Contacts, scfg.Seed, scfg.RateLimit, scfg.ActivityRate = o.contacts, o.seed, o.rateLimit, o.activityRate
	scfg.GatewayTimeout, scfg.Logger, scfg.Faults = time.Second, f.Logger, o.faultSpec
	sb, err := sandbox.New(scfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			f.Logger.Error("demo sandbox", "err", err)
		}
	}()
	defer func() {
		srv.Close()
		<-served
	}()
	base := "http://" + ln.Addr().String()
	say("sandbox: %d contacts at %s (%d duplicate clusters, %d contacts busy in a conversation, limit %d requests/min, faults %s)",
		sb.Len(), base, len(sb.Truth()), len(sb.ActiveContacts()), o.rateLimit, o.faults)

	// 2. A temporary SQLite store. From here on the demo is an ordinary
	// user of the Factory whose environment names that store and the
	// sandbox.
	dir, err := os.MkdirTemp("", "contactmerge-demo-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	dbPath := filepath.Join(dir, "demo.db")
	df := f.withEnv(map[string]string{
		"CONTACTMERGE_DB":                 dbPath,
		"GENESYSCLOUD_REGION":             base,
		"GENESYSCLOUD_OAUTHCLIENT_ID":     scfg.ClientID,
		"GENESYSCLOUD_OAUTHCLIENT_SECRET": scfg.ClientSecret,
	})
	mcfg := match.DefaultConfig()
	st, err := df.CreateStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	// 3. Scan, counting its requests apart from the run's, into a store
	// bound to the sandbox's organization.
	scanMet := engine.NewMetrics()
	scanReqs, scanObserve := engine.NewRequestLog(st), engine.NewObserver(scanMet, nil)
	scanClient, err := df.Client(ctx, o.rateLimit, func(ri genesys.RequestInfo) {
		scanObserve(ri)
		scanReqs.Observe(ri)
	})
	if err != nil {
		return err
	}
	t := f.Now()
	if _, _, err := checkOrg(ctx, st, df.StoreName(), scanClient, true, "scan"); err != nil {
		return err
	}
	state, err := engine.Scan(ctx, scanClient, st, engine.ScanOptions{Now: f.Now})
	if ferr := scanReqs.Flush(context.WithoutCancel(ctx)); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	res := DemoResult{Contacts: int(state.Contacts), TrueGroups: len(sb.Truth()), ScanRequests: int(scanMet.Get("contactmerge_requests_total"))}
	say("scan:  %d contacts in %d pages (%s)", state.Contacts, state.Pages, since(t))

	// 4. Match and approve by policy.
	t = f.Now()
	mres, err := match.Run(ctx, st, mcfg)
	if err != nil {
		return err
	}
	if _, err := st.SaveProposals(ctx, mres.Groups, "match"); err != nil {
		return err
	}
	found := make([][]string, len(mres.Groups))
	for i, g := range mres.Groups {
		found[i] = g.Members
	}
	res.Found = len(mres.Groups)
	res.Precision, res.Recall, res.F1, _, _, _ = match.PairwiseScores(found, sb.Truth())
	if res.Approved, err = review.ApproveAbove(ctx, st, mcfg.ApproveThreshold, "demo", f.Now); err != nil {
		return err
	}
	say("match: %d groups found in %s — precision %.4f, recall %.4f against the ground truth; %d approved (confidence ≥ %.3f)",
		res.Found, since(t), res.Precision, res.Recall, res.Approved, mcfg.ApproveThreshold)

	// 5. Run, as 'run --yes' would: the same organization check and plan.
	ro := defaultRunOptions()
	ro.settle = 3 * time.Second // the sandbox finishes a background merge within seconds
	ro.yes = true
	p, err := buildPipeline(ctx, df, st, ro, func(obs func(genesys.RequestInfo)) (*genesys.Client, error) {
		return df.Client(ctx, o.rateLimit, obs)
	})
	if err != nil {
		return err
	}
	t = f.Now()
	_, rl, err := checkOrg(ctx, st, df.StoreName(), p.api, false, "")
	if err != nil {
		return flushed(ctx, df, p, err)
	}
	plan, err := buildRunPlan(ctx, st, ro, f.Now(), rl, false)
	if err != nil {
		return flushed(ctx, df, p, err)
	}
	say("plan:  %s (merges are permanent; the sandbox's are the demo's own)", plan.summaryLine())
	if err := confirmRun(df.IO, plan, ro.yes); err != nil {
		return flushed(ctx, df, p, err)
	}
	sum, err := runEngine(ctx, df, p, false)
	if err != nil {
		return err
	}
	res.Merged, res.Quarantined, res.Failed = sum.Counts[cm.StateMerged], sum.Counts[cm.StateQuarantined], sum.Counts[cm.StateFailed]
	res.Dropped, res.Split = sum.Counts[cm.StateDropped], sum.Counts[cm.StateSplit]
	res.RunRequests, res.RequestsPerMerged, res.Throttled = sum.Requests, sum.RequestsPerMerged, sum.Throttled
	res.Verified = f.Metrics.Get("contactmerge_verify_requests_total")
	say("run:   %d groups merged, %d quarantined (busy contacts; retried later), %d failed, in %s",
		res.Merged, res.Quarantined, res.Failed, since(t))

	// 6. Check against the sandbox: every merge exactly once.
	merged, err := st.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateMerged}})
	if err != nil {
		return err
	}
	checkExactlyOnce(&res, sb, merged, ro.maxPerRequest)
	res.ElapsedSeconds = f.Now().Sub(start).Seconds()
	if o.keep {
		res.Store = dbPath
	}
	if o.asJSON {
		return writeJSON(f.IO.Out, res)
	}
	say("check: %d merges on the platform for %d merged groups, no contact merged twice: %v; %d faults injected, %.0f verification reads",
		res.PlatformMerges, res.Merged, res.ExactlyOnce, res.FaultsInjected, res.Verified)
	say("cost:  %.0f API requests for the run, %.2f per merged group (preflight included, scan excluded: %d requests), %.0f throttled",
		res.RunRequests, res.RequestsPerMerged, res.ScanRequests, res.Throttled)
	say("done in %s.", since(start))
	if o.keep {
		say("store kept at %s: CONTACTMERGE_DB=%s contactmerge report", dbPath, dbPath)
	}
	return nil
}

// checkExactlyOnce fills the sandbox's side of res: the faults it injected,
// the merges it applied, the contacts merged more than once, and whether
// the merges are exactly the rounds the merged groups needed.
func checkExactlyOnce(res *DemoResult, sb *sandbox.Sandbox, merged []cm.Group, maxPerRequest int) {
	for _, n := range sb.Stats().Faults {
		res.FaultsInjected += n
	}
	seen := map[string]int{}
	for _, op := range sb.Oplog() {
		if op.Op == "merge" || op.Op == "merge2" {
			res.PlatformMerges++
			for _, id := range op.Inputs {
				seen[id]++
			}
		}
	}
	for _, n := range seen {
		if n > 1 {
			res.DoubleMerged++
		}
	}
	rounds := 0
	for _, g := range merged {
		rounds += engine.Rounds(len(g.Members), maxPerRequest)
	}
	res.ExactlyOnce = res.DoubleMerged == 0 && res.PlatformMerges == rounds
}
