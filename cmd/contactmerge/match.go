package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

type matchOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	Now       func() time.Time

	config      string // --config FILE
	autoApprove bool
	asJSON      bool
	actor       string // --actor, else $USER
	truth       string // --truth FILE: evaluate against known clusters
}

func newCmdMatch(f *Factory, runF func(*matchOptions) error) *cobra.Command {
	o := &matchOptions{IO: f.IO, OpenStore: f.OpenStore, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "match",
		Short: "Find duplicate groups in the snapshot (proposed for review)",
		Long: `Normalizes every contact, generates candidate pairs by several blocking keys, scores them
with Fellegi-Sunter weights learned from the data (EM), clusters them into groups with
protection against chaining, picks survivors and computes each merged record. Groups start
'proposed'. Re-running keeps the review decisions of unchanged groups (group ids are a hash of
the sorted member ids). --config FILE overlays a JSON configuration (see README).`,
		Example: `  contactmerge match
  contactmerge match --config match.json --json
  contactmerge match --auto-approve --actor policy-bot
  contactmerge match --truth truth.json --json     # precision, recall, loss per stage, calibration`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.actor = actor(f, o.actor)
			if runF != nil {
				return runF(o)
			}
			return matchRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.config, "config", "", "JSON matcher configuration overlaying the defaults")
	cmd.Flags().BoolVar(&o.autoApprove, "auto-approve", false, "approve new groups at or above the configured approve threshold (policy)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the statistics as JSON")
	cmd.Flags().StringVar(&o.actor, "actor", "", "who is recorded for auto-approvals (default $USER)")
	cmd.Flags().StringVar(&o.truth, "truth", "", "evaluate the groups against known true clusters (JSON [[ids]] or CSV contactId,entity): precision, recall, the loss per stage and a reliability table")
	return cmd
}

func loadMatchConfig(path string) (match.Config, error) {
	if path == "" {
		return match.DefaultConfig(), nil
	}
	cfg, err := match.LoadConfig(path)
	if err != nil {
		return cfg, cm.Errorf(cm.EINVALID, "%v", err)
	}
	return cfg, nil
}

func matchRun(ctx context.Context, o *matchOptions) error {
	cfg, err := loadMatchConfig(o.config)
	if err != nil {
		return err
	}
	var truth [][]string
	if o.truth != "" {
		if truth, err = readTruth(o.truth); err != nil {
			return err
		}
		cfg.ReportPairs = true // the loss per stage and the pair reliability need the scored pairs
	}
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	start := o.Now()
	res, err := match.Run(ctx, st, cfg)
	if err != nil {
		return fmt.Errorf("match: %w", err)
	}
	saved, err := st.SaveProposals(ctx, res.Groups, "match")
	if err != nil {
		return fmt.Errorf("match: saving groups: %w", err)
	}
	approved := 0
	if o.autoApprove {
		if approved, err = review.ApproveAbove(ctx, st, cfg.ApproveThreshold, o.actor, o.Now); err != nil {
			return err
		}
	}
	elapsed := o.Now().Sub(start)
	var ev *match.Evaluation
	if truth != nil {
		e := match.Evaluate(res, truth)
		ev = &e
	}
	if o.asJSON {
		out := map[string]any{"stats": res.Stats, "saved": saved, "autoApproved": approved, "elapsedSeconds": elapsed.Seconds()}
		if ev != nil {
			out["evaluation"] = ev
		}
		return writeJSON(o.IO.Out, out)
	}
	out := o.IO.Out
	s := res.Stats
	fmt.Fprintf(out, "matched %d contacts in %s: %d candidate pairs, %d comparisons, %d links → %d groups",
		s.Contacts, elapsed.Round(time.Millisecond), s.CandidatePairs, s.Comparisons, s.Links, len(res.Groups))
	if s.SkippedBlocks > 0 {
		fmt.Fprintf(out, " (%d oversized blocks skipped, e.g. switchboard numbers)", s.SkippedBlocks)
	}
	fmt.Fprintf(out, "\ngroups: %d new, %d kept with their decisions, %d superseded\n", saved.Created, saved.Kept, saved.Superseded)
	if o.autoApprove {
		fmt.Fprintf(out, "auto-approved %d groups with confidence ≥ %.3f\n", approved, cfg.ApproveThreshold)
	}
	if ev != nil {
		fmt.Fprintf(out, "against %s: %s\nreliability (predicted match probability band → observed share of true pairs):\n%s%s",
			o.truth, ev.String(), match.ReliabilityTable(ev.Reliability), match.ReliabilityTable(ev.HighReliability))
	}
	fmt.Fprintln(out, "next: 'contactmerge plan show' to review, 'contactmerge plan approve' to approve")
	return nil
}

// readTruth reads a --truth file (match.ReadTruth), naming the file in its
// errors (exit 2).
func readTruth(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, cm.Errorf(cm.EINVALID, "--truth: %v", err)
	}
	defer f.Close()
	truth, err := match.ReadTruth(f)
	if err != nil {
		return nil, cm.Errorf(cm.EINVALID, "--truth %s: %v", path, err)
	}
	return truth, nil
}
