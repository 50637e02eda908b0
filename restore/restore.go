package restore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
)

// Config configures a Restorer. Zero fields take the defaults stated.
type Config struct {
	// Actor is who the ledger and the constraints name. Default "restore".
	Actor string
	// Owner names the restore's leases. Default "restore@HOST:PID".
	Owner string
	// Settle is how long after a create whose outcome is unknown the
	// marker lookup must still find nothing before the create is sent
	// again (a write may complete after the gateway gave up). Default 2 min,
	// as the engine's VerifySettle.
	Settle time.Duration
	// LeaseTTL is the lifetime of the leases on the group's contacts.
	// Default 2 min.
	LeaseTTL time.Duration
	// KeepEdited lets a plan with conflicts go ahead: the fields edited
	// since the merge are left as they are. Without it Plan refuses them.
	KeepEdited bool
	// Now is the clock of the ledger's ages. Default time.Now.
	Now func() time.Time
	// Logger gets retries and waits. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	c.Actor = cmp.Or(c.Actor, "restore")
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = fmt.Sprintf("restore@%s:%d", host, os.Getpid())
	}
	c.Settle = cmp.Or(c.Settle, 2*time.Minute)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, 2*time.Minute)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Restorer plans and executes restores of a store's merged groups.
type Restorer struct {
	st  cm.Store
	api *genesys.Client
	cfg Config
}

// New returns a Restorer on st and api.
func New(st cm.Store, api *genesys.Client, cfg Config) *Restorer {
	return &Restorer{st: st, api: api, cfg: cfg.withDefaults()}
}

// Member is one member a plan restores.
type Member struct {
	ID string `json:"memberId"`
	// Before is its before-image: what the restored contact is created from.
	Before cm.Contact `json:"beforeImage"`
	// Marker is the value of the marker external id (Marker).
	Marker string `json:"marker"`
	// RestoredID is set when an earlier, interrupted restore created the
	// contact already; Pending when that create's outcome is unknown (it
	// is verified before anything is sent).
	RestoredID string `json:"restoredId,omitempty"`
	Pending    bool   `json:"pending,omitempty"`
}

// Plan is what a restore will do, computed from the ledger, the store and
// one read of the canonical contact; Execute does it.
type Plan struct {
	GroupID string `json:"groupId"`
	// CanonicalID is the canonical contact now (the group's, or the one a
	// later merge made of it).
	CanonicalID string   `json:"canonicalId"`
	Members     []Member `json:"members"`
	// Staying are the members that stay merged.
	Staying   []string   `json:"staying"`
	Removals  []Removal  `json:"removals"`
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// CannotLink are the pairs recorded as different customers (the new
	// ids are added when they are known).
	CannotLink []cm.Pair `json:"cannotLink"`
	// Lost says what a restore cannot give back.
	Lost []string `json:"cannotRestore"`

	group    cm.Group
	restored []cm.Contact // before-images of Members
	staying  []cm.Contact // before-images of Staying, most recently modified first
	baseline *cm.Contact
}

// lost is what no restore gives back.
func lost(canonical string) []string {
	return []string{
		"conversations, notes, cases and journey history stay on the old ids, which the platform resolves to the canonical contact " + canonical,
		"the restored contact has a new id (the old id stays an alias of " + canonical + " for ever) and is Curated (created through the API)",
		"identifiers (phones, emails) the canonical contact claimed stay claimed by it until it releases them",
	}
}

