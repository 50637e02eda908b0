package main

import (
	"context"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

type planShowOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)
	Getenv    func(string) string

	groupID string // the argument; "" lists groups
	state   string // --state, comma-separated
	states  []cm.GroupState
	limit   int
	sort    string
	// Confidence bounds and the approve threshold; -1: not given.
	minConfidence, maxConfidence, approveThreshold float64
	size, minSize, maxSize                         int
	config                                         string // --config FILE: the matcher configuration
	width                                          int    // --width; 0: from the terminal, $COLUMNS or 120
	asJSON                                         bool
}

func newCmdPlanShow(f *Factory, runF func(*planShowOptions) error) *cobra.Command {
	o := &planShowOptions{IO: f.IO, OpenStore: f.OpenStore, Getenv: f.Getenv, minConfidence: -1, maxConfidence: -1, approveThreshold: -1}
	cmd := &cobra.Command{
		Use:   "show [GROUP]",
		Short: "List groups for review, or show one group: members, survivor rule, merged record, evidence",
		Long: `Without GROUP, lists groups in review order: proposed groups below the approve threshold (those
that need a person) first, least confident first, then the others. --sort, the filters and
--limit change what is listed.

With GROUP, shows the group: why its survivor was chosen (the survivor rule), the members side
by side with the fields where they disagree marked ≠ (in bands of members when they do not fit
the width), the merged record sent as valueOverride with what becomes of every member's value
(kept, moved to a free slot, the same as a kept value, overridden, or not kept and why), and
the match weights that formed the group.

The width is --width, else the terminal's, else $COLUMNS, else 120. Colour is used on a
terminal unless NO_COLOR is set. --config FILE is the matcher configuration the groups were
matched with (its defaultRegion and email rules decide when two numbers or addresses are one,
its approveThreshold which groups need a person).`,
		Example: `  contactmerge plan show
  contactmerge plan show --sort -size --min-size 5
  contactmerge plan show --state quarantined,failed
  contactmerge plan show g_0123456789abcdef0123 --width 100`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("plan show takes at most one group id")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.groupID = args[0]
			}
			if err := o.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return planShowRun(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.state, "state", "", "only groups in these states (comma-separated)")
	fl.IntVar(&o.limit, "limit", 50, "at most this many groups (0: all)")
	fl.StringVar(&o.sort, "sort", "review", "order: review, confidence, -confidence, size, -size, state or id")
	fl.Float64Var(&o.minConfidence, "min-confidence", -1, "only groups with confidence at least X (0..1)")
	fl.Float64Var(&o.maxConfidence, "max-confidence", -1, "only groups with confidence at most X (0..1)")
	fl.IntVar(&o.size, "size", 0, "only groups of exactly N members")
	fl.IntVar(&o.minSize, "min-size", 0, "only groups of at least N members")
	fl.IntVar(&o.maxSize, "max-size", 0, "only groups of at most N members")
	fl.Float64Var(&o.approveThreshold, "approve-threshold", -1, "groups below it need a person (default: the matcher configuration's approveThreshold)")
	fl.StringVar(&o.config, "config", "", "the JSON matcher configuration the groups were matched with")
	fl.IntVar(&o.width, "width", 0, "terminal width in columns (default: the terminal's, else $COLUMNS, else 120)")
	fl.BoolVar(&o.asJSON, "json", false, "print JSON: the list, or the group with its survivorship")
	return cmd
}

