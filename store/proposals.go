package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// supersedable reports whether a match run may delete a group in state st
// when it no longer proposes it.
func supersedable(st cm.GroupState) bool {
	switch st {
	case cm.StateProposed, cm.StateApproved, cm.StateRejected, cm.StateQuarantined:
		return true
	}
	return false
}

// refreshable reports whether a match run may update a group in state st.
func refreshable(st cm.GroupState) bool {
	switch st {
	case cm.StateProposed, cm.StateApproved, cm.StateRejected:
		return true
	}
	return false
}

// existingGroup is what SaveProposals needs to know of a stored group.
type existingGroup struct {
	state cm.GroupState
	hash  string
}

// proposal is a group of a match run with its encoded columns.
type proposal struct {
	g cm.Group
	e encodedGroup
}

// prepareProposals sorts each group's members, defaults its id, encodes it
// (in parallel for large runs) and keeps the last group of each id, in id
// order. EINVALID for a group with neither id nor members.
func prepareProposals(groups []cm.Group) ([]proposal, error) {
	all := make([]proposal, len(groups))
	errs := make([]error, len(groups))
	parallelFor(len(groups), func(i int) {
		g := groups[i]
		g.Members = cm.SortedIDs(g.Members)
		if g.ID == "" {
			if len(g.Members) == 0 {
				errs[i] = cm.Errorf(cm.EINVALID, "group %d has neither id nor members", i)
				return
			}
			g.ID = cm.GroupID(g.Members)
		}
		e, err := encodeGroup(&g)
		if err != nil {
			errs[i] = cm.Errorf(cm.EINVALID, "group %s: %v", g.ID, err)
			return
		}
		all[i] = proposal{g, e}
	})
	if err := firstErr(errs); err != nil {
		return nil, err
	}
	in := make([]proposal, 0, len(all))
	idx := make(map[string]int, len(all))
	for _, p := range all {
		if j, ok := idx[p.g.ID]; ok {
			in[j] = p
			continue
		}
		idx[p.g.ID] = len(in)
		in = append(in, p)
	}
	// Key order keeps B-tree inserts local (ids are hashes).
	slices.SortFunc(in, func(a, b proposal) int { return strings.Compare(a.g.ID, b.g.ID) })
	return in, nil
}

// SaveProposals writes the groups of a match run; see cm.Store. Group ids
// default to cm.GroupID(members); members are sorted. New groups start
// proposed at version 1 with a ""→proposed transition row. Refreshed groups
// (proposed, approved or rejected, with a changed survivor, confidence,
// merged record, unkept values or explanation) get version+1 and a
// state→state transition row; unchanged groups are left alone. Superseded
// groups are deleted (with their member rows, not their decision rows) and
// get a note row; pair constraints are untouched.
func (s *core) SaveProposals(ctx context.Context, groups []cm.Group, actor string) (cm.ProposalResult, error) {
	return s.saveGroups(ctx, groups, nil, actor, nil)
}

