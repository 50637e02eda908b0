package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// chunkSize bounds the number of ids bound into one IN (...) list.
const chunkSize = 500

// groupCols are the columns of groups in the order scanGroup reads them.
const groupCols = `id, parent_id, state, members, survivor_id, confidence, merged, unkept, explanation,
	content_hash, plan_version, attempts, idempotency_key, canonical_id, reason, retry_at, quarantines,
	created_at, updated_at, version`

// ledgerCols returns the insertable columns of ledger, in ledgerArgs order.
func ledgerCols() []string {
	return []string{
		"at", "kind", "group_id", "from_state", "to_state", "actor", "attempt", "idempotency_key",
		"request", "status", "correlation_id", "canonical_id", "before_images", "unkept", "detail",
	}
}

// groupInsertCols returns the columns written when a group is created.
func groupInsertCols() []string {
	return []string{
		"id", "parent_id", "state", "members", "survivor_id", "confidence", "merged", "unkept", "explanation",
		"content_hash", "plan_version", "attempts", "idempotency_key", "canonical_id", "reason", "retry_at",
		"quarantines", "created_at", "updated_at", "version",
	}
}

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

// core implements cm.Store over a backend.
type core struct {
	b    backend
	norm cm.Normalizer
	now  func() time.Time
}

// clock returns the current time as stored: UTC, microsecond precision.
func (s *core) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Close releases the store's connections.
func (s *core) Close() error { return s.b.close() }

// Kind returns "sqlite" or "postgres".
func (s *core) Kind() string { return s.b.kind() }

// inTx runs fn in a write transaction, committing when it returns nil.
func (s *core) inTx(ctx context.Context, fn func(tx) error) error {
	t, err := s.b.begin(ctx)
	if err != nil {
		return s.b.translate(fmt.Errorf("begin: %w", err))
	}
	if err := fn(t); err != nil {
		_ = t.rollback(context.WithoutCancel(ctx))
		return s.b.translate(err)
	}
	if err := t.commit(ctx); err != nil {
		_ = t.rollback(context.WithoutCancel(ctx))
		return s.b.translate(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// ---- contacts ----

// parallelEncodeMin is the batch size from which contacts are encoded on
// several goroutines.
const parallelEncodeMin = 256

// contactRows validates and encodes contacts, keeping for each id the one
// with the newest ModifyDate (the later one on a tie). Large batches are
// encoded in parallel.
func (s *core) contactRows(cs []cm.Contact, now time.Time) ([]contactRow, error) {
	for i := range cs {
		if cs[i].ID == "" {
			return nil, cm.Errorf(cm.EINVALID, "contact %d has no id", i)
		}
	}
	enc := make([]contactRow, len(cs))
	errs := make([]error, len(cs))
	encode := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			c := &cs[i]
			data, err := json.Marshal(c)
			if err != nil {
				errs[i] = cm.Errorf(cm.EINVALID, "contact %s: %v", c.ID, err)
				continue
			}
			var norm []byte
			if s.norm != nil {
				norm = s.norm(c)
			}
			enc[i] = contactRow{id: c.ID, divisionID: c.DivisionID(), typ: c.Type, modifyDate: modifyKey(c.ModifyDate),
				data: data, norm: norm, updatedAt: micros(now)}
		}
	}
	if workers := min(runtime.GOMAXPROCS(0), len(cs)/parallelEncodeMin); workers > 1 {
		var wg sync.WaitGroup
		per := (len(cs) + workers - 1) / workers
		for lo := 0; lo < len(cs); lo += per {
			wg.Go(func() { encode(lo, min(lo+per, len(cs))) })
		}
		wg.Wait()
	} else {
		encode(0, len(cs))
	}
	if err := firstErr(errs); err != nil {
		return nil, err
	}
	out := enc[:0:0]
	idx := make(map[string]int, len(enc))
	for _, r := range enc {
		j, ok := idx[r.id]
		switch {
		case !ok:
			idx[r.id] = len(out)
			out = append(out, r)
		case r.modifyDate >= out[j].modifyDate:
			out[j] = r
		}
	}
	return out, nil
}

// UpsertContacts inserts or replaces snapshot contacts by id, in one
// transaction. A stored contact is replaced only when the incoming ModifyDate
// is not older. EINVALID for a contact without id.
func (s *core) UpsertContacts(ctx context.Context, cs []cm.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	rs, err := s.contactRows(cs, s.clock())
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(t tx) error { return t.upsertContacts(ctx, rs) })
}

// DeleteContacts removes contacts from the snapshot; unknown ids are ignored.
func (s *core) DeleteContacts(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, func(t tx) error { return deleteContacts(ctx, t, ids) })
}

func deleteContacts(ctx context.Context, q querier, ids []string) error {
	for _, c := range chunks(cm.SortedIDs(ids), chunkSize) {
		if _, err := q.exec(ctx, "DELETE FROM contacts WHERE id IN ("+placeholders(len(c))+")", anys(c)...); err != nil {
			return fmt.Errorf("delete contacts: %w", err)
		}
	}
	return nil
}

