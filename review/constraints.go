package review

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Link records a person's decision that contacts a and b are one customer
// (a must-link on no group), as who with reason why at at, with a decision
// row in the ledger. It reports false, changing nothing, when a person
// already linked them so. EINVALID when a and b are the same or empty, when
// either is not in the snapshot, or when a person rejected the pair (the
// message names the rejection and the command that removes it).
func Link(ctx context.Context, st cm.Store, a, b, who, why string, at time.Time) (bool, error) {
	if a == "" || b == "" || a == b {
		return false, cm.Errorf(cm.EINVALID, "link needs two different contact ids (got %q and %q)", a, b)
	}
	cs, err := st.Contacts(ctx, []string{a, b})
	if err != nil {
		return false, err
	}
	for _, id := range []string{a, b} {
		if _, ok := cs[id]; !ok {
			return false, cm.Errorf(cm.EINVALID, "no contact %s in the store (scan or import it first; merged contacts are gone from the snapshot)", id)
		}
	}
	p := cm.MakePair(a, b)
	existing, err := pairConstraints(ctx, st, p)
	if err != nil {
		return false, err
	}
	var against []string
	for _, c := range existing {
		switch {
		case c.Kind == cm.CannotLink:
			against = append(against, c.String()+"; "+undo(c))
		case c.GroupID == "":
			return false, nil // already linked by itself
		}
	}
	if len(against) > 0 {
		return false, cm.Errorf(cm.EINVALID, "contacts %s and %s cannot be linked: a steward rejected the pair; remove that first:\n  %s",
			p.A, p.B, strings.Join(against, "\n  "))
	}
	err = st.ChangeConstraints(ctx, cm.ConstraintChange{Actor: who, Detail: "linked by " + who + reasonSuffix(why),
		Add: []cm.PairConstraint{{Kind: cm.MustLink, A: p.A, B: p.B, Actor: who, Reason: why, At: at}}})
	return err == nil, err
}

