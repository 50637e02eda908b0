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
	full        bool   // --full: block and score every contact
	reestimate  bool   // --reestimate: estimate the model again
}

// matchStateStore is a store that keeps match states (store.Store's
// backends do): match is incremental on it.
type matchStateStore interface {
	match.StateStore
	SaveMatch(ctx context.Context, groups []cm.Group, unchanged []string, state map[string][]byte, consumed []int64, actor string) (cm.ProposalResult, error)
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
the sorted member ids). --config FILE overlays a JSON configuration (see README).

A match keeps its model and state in the store. The next match is incremental when that state
exists, the configuration is the same and the data drifted little (under 10% of the contacts
new, edited or deleted since the model was estimated): only the contacts new, edited (a new
modifyDate; a contact without one is compared by content) or deleted since, those whose
decisions changed, and the groups they touch, are blocked, scored and clustered again; every other group, with its id and decisions, stays. The
result is the one a full match with the kept model gives. It prints which mode ran and why.
--full blocks and scores every contact (with the kept model); --reestimate estimates the
model again (EM) and matches every contact.`,
		Example: `  contactmerge match
  contactmerge match --config match.json --json
  contactmerge match --auto-approve --actor policy-bot
  contactmerge match --truth truth.json --json     # precision, recall, loss per stage, calibration
  contactmerge match --full                        # every contact, with the kept model
  contactmerge match --reestimate                  # estimate the model again`,
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
	cmd.Flags().BoolVar(&o.full, "full", false, "match every contact (not only the changed ones), with the kept model")
	cmd.Flags().BoolVar(&o.reestimate, "reestimate", false, "estimate the model again (EM, u, term frequencies) and match every contact")
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
	var res *match.Result
	var saved cm.ProposalResult
	if ms, ok := st.(matchStateStore); ok {
		if res, saved, err = matchWithState(ctx, o, ms, cfg); err != nil {
			return err
		}
	} else {
		if res, err = match.Run(ctx, st, cfg); err != nil {
			return fmt.Errorf("match: %w", err)
		}
		if saved, err = st.SaveProposals(ctx, res.Groups, "match"); err != nil {
			return fmt.Errorf("match: saving groups: %w", err)
		}
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
		out := map[string]any{"stats": res.Stats, "saved": saved, "autoApproved": approved, "elapsedSeconds": elapsed.Seconds(), "mode": res.Mode}
		if res.Mode.Incremental {
			out["changes"] = res.Changes
		}
		if ev != nil {
			out["evaluation"] = ev
		}
		return writeJSON(o.IO.Out, out)
	}
	out := o.IO.Out
	s := res.Stats
	if res.Mode.Reason != "" {
		fmt.Fprintln(out, res.Mode.String())
	}
	if c := res.Changes; res.Mode.Incremental {
		fmt.Fprintf(out, "changed since the last match: %d new, %d edited, %d deleted contacts, %d contacts with changed decisions; %d contacts re-clustered, %d pairs scored\n",
			c.New, c.Edited, c.Deleted, c.Constraints, c.Affected, c.ScoredPairs)
	}
	fmt.Fprintf(out, "matched %d contacts in %s: %d candidate pairs, %d comparisons, %d links → %d groups",
		s.Contacts, elapsed.Round(time.Millisecond), s.CandidatePairs, s.Comparisons, s.Links, s.Groups)
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

// matchWithState runs the match on a store that keeps match states:
// incremental when it can (see match.Match), and saves the groups with the
// new state in one transaction. --truth needs every group and scored
// pair: it makes the match full.
func matchWithState(ctx context.Context, o *matchOptions, st matchStateStore, cfg match.Config) (*match.Result, cm.ProposalResult, error) {
	var saved cm.ProposalResult
	t0 := time.Now()
	full := o.full || o.truth != ""
	prev, writes, unusable, err := match.LoadState(ctx, st, !full && !o.reestimate)
	if err != nil {
		return nil, saved, err
	}
	if unusable != nil {
		// An unreadable state (another version's) is not kept: full match.
		fmt.Fprintf(o.IO.ErrOut, "warning: the stored match state is not usable (%v); matching every contact\n", unusable)
	}
	loaded := time.Since(t0)
	res, state, err := match.Match(ctx, st, cfg, match.MatchOptions{Prev: prev, Writes: writes, Full: full, Reestimate: o.reestimate})
	if err != nil {
		return nil, saved, fmt.Errorf("match: %w", err)
	}
	res.Stats.Durations["loadState"] = loaded
	t0 = time.Now()
	if o.truth != "" && res.Mode.Reason == "--full" {
		res.Mode.Reason = "--truth (evaluating needs every scored pair)"
	}
	enc, err := state.Parts()
	if err != nil {
		return nil, saved, err
	}
	res.Stats.Durations["encodeState"] = time.Since(t0)
	t0 = time.Now()
	if saved, err = st.SaveMatch(ctx, res.Groups, res.Unchanged, enc, state.Consumed(), "match"); err != nil {
		return nil, saved, fmt.Errorf("match: saving groups: %w", err)
	}
	res.Stats.Durations["save"] = time.Since(t0)
	return res, saved, nil
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
