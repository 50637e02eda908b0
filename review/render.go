package review

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
)

// WriteGroup writes v for a reviewer, within s.Width columns:
//
//   - a head: id, state, confidence, size and survivor (and the reason,
//     canonical contact and latest decision when set);
//   - why the survivor was chosen, rule by rule (match.Survival.Rule);
//   - the members: one row per review field, one column per member (the
//     survivor marked "*", unknown members "(unknown)") and the merged
//     record, fields where members disagree marked DiffMark (bold on a
//     colour terminal); when the columns do not fit the width they are
//     wrapped into bands of as many members as fit, each band repeating the
//     field names; long ids are shortened to their Label (listed with the
//     full ids);
//   - the merged record with every member's values accounted for: kept,
//     moved to a free slot, the same as a kept value after normalization,
//     overridden (and why), or not kept (and why);
//   - why the group was formed: every link's match weight and each field's
//     contribution.
func WriteGroup(w io.Writer, v GroupView, s Style) error {
	p := newPrinter(w, s)
	g := v.Group
	label := v.labeler()
	p.line(2, fmt.Sprintf("group %s  state %s  confidence %.4f  survivor %s", g.ID, g.State, g.Confidence, g.SurvivorID), ansiBold)
	if g.Reason != "" {
		p.line(2, "reason: "+g.Reason)
	}
	if g.CanonicalID != "" {
		p.line(2, "canonical contact: "+g.CanonicalID)
	}
	if d := v.Decision; d != nil {
		p.line(2, "decision: "+decisionText(d))
	}
	writeSurvivor(p, v, label)
	if slices.ContainsFunc(v.Members, func(m MemberView) bool { return m.Label != m.ID }) {
		p.blank()
		p.line(4, fmt.Sprintf("%d members (the labels below stand for these ids):", len(v.Members)))
		for _, m := range v.Members {
			p.line(4, "  "+pad(m.Label, 12)+"  "+m.ID)
		}
	}
	p.blank()
	writeTable(p, v)
	p.blank()
	writeAccounting(p, v, label)
	if g.Explanation != nil {
		p.blank()
		p.line(2, "why (match weight = prior + Σ field weights, log2 Bayes factors):")
		for _, l := range g.Explanation.Links {
			p.line(6, fmt.Sprintf("  %s ~ %s  weight %+.2f  probability %.4f", label(l.A), label(l.B), l.Weight, l.Probability))
			for _, fe := range l.Fields {
				p.line(47, fmt.Sprintf("      %-16s %-14s %+7.2f  %s | %s", fe.Field, fe.Level, fe.Weight, fe.A, fe.B))
			}
		}
		for _, n := range g.Explanation.Notes {
			p.line(4, "  note: "+n)
		}
	}
	return p.w.Flush()
}

// relabel replaces the member ids in text by their labels.
func (v GroupView) relabel(text string) string {
	for _, m := range v.Members {
		if m.Label != m.ID {
			text = strings.ReplaceAll(text, m.ID, m.Label)
		}
	}
	return text
}

// labeler returns the function that turns a member id into its label.
func (v GroupView) labeler() func(string) string {
	m := map[string]string{}
	for _, mv := range v.Members {
		m[mv.ID] = mv.Label
	}
	return func(id string) string {
		if l, ok := m[id]; ok {
			return l
		}
		return id
	}
}

func decisionText(d *cm.Decision) string {
	verb := "rejected"
	if d.Approve {
		verb = "approved"
	}
	s := verb + " by " + d.Actor
	if !d.At.IsZero() {
		s += " at " + d.At.UTC().Format("2006-01-02 15:04")
	}
	if d.Reason != "" {
		s += ": " + d.Reason
	}
	if d.Survivor != "" {
		s += "; survivor " + d.Survivor
	}
	if len(d.Take) > 0 {
		s += "; take " + takeText(d.Take)
	}
	return s
}

// takeText renders per-field choices as FIELD=ID, in field order.
func takeText(take map[string]string) string {
	var parts []string
	for _, f := range cm.ContactFields {
		if id, ok := take[f.Name]; ok {
			parts = append(parts, f.Name+"="+id)
		}
	}
	return strings.Join(parts, " ")
}

