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
// survivorId and reason are optional and other columns are ignored, in any
// order. A UTF-8 byte-order mark is skipped.
//
// The decision column holds approve (or approved, yes, y), reject (or
// rejected, no, n), in any case, or nothing: a row without a decision
// changes nothing, and nor does one that is already in effect (the group is
// in that state and keeps its survivor), so a file can be imported again. A
// survivorId other than the group's current survivor must be a member.
//
// It returns the rows to apply, in file order, or, when any row is bad,
// no rows and a LineError for every bad row: a CSV parse error, an unknown
// decision, an unknown group, a survivor that is not a member, a group whose
// state does not allow the decision, a group decided twice. A file that
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
		var approve bool
		switch dec {
		case "":
			continue
		case "approve", "approved", "yes", "y":
			approve = true
		case "reject", "rejected", "no", "n":
		default:
			bad(line, "decision %q is not approve, reject or empty", dec)
			continue
		}
		if prev, ok := seen[id]; ok {
			bad(line, "group %s already decided on line %d", id, prev)
			continue
		}
		seen[id] = line
		g, err := st.Group(ctx, id)
		if cm.IsCode(err, cm.ENOTFOUND) {
			bad(line, "no group %q (run 'contactmerge match' again? group ids change when members change)", id)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		row := Row{File: name, Line: line, Group: g, Approve: approve, Reason: get(rec, "reason")}
		if s := get(rec, "survivorId"); s != "" && s != g.SurvivorID {
			if !slices.Contains(g.Members, s) {
				bad(line, "survivorId %s is not a member of group %s", s, id)
				continue
			}
			row.Survivor = s
		}
		to := target(approve)
		if g.State == to && row.Survivor == "" {
			continue // already so
		}
		if !cm.CanTransition(g.State, to) {
			bad(line, "group %s is %s and cannot be %s", id, g.State, to)
			continue
		}
		rows = append(rows, row)
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	return rows, nil, nil
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
// time at, in file order.
//
// It first re-reads every row's group in one query and refuses the whole
// file, writing nothing, when any group changed since it was read (ECONFLICT
// naming each such row): another process or person decided it, or the
// engine moved it. Then it applies the rows one Transition each. The store
// has no transaction over several groups, so a write that fails after that
// check (a lost connection, a full disk, a group changed in between) leaves
// the rows before it applied: Apply then returns an *ApplyError that lists
// exactly which rows were applied and which were not, wrapping the cause.
// Reading the same file again skips the applied rows (they are in effect),
// so importing it again applies the rest.
func Apply(ctx context.Context, st cm.Store, rows []Row, who string, at time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	ts := make([]cm.Transition, len(rows))
	ids := make([]string, len(rows))
	for i, r := range rows {
		t, err := transition(r.Group, cm.Decision{Approve: r.Approve, Survivor: r.Survivor, Actor: who, Reason: r.Reason, At: at})
		if err != nil {
			return fmt.Errorf("%s: %w; nothing was applied", r.pos(), err)
		}
		ts[i], ids[i] = t, r.Group.ID
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
	// With a store method applying many Transitions in one transaction,
	// this loop would be a single call and a failure would write nothing.
	for i, t := range ts {
		if _, err := st.Transition(ctx, t); err != nil {
			return &ApplyError{Applied: rows[:i:i], NotApplied: rows[i:], Err: err}
		}
	}
	return nil
}

// ApplyError is returned by Apply when a write failed after some rows were
// applied. Those rows stay applied.
type ApplyError struct {
	// Applied are the rows applied before the failure, in file order.
	Applied []Row
	// NotApplied are the rows not applied; the first is the one whose
	// write failed.
	NotApplied []Row
	// Err is the failure.
	Err error
}

// Error says what failed, exactly which rows were applied and which were
// not, and how to finish.
func (e *ApplyError) Error() string {
	total := len(e.Applied) + len(e.NotApplied)
	failed := e.NotApplied[0]
	applied := "none"
	if len(e.Applied) > 0 {
		applied = positions(e.Applied)
	}
	return fmt.Sprintf("%s: %v\n%d of %d decisions were applied and stay applied (the store has no transaction over several groups): %s\n"+
		"not applied: %s\nimport the file again to apply the rest (decisions already in effect are skipped)",
		failed.pos(), e.Err, len(e.Applied), total, applied, positions(e.NotApplied))
}

// Unwrap returns the failure.
func (e *ApplyError) Unwrap() error { return e.Err }

// positions lists the rows' FILE:LINE, runs of rows on consecutive lines as
// FILE:FIRST-LAST.
func positions(rows []Row) string {
	var parts []string
	for i := 0; i < len(rows); {
		j := i
		for j+1 < len(rows) && rows[j+1].Line == rows[j].Line+1 && rows[j+1].File == rows[i].File {
			j++
		}
		p := rows[i].pos()
		if j > i {
			p += "-" + strconv.Itoa(rows[j].Line)
		}
		parts = append(parts, p)
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
