package review

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/importer"
)

// Row is one decision read from a plan CSV by ReadDecisionsCSV: where it
// came from, the group as it was when the file was read, and the verdict.
type Row struct {
	File string
	Line int // the line the record starts on (1 is the header)
	// Group is the group as read; Apply refuses to apply the row if the
	// group changed since.
	Group   cm.Group
	Approve bool
	// Split are the members a split rejects against the rest of the group
	// (decision split, with the members column); nil for a decision on the
	// whole group.
	Split []string
	// Survivor is another member chosen as survivor, or "" to keep the
	// group's.
	Survivor string
	Reason   string
}

// pos is the row's "FILE:LINE".
func (r Row) pos() string { return r.File + ":" + strconv.Itoa(r.Line) }

// utf8BOM is the byte-order mark that spreadsheet programs put before a
// UTF-8 CSV.
const utf8BOM = "\ufeff"

// ReadDecisionsCSV reads a plan CSV as `plan export` writes it and a
// steward edits it, named name in messages, and checks every row against
// st. The header must name the columns groupId and decision, each once;
// survivorId, reason and members are optional and other columns are
// ignored, in any order. A UTF-8 byte-order mark is skipped.
//
// The decision column holds approve (or approved, yes, y), reject (or
// rejected, no, n), split, in any case, or nothing: a row without a decision
// changes nothing, and nor does one that is already in effect (the group is
// in that state and keeps its survivor; a split whose pairs are the ones
// the group's rejection recorded), so a file can be imported again. A
// survivorId other than the group's current survivor must be a member. A
// split names the members to reject against the rest in the members column
// (ids separated by spaces or commas); members is empty for approve and
// reject. Decisions are pair constraints (see Decide): the file is checked
// as if its rows were applied in order, so a row that contradicts a
// steward's constraint, or one that an earlier row records, is bad.
//
// It returns the rows to apply, in file order, or, when any row is bad,
// no rows and a LineError for every bad row: a CSV parse error, an unknown
// decision, an unknown group (superseded by a later match), a group already
// merged, a survivor or split member that is not a member, a group whose
// state does not allow the decision, a group decided twice, a decision
// that contradicts a steward's constraint. A file that
// cannot be used at all (empty, a bad header, a column named twice) is an
// EINVALID error naming FILE:LINE; a failing reader or store is returned
// as is.
func ReadDecisionsCSV(ctx context.Context, st cm.Store, r io.Reader, name string) ([]Row, []importer.LineError, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil, cm.Errorf(cm.EINVALID, "%s:1: the file is empty (it needs a header with the columns groupId and decision)", name)
	case err != nil:
		if line, msg, ok := parseError(err); ok {
			return nil, nil, cm.Errorf(cm.EINVALID, "%s:%d: %s", name, line, msg)
		}
		return nil, nil, fmt.Errorf("reading %s: %w", name, err)
	}
	headerLine, _ := cr.FieldPos(0)
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			continue // spreadsheets add unnamed columns
		}
		if prev, dup := col[h]; dup {
			return nil, nil, cm.Errorf(cm.EINVALID, "%s:%d: column %q appears twice (columns %d and %d)", name, headerLine, h, prev+1, i+1)
		}
		col[h] = i
	}
	for _, need := range []string{"groupId", "decision"} {
		if _, ok := col[need]; !ok {
			return nil, nil, cm.Errorf(cm.EINVALID, "%s:%d: the header has no %q column", name, headerLine, need)
		}
	}
	get := func(rec []string, column string) string {
		if i, ok := col[column]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}

	var rows []Row
	var problems []importer.LineError
	bad := func(line int, format string, args ...any) {
		problems = append(problems, importer.LineError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A record that does not parse has no field positions: the line
			// comes from the error.
			line, msg, ok := parseError(err)
			if !ok {
				return nil, nil, fmt.Errorf("reading %s: %w", name, err)
			}
			bad(line, "%s", msg)
			continue
		}
		line, _ := cr.FieldPos(0)
		id, dec := get(rec, "groupId"), strings.ToLower(get(rec, "decision"))
		var approve, split bool
		switch dec {
		case "":
			continue
		case "approve", "approved", "yes", "y":
			approve = true
		case "reject", "rejected", "no", "n":
		case "split":
			split = true
		default:
			bad(line, "decision %q is not approve, reject, split or empty", dec)
			continue
		}
		members := strings.FieldsFunc(get(rec, "members"), func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
		switch {
		case split && len(members) == 0:
			bad(line, "decision split needs the members to split off in the members column")
			continue
		case !split && len(members) > 0:
			bad(line, "members is only for decision split (to reject those members against the rest); clear it to %s the whole group", dec)
			continue
		}
		if prev, ok := seen[id]; ok {
			bad(line, "group %s already decided on line %d", id, prev)
			continue
		}
		seen[id] = line
		g, err := st.Group(ctx, id)
		if cm.IsCode(err, cm.ENOTFOUND) {
			bad(line, "no group %q: it no longer exists (a later match superseded it: export the plan again; group ids change when members change)", id)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if g.State == cm.StateMerged || g.State == cm.StateSplit || g.State == cm.StateDropped {
			bad(line, "group %s is already %s%s: a decision can no longer change it", id, g.State, canonical(g))
			continue
		}
		row := Row{File: name, Line: line, Group: g, Approve: approve, Reason: get(rec, "reason")}
		if split {
			if err := checkSplit(g, members); err != nil {
				bad(line, "%s", strings.TrimPrefix(err.Error(), "group "+g.ID+": "))
				continue
			}
			row.Split = cm.SortedIDs(members)
		}
		if s := get(rec, "survivorId"); s != "" && s != g.SurvivorID {
			if !slices.Contains(g.Members, s) {
				bad(line, "survivorId %s is not a member of group %s", s, id)
				continue
			}
			row.Survivor = s
		}
		to := target(approve)
		if g.State == to && row.Survivor == "" && row.Split == nil {
			continue // already so
		}
		if !cm.CanTransition(g.State, to) && !(g.State == to && row.Split != nil) {
			bad(line, "group %s is %s and cannot be %s", id, g.State, to)
			continue
		}
		rows = append(rows, row)
	}
	rows, err = checkConstraints(ctx, st, rows, bad)
	if err != nil {
		return nil, nil, err
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b importer.LineError) int { return a.Line - b.Line })
		return nil, problems, nil
	}
	return rows, nil, nil
}