// writeSurvivor states the rule that chose the survivor.
func writeSurvivor(p *printer, v GroupView, label func(string) string) {
	sv := v.Survival
	if sv.SurvivorID == "" {
		p.line(2, "survivor: no member is known")
		return
	}
	policy := policyText(sv)
	switch {
	case !sv.Chosen():
		p.line(2, "survivor "+label(sv.SurvivorID)+": "+policy)
	case v.chosenBy() != "":
		p.line(2, "survivor "+label(sv.SurvivorID)+": chosen by "+v.chosenBy()+"; the policy picks "+label(sv.PolicySurvivorID)+": "+policy)
	default:
		p.line(2, "survivor "+label(sv.SurvivorID)+": the group's survivor; on the members as stored now the policy picks "+
			label(sv.PolicySurvivorID)+": "+policy)
	}
	if g := v.Group; sv.SurvivorID != g.SurvivorID && v.chosenBy() != "" {
		p.line(4, "  note: the group holds survivor "+label(g.SurvivorID)+" (a match since the decision reset it); the decision's "+
			label(sv.SurvivorID)+" holds, and preflight merges with it")
	}
	if len(v.Members) > 2 {
		pos := map[string]int{}
		for i, m := range v.Members {
			pos[m.ID] = i
		}
		for _, st := range sv.Rule {
			ids := slices.Clone(st.Over)
			slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(pos[a], pos[b]) })
			over := make([]string, len(ids))
			for i, id := range ids {
				over[i] = label(id)
			}
			p.line(6, fmt.Sprintf("  rule %s puts %s first over %s", st.Rule, label(sv.PolicySurvivorID), strings.Join(over, ", ")))
		}
	}
}

func policyText(sv match.Survival) string {
	if len(sv.Rule) == 0 {
		return "the only known member"
	}
	parts := make([]string, len(sv.Rule))
	for i, st := range sv.Rule {
		parts[i] = st.Text + " (rule: " + st.Rule + ")"
	}
	return strings.Join(parts, ", then ")
}

// chosenBy names who chose the group's survivor: the actor of the latest
// decision naming it, or "".
func (v GroupView) chosenBy() string {
	if d := v.Decision; d != nil && d.Survivor != "" && d.Survivor == v.Survival.SurvivorID {
		return cmp.Or(d.Actor, "a reviewer")
	}
	return ""
}

