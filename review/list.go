package review

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// SortKeys are the orders List accepts: "review" (the default), then by
// confidence, size, state or id; a leading "-" reverses confidence and
// size.
var SortKeys = []string{"review", "confidence", "-confidence", "size", "-size", "state", "id"} //nolint:gochecknoglobals // immutable table

// ListOptions selects, orders and limits the groups List returns. The zero
// value lists every group in review order, all of them.
type ListOptions struct {
	// States selects groups in these states (all when empty).
	States []cm.GroupState
	// MinConfidence and MaxConfidence bound the confidence, inclusive
	// (nil: no bound).
	MinConfidence, MaxConfidence *float64
	// MinSize and MaxSize bound the number of members, inclusive (0: no
	// bound).
	MinSize, MaxSize int
	// Sort is one of SortKeys ("" is "review"): proposed groups below
	// ApproveThreshold (those that need a person) first, least confident
	// first, then the others, least confident first; "confidence",
	// "-confidence", "size", "-size"; "state" in the state machine's
	// order (cm.AllStates); "id". Ties end on the id.
	Sort string
	// Limit is the number of groups returned (0: all).
	Limit int
	// ApproveThreshold is the confidence from which the approve policy
	// approves a group (match.Config.ApproveThreshold).
	ApproveThreshold float64
}

// ListResult is what List found.
type ListResult struct {
	ApproveThreshold float64 `json:"approveThreshold"`
	Sort             string  `json:"sort"`
	// Total counts the groups the filter selects, NeedReview those of them
	// proposed below the approve threshold.
	Total      int `json:"total"`
	NeedReview int `json:"needReview"`
	// Groups are the first Limit of them in order; More counts the rest.
	Groups []ListRow `json:"groups"`
	More   int       `json:"more"`
}

// ListRow is one group of a list.
type ListRow struct {
	ID         string        `json:"groupId"`
	State      cm.GroupState `json:"state"`
	Size       int           `json:"size"`
	Confidence float64       `json:"confidence"`
	SurvivorID string        `json:"survivorId"`
	Name       string        `json:"name,omitempty"` // the merged record's first and last name
	// NeedsReview marks a proposed group below the approve threshold.
	NeedsReview bool      `json:"needsReview,omitempty"`
	Reason      string    `json:"reason,omitempty"` // why quarantined, failed, dropped or split
	RetryAt     time.Time `json:"retryAt,omitzero"` // when a quarantined group is retried
}

// CheckSort returns an error naming the accepted orders unless s is one.
func CheckSort(s string) error {
	if s == "" || slices.Contains(SortKeys, s) {
		return nil
	}
	return cm.Errorf(cm.EINVALID, "--sort: %q is not one of %s", s, strings.Join(SortKeys, ", "))
}

// List returns the groups o selects, in o's order, at most o.Limit of
// them. EINVALID for an unknown o.Sort.
func List(ctx context.Context, st cm.Store, o ListOptions) (ListResult, error) {
	if err := CheckSort(o.Sort); err != nil {
		return ListResult{}, err
	}
	f := cm.GroupFilter{States: o.States}
	if o.MinConfidence != nil {
		f.MinConfidence = *o.MinConfidence
	}
	groups, err := st.Groups(ctx, f)
	if err != nil {
		return ListResult{}, err
	}
	res := ListResult{ApproveThreshold: o.ApproveThreshold, Sort: cmp.Or(o.Sort, "review")}
	var rows []ListRow
	for _, g := range groups {
		switch {
		case o.MinConfidence != nil && g.Confidence < *o.MinConfidence,
			o.MaxConfidence != nil && g.Confidence > *o.MaxConfidence,
			o.MinSize > 0 && len(g.Members) < o.MinSize,
			o.MaxSize > 0 && len(g.Members) > o.MaxSize:
			continue
		}
		r := ListRow{ID: g.ID, State: g.State, Size: len(g.Members), Confidence: g.Confidence, SurvivorID: g.SurvivorID,
			NeedsReview: g.State == cm.StateProposed && g.Confidence < o.ApproveThreshold}
		if g.Merged != nil {
			r.Name = strings.TrimSpace(g.Merged.FirstName + " " + g.Merged.LastName)
		}
		switch g.State {
		case cm.StateQuarantined, cm.StateFailed, cm.StateDropped, cm.StateSplit:
			r.Reason = g.Reason
			if g.State == cm.StateQuarantined {
				r.RetryAt = g.RetryAt
			}
		}
		if r.NeedsReview {
			res.NeedReview++
		}
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, rowOrder(res.Sort))
	res.Total = len(rows)
	if o.Limit > 0 && len(rows) > o.Limit {
		res.More = len(rows) - o.Limit
		rows = rows[:o.Limit]
	}
	res.Groups = rows
	if res.Groups == nil {
		res.Groups = []ListRow{}
	}
	return res, nil
}