// canonical is ", into CANONICAL" for a group with a canonical contact.
func canonical(g cm.Group) string {
	if g.CanonicalID == "" {
		return ""
	}
	return " (into " + g.CanonicalID + ")"
}

// checkConstraints checks the pair constraints of rows as if they were
// applied in order, starting from the store's: each row's plan
// (planConstraints) against the constraints stored and those the rows
// before it record or lift. It reports every contradiction through bad and
// returns the rows to apply: a split of an already rejected group whose
// rejection recorded exactly the split's pairs is in effect and dropped; a
// split of a group rejected otherwise is bad (unreject it first).
func checkConstraints(ctx context.Context, st cm.Store, rows []Row, bad func(line int, format string, args ...any)) ([]Row, error) {
	if len(rows) == 0 {
		return rows, nil
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.Group.Members...)
	}
	stored, err := st.Constraints(ctx, cm.ConstraintFilter{Contacts: ids, Within: true})
	if err != nil {
		return nil, err
	}
	// The constraints as the rows before the current one leave them, by
	// their A end.
	byA := map[string]map[int64]cm.PairConstraint{}
	put := func(c cm.PairConstraint) {
		if byA[c.A] == nil {
			byA[c.A] = map[int64]cm.PairConstraint{}
		}
		byA[c.A][c.ID] = c
	}
	where := map[int64]string{} // id → its A end
	for _, c := range stored {
		put(c)
		where[c.ID] = c.A
	}
	next := int64(-1) // ids of the constraints earlier rows record
	kept := rows[:0:0]
	for _, r := range rows {
		var within []cm.PairConstraint
		for _, m := range r.Group.Members {
			for _, c := range byA[m] {
				if slices.Contains(r.Group.Members, c.B) {
					within = append(within, c)
				}
			}
		}
		slices.SortFunc(within, func(a, b cm.PairConstraint) int { return cmpID(a.ID, b.ID) })
		add, lift, err := planConstraints(r.Group, cm.Decision{Approve: r.Approve, Reason: r.Reason}, r.Split, within)
		if err != nil {
			bad(r.Line, "%s", strings.TrimPrefix(err.Error(), "group "+r.Group.ID+": "))
			continue
		}
		if r.Split != nil && r.Group.State == cm.StateRejected {
			if samePairs(add, within, r.Group.ID) {
				continue // in effect
			}
			bad(r.Line, "group %s is already rejected with other pairs: unreject it first (contactmerge plan unreject %s)", r.Group.ID, r.Group.ID)
			continue
		}
		for _, id := range lift {
			delete(byA[where[id]], id)
		}
		for _, c := range add {
			c.ID = next
			next--
			put(c)
			where[c.ID] = c.A
		}
		kept = append(kept, r)
	}
	return kept, nil
}

