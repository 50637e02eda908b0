package review

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	cm "github.com/contactmerge/contactmerge"
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

// WriteGroup writes g for a reviewer: a line with its state, confidence and
// survivor (and the reason and canonical contact when set); a table with one
// row per review field (cm.ReviewFields) and one column per member, in
// member order, the survivor marked "*", then the merged record, leaving out
// fields empty everywhere and showing "(unknown)" for a member absent from
// members; the values survivorship could not place; and why the group was
// formed: every link's match weight and each field's contribution.
func WriteGroup(w io.Writer, g cm.Group, members map[string]cm.Contact) error {
	fmt.Fprintf(w, "group %s  state %s  confidence %.4f  survivor %s\n", g.ID, g.State, g.Confidence, g.SurvivorID)
	if g.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", g.Reason)
	}
	if g.CanonicalID != "" {
		fmt.Fprintf(w, "canonical contact: %s\n", g.CanonicalID)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "FIELD"
	for _, m := range g.Members {
		mark := ""
		if m == g.SurvivorID {
			mark = " *"
		}
		header += "\t" + m + mark
	}
	fmt.Fprintln(tw, header+"\tMERGED")
	for _, fld := range cm.ReviewFields() {
		row := fld.Name
		some := false
		for _, m := range g.Members {
			v := "(unknown)"
			if c, ok := members[m]; ok {
				v = fld.Get(&c)
			}
			some = some || v != ""
			row += "\t" + v
		}
		mv := ""
		if g.Merged != nil {
			mv = fld.Get(g.Merged)
		}
		if some || mv != "" {
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