// Plan computes the restore of members (all but the survivor when empty)
// of group. Bad input is EINVALID, with nothing sent: a group that is not
// merged, a member not in it or already restored, no before-image, every
// member chosen, a canonical contact gone, and (without
// Config.KeepEdited) conflicts; with conflicts the plan is returned with
// the error, so that they can be shown.
func (r *Restorer) Plan(ctx context.Context, groupID string, members []string) (*Plan, error) {
	g, err := r.st.Group(ctx, groupID)
	if cm.IsCode(err, cm.ENOTFOUND) {
		return nil, cm.Errorf(cm.EINVALID, "restore: no group %s in the store ('contactmerge plan show --state merged' lists the merged groups); nothing was sent", groupID)
	}
	if err != nil {
		return nil, err
	}
	if g.State != cm.StateMerged {
		return nil, cm.Errorf(cm.EINVALID, "restore: group %s is %s, not merged: only the members of a merged group can be restored; nothing was sent", g.ID, g.State)
	}
	h, err := readHistory(ctx, r.st, g.ID)
	if err != nil {
		return nil, err
	}
	chosen, err := choose(g, h, members)
	if err != nil {
		return nil, err
	}
	p := &Plan{GroupID: g.ID, group: g}
	for _, id := range g.Members {
		if !slices.Contains(chosen, id) && !h.member(id).done {
			p.Staying = append(p.Staying, id)
		}
	}
	if len(p.Staying) == 0 {
		return nil, cm.Errorf(cm.EINVALID, "restore: restoring %s would leave no member in the canonical contact %s of group %s: "+
			"at least one member stays merged (--members chooses who leaves); nothing was sent", strings.Join(chosen, ", "), g.CanonicalID, g.ID)
	}
	for _, id := range append(slices.Clone(chosen), p.Staying...) {
		if _, ok := h.images[id]; !ok {
			return nil, cm.Errorf(cm.EINVALID, "restore: the ledger holds no before-image of member %s of group %s, so its values cannot be told apart; nothing was sent", id, g.ID)
		}
	}
	for _, id := range chosen {
		img := h.images[id]
		if len(img.ExternalIDs) >= genesysMaxExternalIDs {
			return nil, cm.Errorf(cm.EINVALID, "restore: member %s has %d external ids, the most a contact holds, and no room for the restore marker; nothing was sent", id, len(img.ExternalIDs))
		}
		ms := h.member(id)
		p.Members = append(p.Members, Member{ID: id, Before: img, Marker: Marker(g.ID, id), RestoredID: ms.restoredID, Pending: ms.pending && ms.restoredID == ""})
		p.restored = append(p.restored, img)
	}
	for _, id := range p.Staying {
		p.staying = append(p.staying, h.images[id])
	}
	slices.SortStableFunc(p.staying, func(a, b cm.Contact) int { return b.ModifyDate.Compare(a.ModifyDate) })

	current, err := r.readCanonical(ctx, g.CanonicalID)
	if err != nil {
		return nil, err
	}
	p.CanonicalID = current.ID
	snap, err := r.st.Contacts(ctx, cm.SortedIDs([]string{current.ID, g.CanonicalID}))
	if err != nil {
		return nil, err
	}
	p.baseline = current
	if c, ok := snap[current.ID]; ok {
		p.baseline = &c
	} else if c, ok := snap[g.CanonicalID]; ok {
		p.baseline = &c
	}
	p.Removals, p.Conflicts, _ = diff(p.restored, p.staying, p.baseline, current)
	for _, m := range p.Members {
		p.CannotLink = append(p.CannotLink, cm.CrossPairs([]string{m.ID}, append(slices.Clone(p.Staying), p.CanonicalID))...)
	}
	p.Lost = lost(p.CanonicalID)
	if len(p.Conflicts) > 0 && !r.cfg.KeepEdited {
		lines := make([]string, len(p.Conflicts))
		for i, c := range p.Conflicts {
			lines[i] = c.String()
		}
		return p, cm.Errorf(cm.EINVALID, "restore: the canonical contact %s was edited since the merge in %d field(s) the restore would change, and an edit is never overwritten:\n  %s\n"+
			"nothing was sent; --keep-edited restores the rest and leaves these fields as they are", p.CanonicalID, len(p.Conflicts), strings.Join(lines, "\n  "))
	}
	return p, nil
}

// genesysMaxExternalIDs is the most external ids one contact holds
// (GENESYS_API.md §2: externalIds ≤10).
const genesysMaxExternalIDs = 10

// choose returns the members to restore: members (each in the group and
// not restored yet), or all but the survivor and those restored.
func choose(g cm.Group, h *history, members []string) ([]string, error) {
	if len(members) == 0 {
		var out []string
		for _, id := range g.Members {
			if id != g.SurvivorID && !h.member(id).done {
				out = append(out, id)
			}
		}
		if len(out) == 0 {
			return nil, cm.Errorf(cm.EINVALID, "restore: every member of group %s but its survivor %s is restored already; nothing was sent", g.ID, g.SurvivorID)
		}
		return out, nil
	}
	out := cm.SortedIDs(members)
	for _, id := range out {
		if !slices.Contains(g.Members, id) {
			return nil, cm.Errorf(cm.EINVALID, "restore: contact %s is not a member of group %s (members: %s); nothing was sent", id, g.ID, strings.Join(g.Members, ", "))
		}
		if m := h.member(id); m.done {
			return nil, cm.Errorf(cm.EINVALID, "restore: member %s of group %s was restored already as %s (ledger row %d); a member is restored once; nothing was sent",
				id, g.ID, m.restoredID, m.doneSeq)
		}
	}
	return out, nil
}

// readCanonical reads the canonical contact id stands for now (the
// platform resolves a merged-away id).
func (r *Restorer) readCanonical(ctx context.Context, id string) (*cm.Contact, error) {
	c, _, err := r.api.Contacts.Get(ctx, id)
	if errors.Is(err, genesys.ErrNotFound) {
		return nil, cm.Errorf(cm.EINVALID, "restore: the canonical contact %s no longer exists on the platform (deleted?): there is nothing to restore from; nothing was sent", id)
	}
	if err != nil {
		return nil, fmt.Errorf("restore: reading the canonical contact %s: %w", id, err)
	}
	return c, nil
}