// saveGroups is SaveProposals and SaveMatch: it writes groups (new,
// refreshed, or left alone when unchanged) and supersedes every stored group
// that neither groups nor unchanged holds and that a match may supersede.
// also, when not nil, runs in the same transaction before the ledger rows
// are written (SaveMatch: the match state).
func (s *core) saveGroups(ctx context.Context, groups []cm.Group, unchanged []string, actor string, also func(t tx, now time.Time) error) (cm.ProposalResult, error) {
	var res cm.ProposalResult
	now := s.clock()
	in, err := prepareProposals(groups)
	if err != nil {
		return res, err
	}
	proposed := make(map[string]bool, len(in)+len(unchanged))
	for _, p := range in {
		proposed[p.g.ID] = true
	}
	for _, id := range unchanged {
		proposed[id] = true
	}
	err = s.inTxRetry(ctx, "saveGroups", func(t tx) error {
		res = cm.ProposalResult{}
		if err := s.b.lockProposals(ctx, t); err != nil {
			return err
		}
		var existing map[string]existingGroup
		var err error
		if unchanged == nil {
			existing, err = loadExisting(ctx, t)
		} else {
			existing, res.Kept, err = loadExistingFor(ctx, t, in, unchanged)
		}
		if err != nil {
			return err
		}

		var newGroups, newMembers, ledger [][]any
		var refresh []groupRefresh
		for i := range in {
			p := &in[i]
			ex, ok := existing[p.g.ID]
			if !ok {
				g := p.g
				g.State = cm.StateProposed
				g.Attempts, g.CanonicalID, g.Reason, g.RetryAt, g.Quarantines = 0, "", "", time.Time{}, 0
				r := newGroupRows(g, p.e, now, actor, "proposed by match")
				newGroups = append(newGroups, r.group)
				newMembers = append(newMembers, r.members...)
				ledger = append(ledger, r.ledger)
				res.Created++
				continue
			}
			res.Kept++
			if ex.hash == p.e.hash || !refreshable(ex.state) {
				continue
			}
			refresh = append(refresh, groupRefresh{
				key: groupKey{id: p.g.ID, state: ex.state}, survivorID: p.g.SurvivorID, confidence: p.g.Confidence,
				merged: p.e.merged, unkept: p.e.unkept, explanation: p.e.explanation, hash: p.e.hash,
				updatedAt: micros(now),
			})
		}
		if err := keepStewardChoices(ctx, t, refresh); err != nil {
			return err
		}
		if len(newGroups) > 0 {
			slices.SortFunc(newMembers, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
			if err := t.bulkInsert(ctx, "groups", groupColumns(), newGroups); err != nil {
				return fmt.Errorf("insert groups: %w", err)
			}
			if err := t.bulkInsert(ctx, "group_members", memberColumns(), newMembers); err != nil {
				return fmt.Errorf("insert group members: %w", err)
			}
		}
		if len(refresh) > 0 {
			applied, err := t.refreshGroups(ctx, refresh)
			if err != nil {
				return fmt.Errorf("refresh groups: %w", err)
			}
			for i, ok := range applied {
				if ok {
					k := refresh[i].key
					ledger = append(ledger, ledgerValues(cm.LedgerEvent{
						At: now, Kind: cm.LedgerTransition, GroupID: k.id, From: k.state, To: k.state,
						Actor: actor, Detail: "refreshed by match",
					}))
				}
			}
		}
		var gone []groupKey
		for _, id := range slices.Sorted(maps.Keys(existing)) {
			if st := existing[id].state; !proposed[id] && supersedable(st) {
				gone = append(gone, groupKey{id: id, state: st})
			}
		}
		if len(gone) > 0 {
			// The state read above must still hold: a group that moved on
			// concurrently (say to ready) is not superseded.
			deleted, err := t.deleteGroups(ctx, gone)
			if err != nil {
				return fmt.Errorf("supersede groups: %w", err)
			}
			var ids []string
			for i, ok := range deleted {
				if !ok {
					continue
				}
				ids = append(ids, gone[i].id)
				ledger = append(ledger, ledgerValues(cm.LedgerEvent{
					At: now, Kind: cm.LedgerNote, GroupID: gone[i].id, From: gone[i].state, Actor: actor,
					Detail: "superseded by match: group no longer proposed",
				}))
				res.Superseded++
			}
			// Decision rows stay: they are the history of that member set
			// (the id is a hash of the members), and a steward's decisions
			// as such live on in pair_constraints, which no group owns.
			for c := range slices.Chunk(ids, chunkSize) {
				if _, err := t.exec(ctx, "DELETE FROM group_members WHERE group_id IN ("+placeholders(len(c))+")", anys(c)...); err != nil {
					return fmt.Errorf("supersede group_members: %w", err)
				}
			}
		}
		if also != nil {
			if err := also(t, now); err != nil {
				return err
			}
		}
		if len(ledger) == 0 {
			return nil
		}
		if err := s.b.lockLedger(ctx, t); err != nil {
			return err
		}
		return t.bulkInsert(ctx, "ledger", ledgerColumns(), ledger)
	})
	return res, err
}

// keepStewardChoices makes the refreshes of groups whose latest decision
// chose a survivor or field values keep the stored survivor, merged record
// and unkept values: a steward's choice is law, and a re-match must not put
// the policy's survivor back (preflight recomputes the merged record from
// the decision before anything is sent).
func keepStewardChoices(ctx context.Context, t tx, refresh []groupRefresh) error {
	at := make(map[string]int, len(refresh))
	for i, r := range refresh {
		if r.key.state != cm.StateProposed {
			at[r.key.id] = i
		}
	}
	ids := slices.Sorted(maps.Keys(at))
	for c := range slices.Chunk(ids, chunkSize) {
		rs, err := t.query(ctx, `SELECT g.id, g.survivor_id, g.merged, g.unkept FROM groups g
			JOIN decisions d ON d.id = (SELECT MAX(id) FROM decisions WHERE group_id = g.id)
			WHERE g.id IN (`+placeholders(len(c))+`) AND (d.survivor <> '' OR d.take <> '')`, anys(c)...)
		if err != nil {
			return fmt.Errorf("load steward choices: %w", err)
		}
		for rs.Next() {
			var id, survivor string
			var merged, unkept []byte
			if err := rs.Scan(&id, &survivor, &merged, &unkept); err != nil {
				rs.Close()
				return err
			}
			r := &refresh[at[id]]
			r.survivorID, r.merged, r.unkept = survivor, merged, unkept
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
	}
	return nil
}

// loadExisting reads the state and content hash of every stored group.
func loadExisting(ctx context.Context, t tx) (map[string]existingGroup, error) {
	existing := make(map[string]existingGroup)
	rs, err := t.query(ctx, "SELECT id, state, content_hash FROM groups")
	if err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	for rs.Next() {
		var id, st, h string
		if err := rs.Scan(&id, &st, &h); err != nil {
			rs.Close()
			return nil, err
		}
		existing[id] = existingGroup{cm.GroupState(st), h}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return existing, nil
}

// loadExistingFor is loadExisting for an incremental save (groups in and
// the ids unchanged kept as stored): it reads the ids of the stored groups
// alone (the primary key's index, not the rows with their merged records)
// and the state and content hash only of those in holds or neither holds
// (the groups to supersede and those no match may touch), so the map
// lacks the unchanged groups, which saveGroups neither rewrites nor
// supersedes. kept counts the stored ids among unchanged.
func loadExistingFor(ctx context.Context, t tx, in []proposal, unchanged []string) (map[string]existingGroup, int, error) {
	isUnchanged := make(map[string]bool, len(unchanged))
	for _, id := range unchanged {
		isUnchanged[id] = true
	}
	rs, err := t.query(ctx, "SELECT id FROM groups")
	if err != nil {
		return nil, 0, fmt.Errorf("load group ids: %w", err)
	}
	var want []string
	kept := 0
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return nil, 0, fmt.Errorf("scan group id: %w", err)
		}
		if isUnchanged[id] {
			kept++
			continue
		}
		want = append(want, id)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, 0, fmt.Errorf("load group ids: %w", err)
	}
	// An id both in in and unchanged is read too (saveGroups compares its
	// content hash).
	for _, p := range in {
		if isUnchanged[p.g.ID] {
			want = append(want, p.g.ID)
		}
	}
	existing := make(map[string]existingGroup, len(want))
	for c := range slices.Chunk(want, chunkSize) {
		rs, err := t.query(ctx, "SELECT id, state, content_hash FROM groups WHERE id IN ("+placeholders(len(c))+")", anys(c)...)
		if err != nil {
			return nil, 0, fmt.Errorf("load groups: %w", err)
		}
		for rs.Next() {
			var id, st, h string
			if err := rs.Scan(&id, &st, &h); err != nil {
				rs.Close()
				return nil, 0, fmt.Errorf("scan group: %w", err)
			}
			existing[id] = existingGroup{cm.GroupState(st), h}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, 0, fmt.Errorf("load groups: %w", err)
		}
	}
	return existing, kept, nil
}