// rowOrder is the comparison of a sort key.
func rowOrder(key string) func(a, b ListRow) int {
	byID := func(a, b ListRow) int { return strings.Compare(a.ID, b.ID) }
	stateRank := func(s cm.GroupState) int { return slices.Index(cm.AllStates, s) }
	return func(a, b ListRow) int {
		var c int
		switch key {
		case "review":
			c = cmp.Or(cmp.Compare(boolRank(b.NeedsReview), boolRank(a.NeedsReview)), cmp.Compare(a.Confidence, b.Confidence))
		case "confidence":
			c = cmp.Compare(a.Confidence, b.Confidence)
		case "-confidence":
			c = cmp.Compare(b.Confidence, a.Confidence)
		case "size":
			c = cmp.Compare(a.Size, b.Size)
		case "-size":
			c = cmp.Compare(b.Size, a.Size)
		case "state":
			c = cmp.Compare(stateRank(a.State), stateRank(b.State))
		}
		return cmp.Or(c, byID(a, b))
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WriteList writes a list for a reviewer within s.Width columns: a line
// saying how many groups there are and how many need a person, a table
// (group, state, size, confidence, whether it needs review, survivor,
// name, and the reason of quarantined, failed, dropped and split groups),
// and a line saying how many more there are past the limit.
func WriteList(w io.Writer, r ListResult, s Style) error {
	p := newPrinter(w, s)
	head := fmt.Sprintf("%d group(s)", r.Total)
	if r.NeedReview > 0 {
		head += fmt.Sprintf("; %d proposed below the approve threshold %g need a person", r.NeedReview, r.ApproveThreshold)
		if r.Sort == "review" {
			head += " (listed first, least confident first)"
		}
	}
	if r.Sort != "review" {
		head += "; sorted by " + r.Sort
	}
	p.line(2, head)
	if r.Total == 0 {
		return p.w.Flush()
	}
	cols := []string{"GROUP", "STATE", "SIZE", "CONFIDENCE", "REVIEW", "SURVIVOR", "NAME", "REASON"}
	cells := make([][]string, len(r.Groups))
	hasReason := false
	for i, g := range r.Groups {
		review := ""
		if g.NeedsReview {
			review = "needed"
		}
		reason := g.Reason
		if !g.RetryAt.IsZero() {
			reason += " (retry " + g.RetryAt.UTC().Format("2006-01-02 15:04") + ")"
		}
		hasReason = hasReason || reason != ""
		cells[i] = []string{g.ID, string(g.State), fmt.Sprint(g.Size), fmt.Sprintf("%.4f", g.Confidence), review,
			Labels([]string{g.SurvivorID})[0], truncate(g.Name, 30), reason}
	}
	if !hasReason {
		cols = cols[:len(cols)-1]
	}
	widths := make([]int, len(cols))
	for j, c := range cols {
		widths[j] = textWidth(c)
		for _, row := range cells {
			widths[j] = max(widths[j], textWidth(row[j]))
		}
	}
	total := func() int {
		n := 0
		for _, wd := range widths {
			n += wd + 2
		}
		return n - 2
	}
	// Too wide: the survivor column goes first (plan show GROUP names it),
	// then the name shrinks to 12 columns; the last column (reason or name)
	// takes what is left.
	const survivorCol, nameCol = 5, 6
	if total() > p.width {
		widths[survivorCol] = -2
	}
	if excess := total() - p.width; excess > 0 && hasReason {
		widths[nameCol] = max(min(12, widths[nameCol]), widths[nameCol]-excess)
	}
	used := 0
	for _, wd := range widths[:len(widths)-1] {
		used += wd + 2
	}
	last := max(p.width-used, min(textWidth(cols[len(cols)-1]), widths[len(widths)-1]))
	row := func(vals []string, codes ...string) {
		var b strings.Builder
		for j := range cols {
			v := vals[j]
			switch {
			case j == len(cols)-1:
				b.WriteString(truncate(v, last))
			case widths[j] < 0: // dropped
			default:
				b.WriteString(pad(truncate(v, widths[j]), widths[j]+2))
			}
		}
		fmt.Fprintln(p.w, p.style.paint(strings.TrimRight(b.String(), " "), codes...))
	}
	row(cols, ansiBold)
	for i, g := range r.Groups {
		var codes []string
		switch {
		case g.NeedsReview:
			codes = []string{ansiYellow}
		case g.State == cm.StateFailed || g.State == cm.StateQuarantined:
			codes = []string{ansiRed}
		}
		row(cells[i], codes...)
	}
	if r.More > 0 {
		p.line(2, fmt.Sprintf("(%d more; use --limit N to show more, --limit 0 for all)", r.More))
	}
	return p.w.Flush()
}