// samePairs reports whether the pairs of add are exactly those of the
// cannot-links recorded on group among within.
func samePairs(add, within []cm.PairConstraint, group string) bool {
	want := map[cm.Pair]bool{}
	for _, c := range add {
		want[c.Pair()] = true
	}
	n := 0
	for _, c := range within {
		if c.GroupID == group {
			if c.Kind != cm.CannotLink || !want[c.Pair()] {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

func cmpID(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseError turns a *csv.ParseError into the line its record starts on and
// a message.
func parseError(err error) (line int, msg string, ok bool) {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return 0, "", false
	}
	where := fmt.Sprintf("column %d", pe.Column)
	if pe.Line != pe.StartLine {
		where = fmt.Sprintf("line %d, column %d", pe.Line, pe.Column)
	}
	return pe.StartLine, fmt.Sprintf("parse error: %v (%s)", pe.Err, where), true
}

// Apply records the decisions of rows (from ReadDecisionsCSV) as who, at
// time at, in file order, each with its pair constraints (see Decide and
// Split).
//
// It first re-reads every row's group in one query and refuses the whole
// file, writing nothing, when any group changed since it was read (ECONFLICT
// naming each such row): another process or person decided it, or the
// engine moved it. Then it applies every row's Transition in one database
// transaction (cm.Store.TransitionMany): a write that fails part-way (a lost
// connection, a full disk, a group changed in between) applies none of
// them, and the error, wrapping the cause, says so.
func Apply(ctx context.Context, st cm.Store, rows []Row, who string, at time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		if _, err := transition(r.Group, r.decision(who, at), r.Split, nil, false); err != nil {
			return fmt.Errorf("%s: %w; nothing was applied", r.pos(), err)
		}
		ids[i] = r.Group.ID
	}
	current, err := st.Groups(ctx, cm.GroupFilter{IDs: ids})
	if err != nil {
		return err
	}
	byID := make(map[string]cm.Group, len(current))
	for _, g := range current {
		byID[g.ID] = g
	}
	var changed []string
	for _, r := range rows {
		switch g, ok := byID[r.Group.ID]; {
		case !ok:
			changed = append(changed, fmt.Sprintf("%s: group %s no longer exists (superseded by a new match run?)", r.pos(), r.Group.ID))
		case g.Version != r.Group.Version:
			changed = append(changed, fmt.Sprintf("%s: group %s changed since the file was read (it is %s now)", r.pos(), r.Group.ID, g.State))
		}
	}
	if len(changed) > 0 {
		return cm.Errorf(cm.ECONFLICT, "%d group(s) changed since the file was read; nothing was applied (import the file again to check it against the groups as they are now):\n  %s",
			len(changed), strings.Join(changed, "\n  "))
	}
	ts := make([]cm.Transition, len(rows))
	for i, r := range rows {
		existing, err := constraintsWithin(ctx, st, r.Group)
		if err != nil {
			return err
		}
		if ts[i], err = transition(r.Group, r.decision(who, at), r.Split, existing, true); err != nil {
			return fmt.Errorf("%s: %w; nothing was applied", r.pos(), err)
		}
	}
	// One database transaction: a write that fails part-way applies none.
	if _, err := st.TransitionMany(ctx, ts); err != nil {
		return fmt.Errorf("%s: %w: nothing was applied (the file applies whole or not at all; import it again)", rows[0].File, err)
	}
	return nil
}

// decision is the row's decision as who at at.
func (r Row) decision(who string, at time.Time) cm.Decision {
	return cm.Decision{Approve: r.Approve, Survivor: r.Survivor, Actor: who, Reason: r.Reason, At: at}
}
