package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/store"
)

type matchOptions struct {
	config      string
	autoApprove bool
	asJSON      bool
	actor       string
}

func newMatchCmd(f *Factory) *cobra.Command {
	o := &matchOptions{}
	cmd := &cobra.Command{
		Use:   "match",
		Short: "Find duplicate groups in the snapshot (proposed for review)",
		Long: `Normalizes every contact, generates candidate pairs by several blocking keys, scores them
with Fellegi-Sunter weights learned from the data (EM), clusters them into groups with
protection against chaining, picks survivors and computes each merged record. Groups start
'proposed'. Re-running keeps the review decisions of unchanged groups (group ids are a hash of
the sorted member ids). --config FILE overlays a JSON configuration (see README).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMatch(cmd.Context(), f, o) },
	}
	cmd.Flags().StringVar(&o.config, "config", "", "JSON matcher configuration overlaying the defaults")
	cmd.Flags().BoolVar(&o.autoApprove, "auto-approve", false, "approve new groups at or above the configured approve threshold (policy)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the statistics as JSON")
	cmd.Flags().StringVar(&o.actor, "actor", "", "who is recorded for auto-approvals (default $USER)")
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

func runMatch(ctx context.Context, f *Factory, o *matchOptions) error {
	cfg, err := loadMatchConfig(o.config)
	if err != nil {
		return err
	}
	st, err := f.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	start := f.Now()
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
		if approved, err = decideWhere(ctx, st, true, actor(f, o.actor)+" (policy)", "confidence at or above the approve threshold",
			cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}, MinConfidence: cfg.ApproveThreshold}, f.Now); err != nil {
			return err
		}
	}
	elapsed := f.Now().Sub(start)
	if o.asJSON {
		return writeJSON(f.IO.Out, map[string]any{"stats": res.Stats, "saved": saved, "autoApproved": approved, "elapsedSeconds": elapsed.Seconds()})
	}
	s := res.Stats
	fmt.Fprintf(f.IO.Out, "matched %d contacts in %s: %d candidate pairs, %d comparisons, %d links → %d groups",
		s.Contacts, elapsed.Round(time.Millisecond), s.CandidatePairs, s.Comparisons, s.Links, len(res.Groups))
	if s.SkippedBlocks > 0 {
		fmt.Fprintf(f.IO.Out, " (%d oversized blocks skipped, e.g. switchboard numbers)", s.SkippedBlocks)
	}
	fmt.Fprintf(f.IO.Out, "\ngroups: %d new, %d kept with their decisions, %d superseded\n", saved.Created, saved.Kept, saved.Superseded)
	if o.autoApprove {
		fmt.Fprintf(f.IO.Out, "auto-approved %d groups with confidence ≥ %.3f\n", approved, cfg.ApproveThreshold)
	}
	fmt.Fprintln(f.IO.Out, "next: 'contactmerge plan show' to review, 'contactmerge plan approve' to approve")
	return nil
}

// decideWhere approves (or rejects) every group matching filt and returns
// how many it changed; groups another process moved meanwhile are skipped.
func decideWhere(ctx context.Context, st cm.Store, approve bool, who, why string, filt cm.GroupFilter, now func() time.Time) (int, error) {
	groups, err := st.Groups(ctx, filt)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, g := range groups {
		if err := decide(ctx, st, g, approve, "", who, why, now()); err != nil {
			if cm.IsCode(err, cm.ECONFLICT) {
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// decide records a review decision and moves the group to approved or rejected.
func decide(ctx context.Context, st cm.Store, g cm.Group, approve bool, survivor, who, why string, at time.Time) error {
	to := cm.StateRejected
	if approve {
		to = cm.StateApproved
	}
	if !cm.CanTransition(g.State, to) {
		return cm.Errorf(cm.EINVALID, "group %s is %s: it cannot be %s", g.ID, g.State, to)
	}
	if survivor != "" && !slices.Contains(g.Members, survivor) {
		return cm.Errorf(cm.EINVALID, "group %s: survivor %s is not a member", g.ID, survivor)
	}
	detail := string(to) + " by " + who
	if why != "" {
		detail += ": " + why
	}
	_, err := st.Transition(ctx, cm.Transition{
		GroupID: g.ID, From: []cm.GroupState{g.State}, Version: g.Version, To: to, Actor: who, Detail: detail,
		Decision: &cm.Decision{GroupID: g.ID, Approve: approve, Actor: who, Reason: why, At: at, Survivor: survivor},
		Update: func(g *cm.Group) {
			if survivor != "" {
				g.SurvivorID = survivor
			}
		},
	})
	return err
}

func newPlanCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Review merge groups: show, export, import decisions, approve, reject",
	}
	cmd.AddCommand(newPlanShowCmd(f), newPlanExportCmd(f), newPlanImportCmd(f), newPlanDecideCmd(f, true), newPlanDecideCmd(f, false))
	return cmd
}

func openForPlan(ctx context.Context, f *Factory) (store.Store, error) {
	return f.OpenStore(ctx, match.DefaultConfig())
}

// --- plan show ---

type planShowOptions struct {
	state string
	limit int
}

func newPlanShowCmd(f *Factory) *cobra.Command {
	o := &planShowOptions{}
	cmd := &cobra.Command{
		Use:   "show [GROUP]",
		Short: "List groups, or show one group side by side with its explanation",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &usageError{fmt.Errorf("plan show takes at most one group id")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openForPlan(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer st.Close()
			if len(args) == 1 {
				return showGroup(cmd.Context(), f.IO.Out, st, args[0])
			}
			return listGroups(cmd.Context(), f.IO.Out, st, o)
		},
	}
	cmd.Flags().StringVar(&o.state, "state", "", "only groups in this state")
	cmd.Flags().IntVar(&o.limit, "limit", 50, "at most this many groups (0: all)")
	return cmd
}

func stateFilter(s string) ([]cm.GroupState, error) {
	if s == "" {
		return nil, nil
	}
	var out []cm.GroupState
	for _, part := range strings.Split(s, ",") {
		st := cm.GroupState(strings.TrimSpace(part))
		if !st.Valid() {
			return nil, cm.Errorf(cm.EINVALID, "--state: %q is not a group state (%v)", part, cm.AllStates)
		}
		out = append(out, st)
	}
	return out, nil
}

func listGroups(ctx context.Context, w io.Writer, st cm.Store, o *planShowOptions) error {
	states, err := stateFilter(o.state)
	if err != nil {
		return err
	}
	groups, err := st.Groups(ctx, cm.GroupFilter{States: states})
	if err != nil {
		return err
	}
	slices.SortStableFunc(groups, func(a, b cm.Group) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tSTATE\tSIZE\tCONFIDENCE\tSURVIVOR\tNAME")
	shown := 0
	for _, g := range groups {
		if o.limit > 0 && shown == o.limit {
			break
		}
		name := ""
		if g.Merged != nil {
			name = strings.TrimSpace(g.Merged.FirstName + " " + g.Merged.LastName)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4f\t%s\t%s\n", g.ID, g.State, len(g.Members), g.Confidence, g.SurvivorID, name)
		shown++
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(groups) > shown {
		fmt.Fprintf(w, "(%d more; --limit 0 shows all)\n", len(groups)-shown)
	}
	return nil
}

func showGroup(ctx context.Context, w io.Writer, st cm.Store, id string) error {
	g, err := st.Group(ctx, id)
	if err != nil {
		if cm.IsCode(err, cm.ENOTFOUND) {
			return cm.Errorf(cm.EINVALID, "no group %s", id)
		}
		return err
	}
	contacts, err := st.Contacts(ctx, g.Members)
	if err != nil {
		return err
	}
	if len(contacts) < len(g.Members) {
		// Merged members left the snapshot; the ledger kept their
		// before-images.
		err := st.Ledger(ctx, cm.LedgerFilter{GroupID: g.ID, Kinds: []cm.LedgerKind{cm.LedgerAPI}}, func(ev cm.LedgerEvent) error {
			var before []cm.Contact
			if len(ev.BeforeImages) > 0 && json.Unmarshal(ev.BeforeImages, &before) == nil {
				for _, c := range before {
					if _, ok := contacts[c.ID]; !ok {
						contacts[c.ID] = c
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "group %s  state %s  confidence %.4f  survivor %s\n", g.ID, g.State, g.Confidence, g.SurvivorID)
	if g.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", g.Reason)
	}
	if g.CanonicalID != "" {
		fmt.Fprintf(w, "canonical contact: %s\n", g.CanonicalID)
	}
	cols := slices.Clone(g.Members)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "FIELD"
	for _, m := range cols {
		mark := ""
		if m == g.SurvivorID {
			mark = " *"
		}
		header += "\t" + m + mark
	}
	fmt.Fprintln(tw, header+"\tMERGED")
	for _, fld := range sideBySideFields {
		row := fld.name
		any := false
		for _, m := range cols {
			c, ok := contacts[m]
			v := "(unknown)"
			if ok {
				v = fld.get(&c)
			}
			any = any || v != ""
			row += "\t" + v
		}
		mv := ""
		if g.Merged != nil {
			mv = fld.get(g.Merged)
		}
		if any || mv != "" {
			fmt.Fprintln(tw, row+"\t"+mv)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, u := range g.Unkept {
		fmt.Fprintf(w, "not kept (no free slot): %s %s from %s\n", u.Field, u.Value, u.ContactID)
	}
	if g.Explanation != nil {
		fmt.Fprintln(w, "\nwhy (match weight = prior + Σ field weights, log2 Bayes factors):")
		for _, l := range g.Explanation.Links {
			fmt.Fprintf(w, "  %s ~ %s  weight %+.2f  probability %.4f\n", l.A, l.B, l.Weight, l.Probability)
			for _, fe := range l.Fields {
				fmt.Fprintf(w, "      %-16s %-14s %+7.2f  %s | %s\n", fe.Field, fe.Level, fe.Weight, fe.A, fe.B)
			}
		}
		for _, n := range g.Explanation.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
	return nil
}

type fieldView struct {
	name string
	get  func(*cm.Contact) string
}

func phoneText(p *cm.PhoneNumber) string {
	if p == nil {
		return ""
	}
	if p.E164 != "" && p.E164 != p.Display {
		return p.Display + " (" + p.E164 + ")"
	}
	return p.Display
}

var sideBySideFields = []fieldView{ //nolint:gochecknoglobals // immutable table
	{"type", func(c *cm.Contact) string { return c.Type }},
	{"firstName", func(c *cm.Contact) string { return c.FirstName }},
	{"middleName", func(c *cm.Contact) string { return c.MiddleName }},
	{"lastName", func(c *cm.Contact) string { return c.LastName }},
	{"workEmail", func(c *cm.Contact) string { return c.WorkEmail }},
	{"personalEmail", func(c *cm.Contact) string { return c.PersonalEmail }},
	{"otherEmail", func(c *cm.Contact) string { return c.OtherEmail }},
	{"workPhone", func(c *cm.Contact) string { return phoneText(c.WorkPhone) }},
	{"cellPhone", func(c *cm.Contact) string { return phoneText(c.CellPhone) }},
	{"homePhone", func(c *cm.Contact) string { return phoneText(c.HomePhone) }},
	{"otherPhone", func(c *cm.Contact) string { return phoneText(c.OtherPhone) }},
	{"address1", func(c *cm.Contact) string { return addrField(c, func(a *cm.Address) string { return a.Address1 }) }},
	{"address2", func(c *cm.Contact) string { return addrField(c, func(a *cm.Address) string { return a.Address2 }) }},
	{"city", func(c *cm.Contact) string { return addrField(c, func(a *cm.Address) string { return a.City }) }},
	{"state", func(c *cm.Contact) string { return addrField(c, func(a *cm.Address) string { return a.State }) }},
	{"postalCode", func(c *cm.Contact) string { return addrField(c, func(a *cm.Address) string { return a.PostalCode }) }},
	{"externalIds", func(c *cm.Contact) string {
		var parts []string
		for _, e := range c.ExternalIDs {
			parts = append(parts, e.SourceName()+":"+e.Value)
		}
		return strings.Join(parts, " ")
	}},
	{"customFields", func(c *cm.Contact) string {
		if len(c.CustomFields) == 0 {
			return ""
		}
		b, _ := json.Marshal(c.CustomFields)
		return string(b)
	}},
	{"modifyDate", func(c *cm.Contact) string {
		if c.ModifyDate.IsZero() {
			return ""
		}
		return c.ModifyDate.UTC().Format("2006-01-02")
	}},
}

func addrField(c *cm.Contact, get func(*cm.Address) string) string {
	if c.Address == nil {
		return ""
	}
	return get(c.Address)
}

// --- plan export ---

type planExportOptions struct {
	format string
	output string
	state  string
}

func newPlanExportCmd(f *Factory) *cobra.Command {
	o := &planExportOptions{}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export groups for review (jsonl or csv) to stdout or --output",
		Long: `Exports groups, one per line. Every row has groupId, state, survivorId, memberIds and
confidence. The CSV adds an empty 'decision' column for a data steward to fill with approve or
reject (and optionally a different survivorId and a reason), to be read back with
'contactmerge plan import'.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPlanExport(cmd.Context(), f, o) },
	}
	cmd.Flags().StringVar(&o.format, "format", "csv", "csv or jsonl")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().StringVar(&o.state, "state", "", "only groups in these states (comma-separated)")
	return cmd
}