// Contacts returns the stored contacts with the given ids; missing ids are
// absent from the map.
func (s *core) Contacts(ctx context.Context, ids []string) (map[string]cm.Contact, error) {
	out := make(map[string]cm.Contact, len(ids))
	for _, c := range chunks(cm.SortedIDs(ids), chunkSize) {
		err := s.eachContactWhere(ctx, "WHERE id IN ("+placeholders(len(c))+")", anys(c), func(ct *cm.Contact) error {
			out[ct.ID] = *ct
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EachContact calls fn for every snapshot contact in id order, stopping at
// the first error fn returns (which it returns unchanged).
func (s *core) EachContact(ctx context.Context, fn func(*cm.Contact) error) error {
	return s.eachContactWhere(ctx, "", nil, fn)
}

func (s *core) eachContactWhere(ctx context.Context, where string, args []any, fn func(*cm.Contact) error) error {
	rs, err := s.b.reader().query(ctx, "SELECT id, data FROM contacts "+where+" ORDER BY id", args...)
	if err != nil {
		return s.b.translate(fmt.Errorf("query contacts: %w", err))
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var data []byte
		if err := rs.Scan(&id, &data); err != nil {
			return fmt.Errorf("scan contact: %w", err)
		}
		var c cm.Contact
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("decode contact %s: %w", id, err)
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return s.b.translate(rs.Err())
}

// EachNorm calls fn with every contact's id and stored normalized form (nil
// when none) in id order, stopping at the first error fn returns. The norm
// slice is only valid during the call.
func (s *core) EachNorm(ctx context.Context, fn func(id string, norm []byte) error) error {
	rs, err := s.b.reader().query(ctx, "SELECT id, norm FROM contacts ORDER BY id")
	if err != nil {
		return s.b.translate(fmt.Errorf("query norms: %w", err))
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var norm []byte
		if err := rs.Scan(&id, &norm); err != nil {
			return fmt.Errorf("scan norm: %w", err)
		}
		if err := fn(id, norm); err != nil {
			return err
		}
	}
	return s.b.translate(rs.Err())
}

// CountContacts returns the number of snapshot contacts.
func (s *core) CountContacts(ctx context.Context) (int64, error) {
	var n int64
	if err := s.b.reader().queryRow(ctx, "SELECT count(*) FROM contacts").Scan(&n); err != nil {
		return 0, s.b.translate(fmt.Errorf("count contacts: %w", err))
	}
	return n, nil
}

// ---- scans ----

// ScanState returns the progress of the named scan (the zero value with the
// name set when it never ran).
func (s *core) ScanState(ctx context.Context, name string) (cm.ScanState, error) {
	return scanState(ctx, s.b.reader(), name)
}

func scanState(ctx context.Context, q querier, name string) (cm.ScanState, error) {
	st := cm.ScanState{Name: name}
	var started, updated int64
	err := q.queryRow(ctx, "SELECT cursor, pages, contacts, done, started_at, updated_at FROM scans WHERE name = ?", name).
		Scan(&st.Cursor, &st.Pages, &st.Contacts, &st.Done, &started, &updated)
	switch {
	case errors.Is(err, errNoRows):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("scan state %s: %w", name, err)
	}
	st.StartedAt, st.UpdatedAt = fromMicros(started), fromMicros(updated)
	return st, nil
}

// SaveScanPage upserts a page of contacts and records st in one transaction.
// UpdatedAt is set to now; a zero StartedAt keeps the stored one (now for a
// new scan).
func (s *core) SaveScanPage(ctx context.Context, st cm.ScanState, page []cm.Contact) error {
	if st.Name == "" {
		return cm.Errorf(cm.EINVALID, "scan state has no name")
	}
	now := s.clock()
	rs, err := s.contactRows(page, now)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(t tx) error {
		if len(rs) > 0 {
			if err := t.upsertContacts(ctx, rs); err != nil {
				return err
			}
		}
		started := st.StartedAt
		if started.IsZero() {
			old, err := scanState(ctx, t, st.Name)
			if err != nil {
				return err
			}
			started = old.StartedAt
			if started.IsZero() {
				started = now
			}
		}
		_, err := t.exec(ctx, `INSERT INTO scans (name, cursor, pages, contacts, done, started_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, pages = excluded.pages,
				contacts = excluded.contacts, done = excluded.done, started_at = excluded.started_at,
				updated_at = excluded.updated_at`,
			st.Name, st.Cursor, int64(st.Pages), st.Contacts, st.Done, micros(started), micros(now))
		if err != nil {
			return fmt.Errorf("save scan %s: %w", st.Name, err)
		}
		return nil
	})
}

// ResetScan forgets the named scan's progress.
func (s *core) ResetScan(ctx context.Context, name string) error {
	return s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, "DELETE FROM scans WHERE name = ?", name)
		return err
	})
}

// ---- groups ----

// encodedGroup is a group's JSON columns.
type encodedGroup struct {
	members, merged, unkept, explanation []byte
	hash                                 string
}

func encodeGroup(g *cm.Group) (encodedGroup, error) {
	var e encodedGroup
	var err error
	if e.members, err = json.Marshal(g.Members); err != nil {
		return e, err
	}
	if g.Merged != nil {
		if e.merged, err = json.Marshal(g.Merged); err != nil {
			return e, err
		}
	}
	if len(g.Unkept) > 0 {
		if e.unkept, err = json.Marshal(g.Unkept); err != nil {
			return e, err
		}
	}
	if g.Explanation != nil {
		if e.explanation, err = json.Marshal(g.Explanation); err != nil {
			return e, err
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%g\x00", g.SurvivorID, g.ParentID, g.Confidence)
	for _, b := range [][]byte{e.members, e.merged, e.unkept, e.explanation} {
		h.Write(b)
		h.Write([]byte{0})
	}
	e.hash = hex.EncodeToString(h.Sum(nil)[:16])
	return e, nil
}

// jsonArg binds nil JSON as SQL NULL.
func jsonArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func groupInsertArgs(g *cm.Group, e encodedGroup) []any {
	return []any{
		g.ID, g.ParentID, string(g.State), e.members, g.SurvivorID, g.Confidence, jsonArg(e.merged),
		jsonArg(e.unkept), jsonArg(e.explanation), e.hash, int64(g.PlanVersion), int64(g.Attempts),
		g.IdempotencyKey, g.CanonicalID, g.Reason, micros(g.RetryAt), int64(g.Quarantines),
		micros(g.CreatedAt), micros(g.UpdatedAt), g.Version,
	}
}

func scanGroup(r row) (cm.Group, error) {
	var g cm.Group
	var state string
	var members, merged, unkept, explanation []byte
	var hash string
	var planVersion, attempts, quarantines int64
	var retry, created, updated int64
	err := r.Scan(&g.ID, &g.ParentID, &state, &members, &g.SurvivorID, &g.Confidence, &merged, &unkept,
		&explanation, &hash, &planVersion, &attempts, &g.IdempotencyKey, &g.CanonicalID, &g.Reason, &retry,
		&quarantines, &created, &updated, &g.Version)
	if err != nil {
		return g, err
	}
	g.State = cm.GroupState(state)
	g.PlanVersion, g.Attempts, g.Quarantines = int(planVersion), int(attempts), int(quarantines)
	g.RetryAt, g.CreatedAt, g.UpdatedAt = fromMicros(retry), fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal(members, &g.Members); err != nil {
		return g, fmt.Errorf("group %s members: %w", g.ID, err)
	}
	if merged != nil {
		g.Merged = new(cm.Contact)
		if err := json.Unmarshal(merged, g.Merged); err != nil {
			return g, fmt.Errorf("group %s merged: %w", g.ID, err)
		}
	}
	if unkept != nil {
		if err := json.Unmarshal(unkept, &g.Unkept); err != nil {
			return g, fmt.Errorf("group %s unkept: %w", g.ID, err)
		}
	}
	if explanation != nil {
		g.Explanation = new(cm.Explanation)
		if err := json.Unmarshal(explanation, g.Explanation); err != nil {
			return g, fmt.Errorf("group %s explanation: %w", g.ID, err)
		}
	}
	return g, nil
}

// Group returns one group; ENOTFOUND if absent.
func (s *core) Group(ctx context.Context, id string) (cm.Group, error) {
	g, err := scanGroup(s.b.reader().queryRow(ctx, "SELECT "+groupCols+" FROM groups WHERE id = ?", id))
	if errors.Is(err, errNoRows) {
		return g, cm.Errorf(cm.ENOTFOUND, "group %s not found", id)
	}
	if err != nil {
		return g, s.b.translate(fmt.Errorf("group %s: %w", id, err))
	}
	return g, nil
}

// Groups returns the groups matching f, ordered by id.
func (s *core) Groups(ctx context.Context, f cm.GroupFilter) ([]cm.Group, error) {
	var where []string
	var args []any
	if len(f.States) > 0 {
		col := "state"
		if f.IDs != nil {
			// Keep the planner on the primary key (SQLite would pick the
			// state index and scan it once per id chunk).
			col = "(state || '')"
		}
		where = append(where, col+" IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if f.MinConfidence > 0 {
		where = append(where, "confidence >= ?")
		args = append(args, f.MinConfidence)
	}
	if !f.RetryBefore.IsZero() {
		where = append(where, "retry_at <= ?")
		args = append(args, micros(f.RetryBefore))
	}
	if f.AfterID != "" {
		where = append(where, "id > ?")
		args = append(args, f.AfterID)
	}
	limit := ""
	if f.Limit > 0 {
		limit = fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	if f.IDs == nil {
		return s.queryGroups(ctx, where, args, limit)
	}
	var out []cm.Group
	for _, c := range chunks(cm.SortedIDs(f.IDs), chunkSize) {
		w := append(slices.Clip(where), "id IN ("+placeholders(len(c))+")")
		gs, err := s.queryGroups(ctx, w, append(slices.Clip(args), anys(c)...), limit)
		if err != nil {
			return nil, err
		}
		out = append(out, gs...)
		if f.Limit > 0 && len(out) >= f.Limit {
			return out[:f.Limit], nil
		}
	}
	return out, nil
}

func (s *core) queryGroups(ctx context.Context, where []string, args []any, limit string) ([]cm.Group, error) {
	q := "SELECT " + groupCols + " FROM groups"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rs, err := s.b.reader().query(ctx, q+" ORDER BY id"+limit, args...)
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("query groups: %w", err))
	}
	defer rs.Close()
	var out []cm.Group
	for rs.Next() {
		g, err := scanGroup(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, s.b.translate(rs.Err())
}

// CountByState returns the number of groups in each state that has any.
func (s *core) CountByState(ctx context.Context) (map[cm.GroupState]int, error) {
	rs, err := s.b.reader().query(ctx, "SELECT state, count(*) FROM groups GROUP BY state")
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("count groups: %w", err))
	}
	defer rs.Close()
	out := make(map[cm.GroupState]int)
	for rs.Next() {
		var st string
		var n int64
		if err := rs.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[cm.GroupState(st)] = int(n)
	}
	return out, s.b.translate(rs.Err())
}

// Decisions returns the review decisions of a group, oldest first.
func (s *core) Decisions(ctx context.Context, groupID string) ([]cm.Decision, error) {
	rs, err := s.b.reader().query(ctx,
		"SELECT approve, actor, reason, at, survivor FROM decisions WHERE group_id = ? ORDER BY id", groupID)
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("query decisions: %w", err))
	}
	defer rs.Close()
	var out []cm.Decision
	for rs.Next() {
		d := cm.Decision{GroupID: groupID}
		var at int64
		if err := rs.Scan(&d.Approve, &d.Actor, &d.Reason, &at, &d.Survivor); err != nil {
			return nil, err
		}
		d.At = fromMicros(at)
		out = append(out, d)
	}
	return out, s.b.translate(rs.Err())
}

// firstErr returns the first non-nil error of errs.
func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// GroupIDsByMember returns, for each given contact id that belongs to any
// stored group, the ids of those groups in order.
func (s *core) GroupIDsByMember(ctx context.Context, memberIDs []string) (map[string][]string, error) {
	out := make(map[string][]string)
	for _, c := range chunks(cm.SortedIDs(memberIDs), chunkSize) {
		rs, err := s.b.reader().query(ctx, "SELECT member_id, group_id FROM group_members WHERE member_id IN ("+
			placeholders(len(c))+") ORDER BY member_id, group_id", anys(c)...)
		if err != nil {
			return nil, s.b.translate(fmt.Errorf("query group members: %w", err))
		}
		for rs.Next() {
			var m, g string
			if err := rs.Scan(&m, &g); err != nil {
				rs.Close()
				return nil, err
			}
			out[m] = append(out[m], g)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, s.b.translate(err)
		}
	}
	return out, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// existingGroup is what SaveProposals needs to know of a stored group.
type existingGroup struct {
	state cm.GroupState
	hash  string
}

// SaveProposals writes the groups of a match run; see cm.Store. Group ids
// default to cm.GroupID(members); members are sorted. New groups start
// proposed at version 1 with a ""→proposed transition row. Refreshed groups
// (proposed, approved or rejected, with a changed survivor, confidence,
// merged record, unkept values or explanation) get version+1 and a
// state→state transition row; unchanged groups are left alone. Superseded
// groups are deleted (with their decisions) and get a note row.
func (s *core) SaveProposals(ctx context.Context, groups []cm.Group, actor string) (cm.ProposalResult, error) {
	var res cm.ProposalResult
	now := s.clock()
	type prepared struct {
		g cm.Group
		e encodedGroup
	}
	all := make([]prepared, len(groups))
	errs := make([]error, len(groups))
	encode := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := groups[i]
			g.Members = cm.SortedIDs(g.Members)
			if g.ID == "" {
				if len(g.Members) == 0 {
					errs[i] = cm.Errorf(cm.EINVALID, "group %d has neither id nor members", i)
					continue
				}
				g.ID = cm.GroupID(g.Members)
			}
			e, err := encodeGroup(&g)
			if err != nil {
				errs[i] = cm.Errorf(cm.EINVALID, "group %s: %v", g.ID, err)
				continue
			}
			all[i] = prepared{g, e}
		}
	}
	if workers := min(runtime.GOMAXPROCS(0), len(groups)/parallelEncodeMin); workers > 1 {
		var wg sync.WaitGroup
		per := (len(groups) + workers - 1) / workers
		for lo := 0; lo < len(groups); lo += per {
			wg.Go(func() { encode(lo, min(lo+per, len(groups))) })
		}
		wg.Wait()
	} else {
		encode(0, len(groups))
	}
	if err := firstErr(errs); err != nil {
		return res, err
	}
	in := make([]prepared, 0, len(all))
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
	slices.SortFunc(in, func(a, b prepared) int { return strings.Compare(a.g.ID, b.g.ID) })
	for i := range in {
		idx[in[i].g.ID] = i
	}
	err := s.inTx(ctx, func(t tx) error {
		res = cm.ProposalResult{}
		if err := s.b.lockProposals(ctx, t); err != nil {
			return err
		}
		existing := make(map[string]existingGroup)
		rs, err := t.query(ctx, "SELECT id, state, content_hash FROM groups")
		if err != nil {
			return fmt.Errorf("load groups: %w", err)
		}
		for rs.Next() {
			var id, st, h string
			if err := rs.Scan(&id, &st, &h); err != nil {
				rs.Close()
				return err
			}
			existing[id] = existingGroup{cm.GroupState(st), h}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}

		var newGroups, newMembers, ledger [][]any
		var updArgs [][]any
		var updIDs []string
		var updStates []cm.GroupState
		for i := range in {
			p := &in[i]
			ex, ok := existing[p.g.ID]
			if !ok {
				g := p.g
				g.State, g.Version, g.CreatedAt, g.UpdatedAt = cm.StateProposed, 1, now, now
				g.Attempts, g.CanonicalID, g.Reason, g.RetryAt, g.Quarantines = 0, "", "", time.Time{}, 0
				newGroups = append(newGroups, groupInsertArgs(&g, p.e))
				for _, m := range g.Members {
					newMembers = append(newMembers, []any{m, g.ID})
				}
				ledger = append(ledger, ledgerArgs(cm.LedgerEvent{
					At: now, Kind: cm.LedgerTransition, GroupID: g.ID, To: cm.StateProposed, Actor: actor,
					Detail: "proposed by match",
				}))
				res.Created++
				continue
			}
			res.Kept++
			if ex.hash == p.e.hash || !refreshable(ex.state) {
				continue
			}
			updArgs = append(updArgs, []any{p.g.SurvivorID, p.g.Confidence, jsonArg(p.e.merged),
				jsonArg(p.e.unkept), jsonArg(p.e.explanation), p.e.hash, micros(now), p.g.ID, string(ex.state)})
			updIDs = append(updIDs, p.g.ID)
			updStates = append(updStates, ex.state)
		}
		if len(newGroups) > 0 {
			slices.SortFunc(newMembers, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
			if err := t.bulkInsert(ctx, "groups", groupInsertCols(), newGroups); err != nil {
				return fmt.Errorf("insert groups: %w", err)
			}
			if err := t.bulkInsert(ctx, "group_members", []string{"member_id", "group_id"}, newMembers); err != nil {
				return fmt.Errorf("insert group members: %w", err)
			}
		}
		if len(updArgs) > 0 {
			n, err := t.refreshGroups(ctx, updArgs)
			if err != nil {
				return fmt.Errorf("refresh groups: %w", err)
			}
			for i, c := range n {
				if c == 1 {
					ledger = append(ledger, ledgerArgs(cm.LedgerEvent{
						At: now, Kind: cm.LedgerTransition, GroupID: updIDs[i], From: updStates[i], To: updStates[i],
						Actor: actor, Detail: "refreshed by match",
					}))
				}
			}
		}
		var goneArgs [][]any
		var goneIDs []string
		var goneStates []cm.GroupState
		for _, p := range sortedKeys(existing) {
			ex := existing[p]
			if _, ok := idx[p]; !ok && supersedable(ex.state) {
				goneArgs = append(goneArgs, []any{p, string(ex.state)})
				goneIDs = append(goneIDs, p)
				goneStates = append(goneStates, ex.state)
			}
		}
		if len(goneArgs) > 0 {
			// The state read above must still hold: a group that moved on
			// concurrently (say to ready) is not superseded.
			n, err := t.deleteGroups(ctx, goneArgs)
			if err != nil {
				return fmt.Errorf("supersede groups: %w", err)
			}
			var deleted []string
			for i, c := range n {
				if c != 1 {
					continue
				}
				deleted = append(deleted, goneIDs[i])
				ledger = append(ledger, ledgerArgs(cm.LedgerEvent{
					At: now, Kind: cm.LedgerNote, GroupID: goneIDs[i], From: goneStates[i], Actor: actor,
					Detail: "superseded by match: group no longer proposed",
				}))
				res.Superseded++
			}
			for _, c := range chunks(deleted, chunkSize) {
				for _, table := range []string{"group_members", "decisions"} {
					if _, err := t.exec(ctx, "DELETE FROM "+table+" WHERE group_id IN ("+placeholders(len(c))+")", anys(c)...); err != nil {
						return fmt.Errorf("supersede %s: %w", table, err)
					}
				}
			}
		}
		if len(ledger) == 0 {
			return nil
		}
		if err := s.b.lockLedger(ctx, t); err != nil {
			return err
		}
		return t.bulkInsert(ctx, "ledger", ledgerCols(), ledger)
	})
	return res, err
}

// ---- transitions ----

func (s *core) loadGroupForUpdate(ctx context.Context, t tx, id string) (cm.Group, error) {
	g, err := scanGroup(t.queryRow(ctx, "SELECT "+groupCols+" FROM groups WHERE id = ?"+s.b.forUpdate(), id))
	if errors.Is(err, errNoRows) {
		return g, cm.Errorf(cm.ENOTFOUND, "group %s not found", id)
	}
	return g, err
}

// Transition applies tr atomically; see cm.Transition. ENOTFOUND for a
// missing group, ECONFLICT for a failed check (nothing is written), EINVALID
// for a bad target state.
func (s *core) Transition(ctx context.Context, tr cm.Transition) (cm.Group, error) {
	var out cm.Group
	if tr.GroupID == "" {
		return out, cm.Errorf(cm.EINVALID, "transition without group id")
	}
	if !tr.To.Valid() {
		return out, cm.Errorf(cm.EINVALID, "transition of %s to invalid state %q", tr.GroupID, tr.To)
	}
	for i, e := range tr.Events {
		if e.Kind == cm.LedgerTransition {
			return out, cm.Errorf(cm.EINVALID, "transition event %d has kind transition", i)
		}
		if len(e.BeforeImages) > 0 && !json.Valid(e.BeforeImages) {
			return out, cm.Errorf(cm.EINVALID, "transition event %d: before images are not JSON", i)
		}
	}
	now := s.clock()
	contacts, err := s.contactRows(tr.UpsertContacts, now)
	if err != nil {
		return out, err
	}
	err = s.inTx(ctx, func(t tx) error {
		g, err := s.loadGroupForUpdate(ctx, t, tr.GroupID)
		if err != nil {
			return err
		}
		if len(tr.From) > 0 && !slices.Contains(tr.From, g.State) {
			return cm.Errorf(cm.ECONFLICT, "group %s is %s, not %v", g.ID, g.State, tr.From)
		}
		if tr.Version != 0 && g.Version != tr.Version {
			return cm.Errorf(cm.ECONFLICT, "group %s is at version %d, not %d", g.ID, g.Version, tr.Version)
		}
		if g.State != tr.To && !cm.CanTransition(g.State, tr.To) {
			return cm.Errorf(cm.ECONFLICT, "group %s cannot move from %s to %s", g.ID, g.State, tr.To)
		}
		if tr.Lease != nil {
			if err := s.checkLease(ctx, t, g.Members, *tr.Lease, now); err != nil {
				return err
			}
		}
		from := g.State
		ng := g
		ng.Members = slices.Clone(g.Members)
		ng.Unkept = slices.Clone(g.Unkept)
		if tr.Update != nil {
			tr.Update(&ng)
		}
		ng.ID, ng.State, ng.Version, ng.CreatedAt, ng.UpdatedAt = g.ID, tr.To, g.Version+1, g.CreatedAt, now
		ng.Members = cm.SortedIDs(ng.Members)
		ng.RetryAt = fromMicros(micros(ng.RetryAt))
		e, err := encodeGroup(&ng)
		if err != nil {
			return cm.Errorf(cm.EINVALID, "group %s: %v", g.ID, err)
		}
		n, err := t.exec(ctx, `UPDATE groups SET parent_id = ?, state = ?, members = ?, survivor_id = ?,
			confidence = ?, merged = ?, unkept = ?, explanation = ?, content_hash = ?, plan_version = ?,
			attempts = ?, idempotency_key = ?, canonical_id = ?, reason = ?, retry_at = ?, quarantines = ?,
			updated_at = ?, version = ? WHERE id = ? AND version = ?`,
			ng.ParentID, string(ng.State), e.members, ng.SurvivorID, ng.Confidence, jsonArg(e.merged),
			jsonArg(e.unkept), jsonArg(e.explanation), e.hash, int64(ng.PlanVersion), int64(ng.Attempts),
			ng.IdempotencyKey, ng.CanonicalID, ng.Reason, micros(ng.RetryAt), int64(ng.Quarantines),
			micros(now), ng.Version, g.ID, g.Version)
		if err != nil {
			return fmt.Errorf("update group %s: %w", g.ID, err)
		}
		if n != 1 {
			return cm.Errorf(cm.ECONFLICT, "group %s changed concurrently", g.ID)
		}
		if !slices.Equal(ng.Members, g.Members) {
			if _, err := t.exec(ctx, "DELETE FROM group_members WHERE group_id = ?", g.ID); err != nil {
				return err
			}
			mrows := make([][]any, len(ng.Members))
			for i, m := range ng.Members {
				mrows[i] = []any{m, g.ID}
			}
			if err := t.bulkInsert(ctx, "group_members", []string{"member_id", "group_id"}, mrows); err != nil {
				return err
			}
		}
		var ledger [][]any
		ledger = append(ledger, ledgerArgs(cm.LedgerEvent{
			At: now, Kind: cm.LedgerTransition, GroupID: g.ID, From: from, To: ng.State, Actor: tr.Actor,
			Attempt: ng.Attempts, IdempotencyKey: ng.IdempotencyKey, CanonicalID: ng.CanonicalID,
			Detail: tr.Detail,
		}))
		if len(tr.Children) > 0 {
			childLedger, err := s.insertChildren(ctx, t, g.ID, tr.Children, tr.Actor, now)
			if err != nil {
				return err
			}
			ledger = append(ledger, childLedger...)
		}
		if len(contacts) > 0 {
			if err := t.upsertContacts(ctx, contacts); err != nil {
				return err
			}
		}
		if len(tr.DeleteContacts) > 0 {
			if err := deleteContacts(ctx, t, tr.DeleteContacts); err != nil {
				return err
			}
		}
		if d := tr.Decision; d != nil {
			at := d.At
			if at.IsZero() {
				at = now
			}
			_, err := t.exec(ctx, "INSERT INTO decisions (group_id, approve, actor, reason, at, survivor) VALUES (?, ?, ?, ?, ?, ?)",
				g.ID, d.Approve, d.Actor, d.Reason, micros(at), d.Survivor)
			if err != nil {
				return fmt.Errorf("record decision: %w", err)
			}
		}
		for _, ev := range tr.Events {
			if ev.GroupID == "" {
				ev.GroupID = g.ID
			}
			ledger = append(ledger, ledgerArgs(s.fillEvent(ev, now)))
		}
		if err := s.b.lockLedger(ctx, t); err != nil {
			return err
		}
		if err := t.bulkInsert(ctx, "ledger", ledgerCols(), ledger); err != nil {
			return fmt.Errorf("append ledger: %w", err)
		}
		out = ng
		return nil
	})
	if err != nil {
		return cm.Group{}, err
	}
	return out, nil
}

// insertChildren creates the child groups of a split, each with a creation
// transition row.
func (s *core) insertChildren(ctx context.Context, t tx, parent string, children []cm.Group, actor string, now time.Time) ([][]any, error) {
	var grows, mrows, ledger [][]any
	for i := range children {
		c := children[i]
		c.Members = cm.SortedIDs(c.Members)
		if c.ID == "" {
			if len(c.Members) == 0 {
				return nil, cm.Errorf(cm.EINVALID, "child %d of %s has neither id nor members", i, parent)
			}
			c.ID = cm.GroupID(c.Members)
		}
		if c.ParentID == "" {
			c.ParentID = parent
		}
		if !c.State.Valid() {
			c.State = cm.StateProposed
		}
		c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
		c.RetryAt = fromMicros(micros(c.RetryAt))
		e, err := encodeGroup(&c)
		if err != nil {
			return nil, cm.Errorf(cm.EINVALID, "child %s: %v", c.ID, err)
		}
		var one int
		err = t.queryRow(ctx, "SELECT 1 FROM groups WHERE id = ?", c.ID).Scan(&one)
		if err == nil {
			return nil, cm.Errorf(cm.ECONFLICT, "child group %s of %s already exists", c.ID, parent)
		}
		if !errors.Is(err, errNoRows) {
			return nil, err
		}
		grows = append(grows, groupInsertArgs(&c, e))
		for _, m := range c.Members {
			mrows = append(mrows, []any{m, c.ID})
		}
		ledger = append(ledger, ledgerArgs(cm.LedgerEvent{
			At: now, Kind: cm.LedgerTransition, GroupID: c.ID, To: c.State, Actor: actor,
			Attempt: c.Attempts, IdempotencyKey: c.IdempotencyKey, Detail: "child of " + parent,
		}))
	}
	if err := t.bulkInsert(ctx, "groups", groupInsertCols(), grows); err != nil {
		return nil, fmt.Errorf("insert children: %w", err)
	}
	if err := t.bulkInsert(ctx, "group_members", []string{"member_id", "group_id"}, mrows); err != nil {
		return nil, fmt.Errorf("insert child members: %w", err)
	}
	return ledger, nil
}

// checkLease verifies that owner holds every member's lease, unexpired, with
// the given token.
func (s *core) checkLease(ctx context.Context, t tx, members []string, l cm.Lease, now time.Time) error {
	held := 0
	for _, c := range chunks(members, chunkSize) {
		rs, err := t.query(ctx, "SELECT member_id, owner, token, expires_at FROM leases WHERE member_id IN ("+
			placeholders(len(c))+")", anys(c)...)
		if err != nil {
			return fmt.Errorf("check leases: %w", err)
		}
		for rs.Next() {
			var id, owner string
			var token, exp int64
			if err := rs.Scan(&id, &owner, &token, &exp); err != nil {
				rs.Close()
				return err
			}
			if owner != l.Owner || token != l.Token || exp <= micros(now) {
				rs.Close()
				return cm.Errorf(cm.ECONFLICT, "lease on %s is not held by %s with token %d", id, l.Owner, l.Token)
			}
			held++
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
	}
	if held != len(members) {
		return cm.Errorf(cm.ECONFLICT, "%d of %d member leases are not held by %s", len(members)-held, len(members), l.Owner)
	}
	return nil
}

// ---- leases ----

// AcquireLeases leases every id to owner for ttl, all or none, and returns a
// new fencing token larger than any issued before; every leased id carries
// it. Ids already leased to owner are extended. ECONFLICT if another owner
// holds an unexpired lease; EINVALID for an empty owner, no ids or ttl <= 0.
func (s *core) AcquireLeases(ctx context.Context, owner string, ids []string, ttl time.Duration) (int64, error) {
	ids = cm.SortedIDs(ids)
	if owner == "" || len(ids) == 0 || ttl <= 0 {
		return 0, cm.Errorf(cm.EINVALID, "AcquireLeases needs an owner, ids and a positive ttl")
	}
	now := s.clock()
	exp := micros(now.Add(ttl))
	var token int64
	err := s.inTx(ctx, func(t tx) error {
		if err := t.queryRow(ctx, "UPDATE counters SET value = value + 1 WHERE name = 'lease_token' RETURNING value").Scan(&token); err != nil {
			return fmt.Errorf("next fencing token: %w", err)
		}
		var got int64
		for _, c := range chunks(ids, chunkSize/4) {
			vals := make([]string, len(c))
			args := make([]any, 0, len(c)*4+1)
			for i, id := range c {
				vals[i] = "(?, ?, ?, ?)"
				args = append(args, id, owner, token, exp)
			}
			args = append(args, micros(now))
			n, err := t.exec(ctx, "INSERT INTO leases (member_id, owner, token, expires_at) VALUES "+strings.Join(vals, ", ")+
				` ON CONFLICT (member_id) DO UPDATE SET owner = excluded.owner, token = excluded.token,
				expires_at = excluded.expires_at WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`, args...)
			if err != nil {
				return fmt.Errorf("acquire leases: %w", err)
			}
			got += n
		}
		if got != int64(len(ids)) {
			return cm.Errorf(cm.ECONFLICT, "%d of %d ids are leased by another owner", int64(len(ids))-got, len(ids))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return token, nil
}

// ReleaseLeases releases owner's leases on ids; others' leases are untouched.
func (s *core) ReleaseLeases(ctx context.Context, owner string, ids []string) error {
	return s.inTx(ctx, func(t tx) error {
		for _, c := range chunks(cm.SortedIDs(ids), chunkSize) {
			if _, err := t.exec(ctx, "DELETE FROM leases WHERE owner = ? AND member_id IN ("+placeholders(len(c))+")",
				append([]any{owner}, anys(c)...)...); err != nil {
				return fmt.Errorf("release leases: %w", err)
			}
		}
		return nil
	})
}

// ---- ledger ----

func ledgerArgs(e cm.LedgerEvent) []any {
	var unkept []byte
	if len(e.Unkept) > 0 {
		unkept, _ = json.Marshal(e.Unkept) // []UnkeptValue of strings always encodes
	}
	var before []byte
	if len(e.BeforeImages) > 0 {
		before = e.BeforeImages
	}
	return []any{
		micros(e.At), string(e.Kind), e.GroupID, string(e.From), string(e.To), e.Actor, int64(e.Attempt),
		e.IdempotencyKey, e.Request, int64(e.Status), e.CorrelationID, e.CanonicalID, jsonArg(before),
		jsonArg(unkept), e.Detail,
	}
}

// fillEvent defaults an event's kind (note) and time (now).
func (s *core) fillEvent(e cm.LedgerEvent, now time.Time) cm.LedgerEvent {
	if e.Kind == "" {
		e.Kind = cm.LedgerNote
	}
	if e.At.IsZero() {
		e.At = now
	}
	return e
}

// AppendLedger appends rows that record no state change. Kind defaults to
// note and At to now. EINVALID for transition rows (only Transition and
// SaveProposals write those) and for BeforeImages that are not JSON.
func (s *core) AppendLedger(ctx context.Context, events ...cm.LedgerEvent) error {
	if len(events) == 0 {
		return nil
	}
	now := s.clock()
	rowsArgs := make([][]any, len(events))
	for i, e := range events {
		if e.Kind == cm.LedgerTransition {
			return cm.Errorf(cm.EINVALID, "ledger event %d: transition rows are written by Transition", i)
		}
		if len(e.BeforeImages) > 0 && !json.Valid(e.BeforeImages) {
			return cm.Errorf(cm.EINVALID, "ledger event %d: before images are not JSON", i)
		}
		rowsArgs[i] = ledgerArgs(s.fillEvent(e, now))
	}
	return s.inTx(ctx, func(t tx) error {
		if err := s.b.lockLedger(ctx, t); err != nil {
			return err
		}
		return t.bulkInsert(ctx, "ledger", ledgerCols(), rowsArgs)
	})
}

// Ledger calls fn for each ledger row matching f in sequence order, stopping
// at the first error fn returns.
func (s *core) Ledger(ctx context.Context, f cm.LedgerFilter, fn func(cm.LedgerEvent) error) error {
	var where []string
	var args []any
	if f.GroupID != "" {
		where = append(where, "group_id = ?")
		args = append(args, f.GroupID)
	}
	if f.AfterSeq > 0 {
		where = append(where, "seq > ?")
		args = append(args, f.AfterSeq)
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN ("+placeholders(len(f.Kinds))+")")
		for _, k := range f.Kinds {
			args = append(args, string(k))
		}
	}
	q := "SELECT seq, " + strings.Join(ledgerCols(), ", ") + " FROM ledger"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rs, err := s.b.reader().query(ctx, q, args...)
	if err != nil {
		return s.b.translate(fmt.Errorf("query ledger: %w", err))
	}
	defer rs.Close()
	for rs.Next() {
		var e cm.LedgerEvent
		var at, attempt, status int64
		var kind, from, to string
		var before, unkept []byte
		if err := rs.Scan(&e.Seq, &at, &kind, &e.GroupID, &from, &to, &e.Actor, &attempt, &e.IdempotencyKey,
			&e.Request, &status, &e.CorrelationID, &e.CanonicalID, &before, &unkept, &e.Detail); err != nil {
			return fmt.Errorf("scan ledger: %w", err)
		}
		e.At, e.Kind, e.From, e.To = fromMicros(at), cm.LedgerKind(kind), cm.GroupState(from), cm.GroupState(to)
		e.Attempt, e.Status = int(attempt), int(status)
		if before != nil {
			e.BeforeImages = json.RawMessage(slices.Clone(before))
		}
		if unkept != nil {
			if err := json.Unmarshal(unkept, &e.Unkept); err != nil {
				return fmt.Errorf("ledger %d unkept: %w", e.Seq, err)
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return s.b.translate(rs.Err())
}