// writeTable writes the members side by side, in bands when they do not
// fit the width.
func writeTable(p *printer, v GroupView) {
	const gap = 2
	fieldW := textWidth("FIELD")
	for _, r := range v.Rows {
		fieldW = max(fieldW, textWidth(r.Field))
	}
	lead := fieldW + gap + textWidth(DiffMark) + gap
	maxCell := max(p.width-lead, 8)
	type column struct {
		head  string
		cells []string
		width int
	}
	var cols []column
	for i, m := range v.Members {
		c := column{head: m.Label}
		if m.Survivor {
			c.head += " *"
		}
		for _, r := range v.Rows {
			c.cells = append(c.cells, r.Values[i])
		}
		cols = append(cols, c)
	}
	merged := column{head: "MERGED"}
	for _, r := range v.Rows {
		merged.cells = append(merged.cells, r.Merged)
	}
	cols = append(cols, merged)
	for i := range cols {
		w := textWidth(cols[i].head)
		for _, c := range cols[i].cells {
			w = max(w, textWidth(c))
		}
		cols[i].width = min(w, maxCell)
	}
	// Bands: as many columns as fit the width, at least one.
	var bands [][]int
	used := lead
	for i, c := range cols {
		if len(bands) == 0 || used+c.width > p.width {
			bands = append(bands, nil)
			used = lead
		}
		bands[len(bands)-1] = append(bands[len(bands)-1], i)
		used += c.width + gap
	}
	nm := len(v.Members)
	for bi, band := range bands {
		if len(bands) > 1 {
			if bi > 0 {
				p.blank()
			}
			first, last := band[0]+1, band[len(band)-1]+1
			what := fmt.Sprintf("members %d–%d of %d", first, min(last, nm), nm)
			switch {
			case first > nm:
				what = "the merged record"
			case last > nm && first == nm:
				what = fmt.Sprintf("member %d of %d and the merged record", nm, nm)
			case last > nm:
				what = fmt.Sprintf("members %d–%d of %d and the merged record", first, nm, nm)
			case first == last:
				what = fmt.Sprintf("member %d of %d", first, nm)
			}
			p.line(2, what+":")
		}
		head := pad("FIELD", fieldW) + strings.Repeat(" ", gap) + pad("", textWidth(DiffMark)) + strings.Repeat(" ", gap)
		for j, ci := range band {
			h := truncate(cols[ci].head, cols[ci].width)
			if j < len(band)-1 {
				h = pad(h, cols[ci].width+gap)
			}
			head += h
		}
		fmt.Fprintln(p.w, p.style.paint(strings.TrimRight(head, " "), ansiBold))
		for ri, r := range v.Rows {
			mark := ""
			if r.Differ {
				mark = DiffMark
			}
			// A cell wider than its column wraps onto continuation lines.
			parts := make([][]string, len(band))
			height := 1
			for j, ci := range band {
				parts[j] = split(cols[ci].cells[ri], cols[ci].width)
				height = max(height, len(parts[j]))
			}
			for k := range height {
				name, m := "", ""
				if k == 0 {
					name, m = r.Field, mark
				}
				line := p.style.paint(pad(name, fieldW), diffCodes(r.Differ)...) + strings.Repeat(" ", gap) +
					p.style.paint(pad(m, textWidth(DiffMark)), diffCodes(r.Differ)...) + strings.Repeat(" ", gap)
				var cells strings.Builder
				for j, ci := range band {
					c := ""
					if k < len(parts[j]) {
						c = parts[j][k]
					}
					if j < len(band)-1 {
						c = pad(c, cols[ci].width+gap)
					}
					cells.WriteString(c)
				}
				fmt.Fprintln(p.w, strings.TrimRight(line+cells.String(), " "))
			}
		}
	}
}

func diffCodes(differ bool) []string {
	if differ {
		return []string{ansiBold, ansiYellow}
	}
	return nil
}

// accountingOrder is the order of fields in the merged-record section:
// cm.ContactFields, then custom fields, then the fields the table does not
// show.
func accountingOrder(fields map[string]bool) []string {
	var out []string
	for _, f := range cm.ContactFields {
		if fields[f.Name] {
			out = append(out, f.Name)
			delete(fields, f.Name)
		}
	}
	var custom, rest []string
	for f := range fields {
		if strings.HasPrefix(f, "customFields.") {
			custom = append(custom, f)
		} else {
			rest = append(rest, f)
		}
	}
	slices.Sort(custom)
	slices.Sort(rest)
	return append(append(out, custom...), rest...)
}

// mergedValue returns the merged record's value of field as text.
func mergedValue(m *cm.Contact, field string) string {
	if m == nil {
		return ""
	}
	if k, ok := strings.CutPrefix(field, "customFields."); ok {
		if v, ok := m.CustomFields[k]; ok {
			return fmt.Sprint(v)
		}
		return ""
	}
	if f, ok := cm.LookupField(field); ok {
		return f.Get(m)
	}
	return ""
}