// csvHeader is the plan CSV's columns; scripts rely on these names.
var csvHeader = []string{"groupId", "state", "decision", "survivorId", "memberIds", "confidence", "size", "name", "emails", "phones", "reason"} //nolint:gochecknoglobals // immutable table

func runPlanExport(ctx context.Context, f *Factory, o *planExportOptions) error {
	if o.format != "csv" && o.format != "jsonl" {
		return cm.Errorf(cm.EINVALID, "--format: %q is not csv or jsonl", o.format)
	}
	states, err := stateFilter(o.state)
	if err != nil {
		return err
	}
	st, err := openForPlan(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()
	groups, err := st.Groups(ctx, cm.GroupFilter{States: states})
	if err != nil {
		return err
	}
	out := f.IO.Out
	var file *os.File
	if o.output != "" {
		if file, err = os.Create(o.output); err != nil {
			return cm.Errorf(cm.EINVALID, "--output: %v", err)
		}
		defer file.Close()
		out = file
	}
	if o.format == "jsonl" {
		enc := json.NewEncoder(out)
		for _, g := range groups {
			if err := enc.Encode(g); err != nil {
				return err
			}
		}
	} else {
		w := csv.NewWriter(out)
		_ = w.Write(csvHeader)
		for _, g := range groups {
			name, emails, phones := "", "", ""
			if m := g.Merged; m != nil {
				name = strings.TrimSpace(m.FirstName + " " + m.LastName)
				emails = strings.Join(nonEmpty(m.WorkEmail, m.PersonalEmail, m.OtherEmail), " ")
				phones = strings.Join(nonEmpty(phoneText(m.WorkPhone), phoneText(m.CellPhone), phoneText(m.HomePhone), phoneText(m.OtherPhone)), " ")
			}
			_ = w.Write([]string{g.ID, string(g.State), "", g.SurvivorID, strings.Join(g.Members, " "),
				strconv.FormatFloat(g.Confidence, 'f', 6, 64), strconv.Itoa(len(g.Members)), name, emails, phones, g.Reason})
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "exported %d groups to %s\n", len(groups), o.output)
	}
	return nil
}

func nonEmpty(vals ...string) []string {
	var out []string
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// --- plan import ---

func newPlanImportCmd(f *Factory) *cobra.Command {
	var who string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Apply a data steward's decisions from an edited plan CSV",
		Long: `Reads a CSV exported by 'plan export' in which the 'decision' column holds approve, reject or
nothing (no change); 'survivorId' may name another member; 'reason' is recorded. All rows are
checked first: if any row is bad (unknown group, unknown decision, survivor not a member, a
group whose state does not allow the decision), every bad row is reported with its line
number and nothing is applied.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlanImport(cmd.Context(), f, args[0], actor(f, who))
		},
	}
	cmd.Flags().StringVar(&who, "actor", "", "who made the decisions (default $USER)")
	return cmd
}

type planDecision struct {
	line     int
	group    cm.Group
	approve  bool
	survivor string
	reason   string
}

func runPlanImport(ctx context.Context, f *Factory, path, who string) error {
	fh, err := os.Open(path)
	if err != nil {
		return cm.Errorf(cm.EINVALID, "plan import: %v", err)
	}
	defer fh.Close()
	st, err := openForPlan(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()
	decisions, err := readDecisions(ctx, st, fh, path)
	if err != nil {
		return err
	}
	now := f.Now()
	approved, rejected := 0, 0
	for _, d := range decisions {
		if err := decide(ctx, st, d.group, d.approve, d.survivor, who, d.reason, now); err != nil {
			return fmt.Errorf("%s:%d: %w", path, d.line, err)
		}
		if d.approve {
			approved++
		} else {
			rejected++
		}
	}
	fmt.Fprintf(f.IO.Out, "applied %d decisions from %s: %d approved, %d rejected\n", len(decisions), path, approved, rejected)
	return nil
}

func readDecisions(ctx context.Context, st cm.Store, r io.Reader, path string) ([]planDecision, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, cm.Errorf(cm.EINVALID, "%s:1: cannot read the header: %v", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, need := range []string{"groupId", "decision"} {
		if _, ok := col[need]; !ok {
			return nil, cm.Errorf(cm.EINVALID, "%s:1: the header has no %q column", path, need)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []planDecision
	var problems []string
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", path, line, err))
			continue
		}
		id, dec := get(rec, "groupId"), strings.ToLower(get(rec, "decision"))
		if id == "" && dec == "" {
			continue
		}
		var approve bool
		switch dec {
		case "":
			continue
		case "approve", "approved", "yes", "y":
			approve = true
		case "reject", "rejected", "no", "n":
		default:
			problems = append(problems, fmt.Sprintf("%s:%d: decision %q is not approve, reject or empty", path, line, dec))
			continue
		}
		if prev, ok := seen[id]; ok {
			problems = append(problems, fmt.Sprintf("%s:%d: group %s already decided on line %d", path, line, id, prev))
			continue
		}
		seen[id] = line
		g, err := st.Group(ctx, id)
		if cm.IsCode(err, cm.ENOTFOUND) {
			problems = append(problems, fmt.Sprintf("%s:%d: no group %q (run 'contactmerge match' again? group ids change when members change)", path, line, id))
			continue
		}
		if err != nil {
			return nil, err
		}
		d := planDecision{line: line, group: g, approve: approve, reason: get(rec, "reason")}
		if s := get(rec, "survivorId"); s != "" && s != g.SurvivorID {
			if !slices.Contains(g.Members, s) {
				problems = append(problems, fmt.Sprintf("%s:%d: survivorId %s is not a member of group %s", path, line, s, id))
				continue
			}
			d.survivor = s
		}
		to := cm.StateRejected
		if approve {
			to = cm.StateApproved
		}
		if g.State == to && d.survivor == "" {
			continue // already so
		}
		if !cm.CanTransition(g.State, to) {
			problems = append(problems, fmt.Sprintf("%s:%d: group %s is %s and cannot be %s", path, line, id, g.State, to))
			continue
		}
		out = append(out, d)
	}
	if len(problems) > 0 {
		return nil, cm.Errorf(cm.EINVALID, "%d bad row(s); nothing was applied:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return out, nil
}

// --- plan approve / reject ---

type planDecideOptions struct {
	all           bool
	minConfidence float64
	groups        []string
	reason        string
	actor         string
}

func newPlanDecideCmd(f *Factory, approve bool) *cobra.Command {
	o := &planDecideOptions{minConfidence: -1}
	verb := "reject"
	if approve {
		verb = "approve"
	}
	cmd := &cobra.Command{
		Use:   verb,
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " proposed groups (--all, --min-confidence X, or --group ID)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPlanDecide(cmd.Context(), f, o, approve)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "every proposed group")
	if approve {
		cmd.Flags().Float64Var(&o.minConfidence, "min-confidence", -1, "proposed groups with confidence at least X (0..1)")
	}
	cmd.Flags().StringArrayVar(&o.groups, "group", nil, "this group (repeatable; may also re-decide a rejected or failed group)")
	cmd.Flags().StringVar(&o.reason, "reason", "", "recorded with the decision")
	cmd.Flags().StringVar(&o.actor, "actor", "", "who decides (default $USER)")
	return cmd
}

func runPlanDecide(ctx context.Context, f *Factory, o *planDecideOptions, approve bool) error {
	chosen := 0
	for _, b := range []bool{o.all, o.minConfidence >= 0, len(o.groups) > 0} {
		if b {
			chosen++
		}
	}
	if chosen != 1 {
		return &usageError{fmt.Errorf("give exactly one of --all, --min-confidence or --group")}
	}
	if o.minConfidence > 1 {
		return cm.Errorf(cm.EINVALID, "--min-confidence must be between 0 and 1 (got %g)", o.minConfidence)
	}
	st, err := openForPlan(ctx, f)
	if err != nil {
		return err
	}
	defer st.Close()
	who := actor(f, o.actor)
	verb := "rejected"
	if approve {
		verb = "approved"
	}
	n := 0
	if len(o.groups) > 0 {
		for _, id := range o.groups {
			g, err := st.Group(ctx, id)
			if cm.IsCode(err, cm.ENOTFOUND) {
				return cm.Errorf(cm.EINVALID, "no group %s", id)
			}
			if err != nil {
				return err
			}
			if err := decide(ctx, st, g, approve, "", who, o.reason, f.Now()); err != nil {
				return err
			}
			n++
		}
	} else {
		filt := cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}}
		if o.minConfidence >= 0 {
			filt.MinConfidence = o.minConfidence
		}
		if n, err = decideWhere(ctx, st, approve, who, o.reason, filt, f.Now); err != nil {
			return err
		}
	}
	fmt.Fprintf(f.IO.Out, "%s %d group(s)\n", verb, n)
	return nil
}