// Unlink removes every constraint of kind between a and b, whichever
// decision recorded it (plan link, an approval, a rejection), as who with
// reason why, with a decision row in the ledger, and returns what it
// removed. Removing a cannot-link lets match group the pair again; the
// group whose rejection recorded it stays rejected. EINVALID when there is
// none.
func Unlink(ctx context.Context, st cm.Store, a, b string, kind cm.ConstraintKind, who, why string) ([]cm.PairConstraint, error) {
	if a == "" || b == "" || a == b {
		return nil, cm.Errorf(cm.EINVALID, "unlink needs two different contact ids (got %q and %q)", a, b)
	}
	p := cm.MakePair(a, b)
	existing, err := pairConstraints(ctx, st, p)
	if err != nil {
		return nil, err
	}
	var gone []cm.PairConstraint
	var ids []int64
	for _, c := range existing {
		if c.Kind == kind {
			gone = append(gone, c)
			ids = append(ids, c.ID)
		}
	}
	if len(gone) == 0 {
		msg := fmt.Sprintf("no %s between %s and %s", kind, p.A, p.B)
		if len(existing) > 0 {
			flag := "--cannot-link "
			if kind == cm.CannotLink {
				flag = ""
			}
			msg += fmt.Sprintf(" (there is a %s: plan unlink %s%s %s)", existing[0].Kind, flag, p.A, p.B)
		}
		return nil, cm.Errorf(cm.EINVALID, "%s", msg)
	}
	err = st.ChangeConstraints(ctx, cm.ConstraintChange{Actor: who, Detail: "unlinked by " + who + reasonSuffix(why), Remove: ids})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

// Unreject takes back the rejection of group id, as who with reason why:
// it lifts the cannot-link pairs recorded on the group and moves it from
// rejected back to proposed, in one Transition, so that match and the
// policy treat it as any other proposal. A group superseded since (no
// longer stored) has only its pairs lifted; the returned group is then the
// zero Group. It returns the pairs lifted. EINVALID when the group is not
// rejected, when it also holds pairs that other decisions rejected (a
// proposal never holds a rejected pair), or when it is unknown and recorded
// no pairs.
func Unreject(ctx context.Context, st cm.Store, id, who, why string) (cm.Group, []cm.PairConstraint, error) {
	lifted, err := st.Constraints(ctx, cm.ConstraintFilter{GroupID: id, Kinds: []cm.ConstraintKind{cm.CannotLink}})
	if err != nil {
		return cm.Group{}, nil, err
	}
	ids := make([]int64, len(lifted))
	for i, c := range lifted {
		ids[i] = c.ID
	}
	detail := "unrejected by " + who + reasonSuffix(why)
	g, err := st.Group(ctx, id)
	if cm.IsCode(err, cm.ENOTFOUND) {
		if len(lifted) == 0 {
			return cm.Group{}, nil, cm.Errorf(cm.EINVALID, "no group %s, and no rejected pairs recorded on it", id)
		}
		err := st.ChangeConstraints(ctx, cm.ConstraintChange{Actor: who, Detail: detail + " (the group no longer exists)", Remove: ids})
		return cm.Group{}, lifted, err
	}
	if err != nil {
		return cm.Group{}, nil, err
	}
	if g.State != cm.StateRejected {
		return cm.Group{}, nil, cm.Errorf(cm.EINVALID, "group %s is %s, not rejected: there is nothing to unreject", id, g.State)
	}
	// A proposal never holds a rejected pair: pairs rejected on other
	// groups keep this one rejected.
	within, err := constraintsWithin(ctx, st, g)
	if err != nil {
		return cm.Group{}, nil, err
	}
	var others []string
	for _, c := range within {
		if c.Kind == cm.CannotLink && c.GroupID != id {
			others = append(others, c.String()+"; "+undo(c))
		}
	}
	if len(others) > 0 {
		return cm.Group{}, nil, cm.Errorf(cm.EINVALID, "group %s also holds pairs rejected by other decisions, so it cannot be proposed again; remove those first:\n  %s",
			id, strings.Join(others, "\n  "))
	}
	ng, err := st.Transition(ctx, cm.Transition{
		GroupID: id, From: []cm.GroupState{cm.StateRejected}, Version: g.Version, To: cm.StateProposed,
		Actor: who, Detail: detail, LiftConstraints: ids,
	})
	if err != nil {
		return cm.Group{}, nil, err
	}
	return ng, lifted, nil
}

func reasonSuffix(why string) string {
	if why == "" {
		return ""
	}
	return ": " + why
}

// pairConstraints returns every constraint between the contacts of p.
func pairConstraints(ctx context.Context, st cm.Store, p cm.Pair) ([]cm.PairConstraint, error) {
	return st.Constraints(ctx, cm.ConstraintFilter{Contacts: []string{p.A, p.B}, Within: true})
}

// ConstraintsFor returns the stewards' decisions that touch g's members:
// every constraint with an end among them, in recording order.
func ConstraintsFor(ctx context.Context, st cm.Store, g cm.Group) ([]cm.PairConstraint, error) {
	return st.Constraints(ctx, cm.ConstraintFilter{Contacts: g.Members})
}

// WriteConstraints renders cs (ConstraintsFor g) under a "Steward
// decisions" heading: one line per pair, saying whether both contacts are
// in g or which one is outside it. It writes nothing when cs is empty.
func WriteConstraints(w io.Writer, g cm.Group, cs []cm.PairConstraint) error {
	if len(cs) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nSteward decisions touching these members (%d):\n", len(cs))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tPAIR\tDECISION\tBY\tAT\tON GROUP\tREASON")
	for _, c := range cs {
		pair := c.A + " – " + c.B
		switch inA, inB := slices.Contains(g.Members, c.A), slices.Contains(g.Members, c.B); {
		case !inA:
			pair += " (" + c.A + " outside)"
		case !inB:
			pair += " (" + c.B + " outside)"
		}
		on := c.GroupID
		switch on {
		case "":
			on = "-"
		case g.ID:
			on = "this group"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, pair, c.Kind, c.Actor, c.At.UTC().Format(time.RFC3339), on, c.Reason)
	}
	return tw.Flush()
}