// writeAccounting writes the merged record field by field with what became
// of every member's value of that field.
func writeAccounting(p *printer, v GroupView, label func(string) string) {
	sv := v.Survival
	p.line(2, "merged record (sent as valueOverride), and what becomes of every member's value:", ansiBold)
	if len(v.Unknown) > 0 {
		ids := make([]string, len(v.Unknown))
		for i, id := range v.Unknown {
			ids[i] = label(id)
		}
		p.line(4, "  note: survivorship below leaves out the unknown members "+strings.Join(ids, ", "))
	}
	if v.Stale {
		p.line(4, "  note: this differs from the merged record the group holds (the members changed since match, or the survivor was changed "+
			"without recomputing); preflight recomputes it from live data before merging")
	}
	rank := map[string]int{} // label → member position
	for i, m := range v.Members {
		rank[m.Label] = i
	}
	byField := map[string][]match.ValueFate{}
	movedIn := map[string][]match.ValueFate{}
	fields := map[string]bool{}
	for _, f := range sv.Fates {
		byField[f.Field] = append(byField[f.Field], f)
		fields[f.Field] = true
		if f.Fate == match.FateMoved {
			movedIn[f.To] = append(movedIn[f.To], f)
			fields[f.To] = true
		}
	}
	order := accountingOrder(fields)
	nameW, valW := 0, 0
	for _, f := range order {
		nameW = max(nameW, textWidth(f))
		valW = max(valW, textWidth(mergedValue(sv.Merged, f)))
	}
	valW = min(max(valW, textWidth("(empty)")), 34)
	indent := 2 + nameW + 2 + valW + 2
	if indent > p.width/2 {
		indent = 6
	}
	for _, field := range order {
		val := mergedValue(sv.Merged, field)
		if val == "" {
			val = "(empty)"
		}
		var notes []string
		var bad []string
		for _, f := range byField[field] {
			if f.Fate == match.FateKept {
				notes = append(notes, "kept from "+label(f.ContactID))
			}
		}
		for _, f := range movedIn[field] {
			notes = append(notes, fmt.Sprintf("moved here: %s of %s (%s)", f.Field, label(f.ContactID), v.relabel(f.Why)))
		}
		var same []string
		sameAs := map[string][]string{}
		// Overrides with the same value and reason are one note.
		var overKeys []string
		overBy := map[string][]string{}
		for _, f := range byField[field] {
			if f.Fate == match.FateOverridden {
				k := fmt.Sprintf("%q not kept (%s)", f.Value, v.relabel(f.Why))
				if overBy[k] == nil {
					overKeys = append(overKeys, k)
				}
				overBy[k] = append(overBy[k], label(f.ContactID))
			}
		}
		for _, k := range overKeys {
			ids := overBy[k]
			slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(rank[a], rank[b]) })
			notes = append(notes, strings.Join(ids, ", ")+" "+k)
		}
		for _, f := range byField[field] {
			switch f.Fate {
			case match.FateDuplicate:
				if f.To == field {
					same = append(same, label(f.ContactID))
				} else {
					k := "the " + f.To + " kept from " + label(f.Of)
					sameAs[k] = append(sameAs[k], label(f.ContactID))
				}
			case match.FateMoved:
				notes = append(notes, fmt.Sprintf("%s's %q → %s", label(f.ContactID), f.Value, f.To))
			case match.FateUnkept:
				bad = append(bad, fmt.Sprintf("%s %q NOT KEPT: %s", label(f.ContactID), f.Value, v.relabel(f.Why)))
			}
		}
		if len(same) > 0 {
			slices.SortFunc(same, func(a, b string) int { return cmp.Compare(rank[a], rank[b]) })
			if len(same) == len(v.Members)-1 && len(notes) == 1 {
				notes[0] += "; the same in every other member"
			} else {
				notes = append(notes, "same: "+strings.Join(same, ", "))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(sameAs)) {
			notes = append(notes, "same as "+k+": "+strings.Join(sameAs[k], ", "))
		}
		head := "  " + pad(field, nameW) + "  " + pad(truncate(val, valW), valW) + "  "
		if indent == 6 {
			p.line(6, "  "+field+"  "+val)
			head = strings.Repeat(" ", indent)
		}
		all := append(notes, bad...)
		if len(all) == 0 {
			p.line(indent, strings.TrimRight(head, " "))
			continue
		}
		// One line per note, the first beside the value.
		for i, n := range all {
			prefix := head
			if i > 0 {
				prefix = strings.Repeat(" ", indent)
			}
			codes := []string(nil)
			if i >= len(notes) {
				codes = []string{ansiRed}
			}
			p.line(indent, prefix+n, codes...)
		}
	}
	if len(sv.Unkept) > 0 {
		p.line(4, fmt.Sprintf("  %d value(s) not kept; the ledger records them with the merge:", len(sv.Unkept)), ansiRed)
		for _, u := range sv.Unkept {
			p.line(6, fmt.Sprintf("    not kept: %s %s of %s", u.Field, u.Value, label(u.ContactID)), ansiRed)
		}
	}
}
