package review

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
)

// BeforeImages returns the contacts as the ledger recorded them before the
// group's merge requests (the API rows' before-images), by id. When several
// rows hold an image of one contact, the first one wins: the contact as it
// was before the group's first merge. A row whose images do not decode is
// skipped; the ledger is append-only and one bad row must not hide the
// others.
func BeforeImages(ctx context.Context, st cm.Store, groupID string) (map[string]cm.Contact, error) {
	out := map[string]cm.Contact{}
	err := st.Ledger(ctx, cm.LedgerFilter{GroupID: groupID, Kinds: []cm.LedgerKind{cm.LedgerAPI}}, func(ev cm.LedgerEvent) error {
		var before []cm.Contact
		if len(ev.BeforeImages) == 0 || json.Unmarshal(ev.BeforeImages, &before) != nil {
			return nil
		}
		for _, c := range before {
			if _, ok := out[c.ID]; !ok {
				out[c.ID] = c
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MemberContacts returns g's members by id: from the snapshot, and for
// members a merge removed from the snapshot, their before-image from the
// ledger (BeforeImages). A member found in neither is absent.
func MemberContacts(ctx context.Context, st cm.Store, g cm.Group) (map[string]cm.Contact, error) {
	contacts, err := st.Contacts(ctx, g.Members)
	if err != nil {
		return nil, err
	}
	if len(contacts) == len(g.Members) {
		return contacts, nil
	}
	before, err := BeforeImages(ctx, st, g.ID)
	if err != nil {
		return nil, err
	}
	for id, c := range before {
		if _, ok := contacts[id]; !ok {
			contacts[id] = c
		}
	}
	return contacts, nil
}

// GroupView is one group as a reviewer sees it (`plan show GROUP`, and its
// --json): the members side by side, why the survivor was chosen, and the
// merged record with every member's values accounted for.
type GroupView struct {
	Group cm.Group `json:"group"`
	// Members are the group's members in member order.
	Members []MemberView `json:"members"`
	// Decision is the group's latest decision, if any.
	Decision *cm.Decision `json:"decision,omitempty"`
	// Survival is survivorship computed now on the known members, with the
	// group's survivor and the latest decision's per-field choices: the
	// merged record, why the survivor, what becomes of every value.
	Survival match.Survival `json:"survival"`
	// Unknown lists members found neither in the snapshot nor in the
	// ledger's before-images; Survival leaves them out.
	Unknown []string `json:"unknownMembers,omitempty"`
	// Stale reports that Survival's merged record differs from the one the
	// group holds (the snapshot changed since match, or a decision changed
	// the survivor without recomputing it). Preflight recomputes the record
	// from live data before any merge.
	Stale bool `json:"stale,omitempty"`
	// Rows has one row per cm.ReviewFields field that a member or the
	// merged record has a value for (every review field when a member is
	// unknown).
	Rows []FieldRow `json:"rows"`
}

// MemberView is one member of a GroupView.
type MemberView struct {
	ID string `json:"id"`
	// Label is the id as the text view shows it: the id, or its shortest
	// unique prefix of at least 8 characters followed by "…" when ids are
	// long (UUIDs).
	Label    string      `json:"label"`
	Survivor bool        `json:"survivor,omitempty"`
	Contact  *cm.Contact `json:"contact,omitempty"` // nil when unknown
}

// FieldRow is one review field across the members.
type FieldRow struct {
	Field string `json:"field"`
	// Values holds each member's value in member order: "" when empty,
	// "(unknown)" for an unknown member.
	Values []string `json:"values"`
	// Merged is the merged record's value (Survival's, or the group's own
	// when a member is unknown).
	Merged string `json:"merged"`
	// Differ reports that members hold different values after
	// normalization (match.Survival.Conflicts).
	Differ bool `json:"differ,omitempty"`
}

// ViewGroup builds the GroupView of g from the store: its members
// (MemberContacts) and decisions, with survivorship under opts (the run's
// settings; opts.Survivor and opts.Take are set from the group).
func ViewGroup(ctx context.Context, st cm.Store, g cm.Group, opts match.SurviveOptions) (GroupView, error) {
	members, err := MemberContacts(ctx, st, g)
	if err != nil {
		return GroupView{}, err
	}
	ds, err := st.Decisions(ctx, g.ID)
	if err != nil {
		return GroupView{}, err
	}
	return NewGroupView(g, members, ds, opts), nil
}

// NewGroupView builds the GroupView of g from its members by id and its
// decisions (oldest first), with survivorship under opts: the survivor is
// the latest decision's when it names one, else g.SurvivorID; the per-field
// choices are the latest decision's.
func NewGroupView(g cm.Group, members map[string]cm.Contact, decisions []cm.Decision, opts match.SurviveOptions) GroupView {
	v := GroupView{Group: g}
	if len(decisions) > 0 {
		d := decisions[len(decisions)-1]
		v.Decision = &d
		opts.Take = d.Take
	}
	labels := Labels(g.Members)
	var known []cm.Contact
	for i, id := range g.Members {
		mv := MemberView{ID: id, Label: labels[i], Survivor: id == g.SurvivorID}
		if c, ok := members[id]; ok {
			mv.Contact = &c
			known = append(known, c)
		} else {
			v.Unknown = append(v.Unknown, id)
		}
		v.Members = append(v.Members, mv)
	}
	// The latest decision's survivor holds (a later match may have reset the
	// group's; preflight applies the decision's too).
	opts.Survivor = cmp.Or(g.SurvivorID, opts.Survivor)
	if d := v.Decision; d != nil && d.Survivor != "" && slices.Contains(g.Members, d.Survivor) {
		opts.Survivor = d.Survivor
	}
	v.Survival = match.SurviveGroup(known, opts)
	merged := g.Merged
	if len(v.Unknown) == 0 && len(known) > 0 {
		merged = v.Survival.Merged
		a, _ := json.Marshal(g.Merged)
		b, _ := json.Marshal(v.Survival.Merged)
		v.Stale = !bytes.Equal(a, b) || g.SurvivorID != v.Survival.SurvivorID
	}
	differ := map[string]bool{}
	for _, f := range v.Survival.Conflicts {
		differ[f] = true
	}
	for _, fld := range cm.ReviewFields() {
		row := FieldRow{Field: fld.Name, Differ: differ[fld.Name]}
		some := len(v.Unknown) > 0
		for _, m := range v.Members {
			val := "(unknown)"
			if m.Contact != nil {
				val = fld.Get(m.Contact)
				some = some || val != ""
			}
			row.Values = append(row.Values, val)
		}
		if merged != nil {
			row.Merged = fld.Get(merged)
		}
		if some || row.Merged != "" {
			v.Rows = append(v.Rows, row)
		}
	}
	return v
}

// Labels returns the text view's label of each id (MemberView.Label): the
// ids themselves when none is longer than 12 characters, else each id's
// shortest prefix of at least 8 characters that no other id starts with,
// followed by "…".
func Labels(ids []string) []string {
	long := false
	for _, id := range ids {
		long = long || len([]rune(id)) > 12
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		r := []rune(id)
		if !long {
			out[i] = id
			continue
		}
		n := min(8, len(r))
		for ; n < len(r); n++ {
			unique := true
			for j, other := range ids {
				if j != i && other != id && len([]rune(other)) >= n && string([]rune(other)[:n]) == string(r[:n]) {
					unique = false
					break
				}
			}
			if unique {
				break
			}
		}
		if n >= len(r) {
			out[i] = id
		} else {
			out[i] = string(r[:n]) + "…"
		}
	}
	return out
}