// validate checks the flags and fills states.
func (o *planShowOptions) validate(cmd *cobra.Command) error {
	var err error
	if o.states, err = parseStates(o.state); err != nil {
		return err
	}
	if err := review.CheckSort(o.sort); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		v    float64
	}{{"--min-confidence", o.minConfidence}, {"--max-confidence", o.maxConfidence}, {"--approve-threshold", o.approveThreshold}} {
		if cmd.Flags().Changed(c.name[2:]) && (c.v < 0 || c.v > 1) {
			return usageErrorf("%s must be between 0 and 1 (got %g)", c.name, c.v)
		}
	}
	if o.minConfidence >= 0 && o.maxConfidence >= 0 && o.minConfidence > o.maxConfidence {
		return usageErrorf("--min-confidence %g is above --max-confidence %g", o.minConfidence, o.maxConfidence)
	}
	if o.size != 0 && (o.minSize != 0 || o.maxSize != 0) {
		return usageErrorf("give --size or --min-size/--max-size, not both")
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"--size", o.size}, {"--min-size", o.minSize}, {"--max-size", o.maxSize}, {"--limit", o.limit}, {"--width", o.width}} {
		if c.v < 0 {
			return usageErrorf("%s must not be negative (got %d)", c.name, c.v)
		}
	}
	if o.size > 0 {
		o.minSize, o.maxSize = o.size, o.size
	}
	if o.maxSize > 0 && o.minSize > o.maxSize {
		return usageErrorf("--min-size %d is above --max-size %d", o.minSize, o.maxSize)
	}
	return nil
}

// style is the layout of the text views: the width from --width, the
// terminal, $COLUMNS or review.DefaultWidth; colour on a terminal unless
// NO_COLOR is set.
func (o *planShowOptions) style() review.Style {
	s := review.Style{Width: o.width, Color: o.IO.TTY && o.Getenv("NO_COLOR") == ""}
	if s.Width == 0 && o.IO.TTY {
		if fd, ok := o.IO.Out.(interface{ Fd() uintptr }); ok {
			if w, _, err := term.GetSize(int(fd.Fd())); err == nil && w > 0 {
				s.Width = w
			}
		}
	}
	if s.Width == 0 {
		if n, err := strconv.Atoi(o.Getenv("COLUMNS")); err == nil && n > 0 {
			s.Width = n
		}
	}
	if s.Width == 0 {
		s.Width = review.DefaultWidth
	}
	return s
}

func planShowRun(ctx context.Context, o *planShowOptions) error {
	cfg, err := loadMatchConfig(o.config)
	if err != nil {
		return err
	}
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.groupID != "" {
		return showGroup(ctx, o, st, cfg)
	}
	return listGroups(ctx, o, st, cfg)
}

// listGroups prints the groups in review order (review.List).
func listGroups(ctx context.Context, o *planShowOptions, st cm.Store, cfg match.Config) error {
	lo := review.ListOptions{States: o.states, MinSize: o.minSize, MaxSize: o.maxSize, Sort: o.sort, Limit: o.limit,
		ApproveThreshold: cfg.ApproveThreshold}
	if o.approveThreshold >= 0 {
		lo.ApproveThreshold = o.approveThreshold
	}
	if o.minConfidence >= 0 {
		lo.MinConfidence = &o.minConfidence
	}
	if o.maxConfidence >= 0 {
		lo.MaxConfidence = &o.maxConfidence
	}
	res, err := review.List(ctx, st, lo)
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(o.IO.Out, res)
	}
	return review.WriteList(o.IO.Out, res, o.style())
}

// showGroup prints one group (review.WriteGroup), members merged away
// included.
func showGroup(ctx context.Context, o *planShowOptions, st cm.Store, cfg match.Config) error {
	g, err := st.Group(ctx, o.groupID)
	if cm.IsCode(err, cm.ENOTFOUND) {
		return cm.Errorf(cm.EINVALID, "no group %s", o.groupID)
	}
	if err != nil {
		return err
	}
	v, err := review.ViewGroup(ctx, st, g, cfg.SurviveOptions())
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(o.IO.Out, v)
	}
	if err := writeGroupText(o.IO.Out, v, o.style()); err != nil {
		return err
	}
	cs, err := review.ConstraintsFor(ctx, st, g) // the stewards' decisions touching its members
	if err != nil {
		return err
	}
	return review.WriteConstraints(o.IO.Out, g, cs)
}

// writeGroupText writes the text view of one group.
func writeGroupText(w io.Writer, v review.GroupView, s review.Style) error {
	return review.WriteGroup(w, v, s)
}
