package match

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Incremental matching (see "Incremental matching" in the package
// documentation). With the model kept, a pair's weight depends on its two
// contacts alone and a record's blocking keys on the record alone, so a
// match after a scan only has to
//
//  1. find the contacts new, edited (modifyDate, or a write since the last
//     match that changed the norm) or deleted, and the stewards' decisions
//     (constraints) added, changed or removed;
//  2. recompute the changed contacts' keys and, per touched key, the pairs
//     of its block that touch a changed contact; a block whose size
//     crossed the rule's limit also gains or loses pairs of unchanged
//     contacts, which are checked against every rule;
//  3. score those pairs and update the links;
//  4. re-cluster the connected components (links and must-links) that
//     hold a changed contact, an end of a link added or removed or a
//     changed decision. Every other component has the same records, links,
//     decisions and scores as at the last match, and clustering a
//     component depends on nothing else (ties are broken by contact id),
//     so its groups, with their ids and decisions, stay as they are.
//
// The result is the one a full match with the same kept model gives on the
// same snapshot: TestIncrementalEqualsFull checks it after random new,
// edited and deleted contacts, platform merges and decisions.

// Match runs the match the options ask for: incremental when o.Prev holds a
// state of the same config and the drift is small, else full (estimating
// the model when asked, when there is no kept model or the drift is
// large). It returns the result and the state to keep. An incremental
// result's Groups are only the groups of the re-clustered contacts;
// Result.Unchanged lists the ids of the others.
func Match(ctx context.Context, in StateInput, cfg Config, o MatchOptions) (*Result, *State, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	maxDrift := o.MaxDrift
	if maxDrift == 0 {
		maxDrift = DefaultMaxDrift
	}
	prev := o.Prev
	fp := ConfigFingerprint(cfg)
	var reason string
	switch {
	case o.Reestimate:
		reason = "--reestimate"
	case prev == nil:
		reason = "no previous match state"
	case prev.ConfigFP != fp:
		reason = "the configuration changed since the last match"
	case prev.DriftShare() > maxDrift:
		reason = fmt.Sprintf("drift %.1f%% of the contacts since the model was estimated (over %.0f%%)", 100*prev.DriftShare(), 100*maxDrift)
	}
	if reason != "" {
		res, st, err := runFull(ctx, in, cfg, nil, true)
		if err != nil {
			return nil, nil, err
		}
		res.Mode = Mode{Estimated: true, Reason: reason}
		return res, st, nil
	}
	if o.Full {
		res, st, err := runFull(ctx, in, cfg, prev.model, true)
		if err != nil {
			return nil, nil, err
		}
		st.Estimated = prev.Estimated
		st.Churn = prev.Churn + churn(prev, st)
		res.Mode = Mode{Reason: "--full"}
		return res, st, nil
	}
	res, st, err := runIncremental(ctx, in, cfg, prev, o.Writes)
	if err != nil {
		return nil, nil, err
	}
	if st.DriftShare() > maxDrift {
		// This run's changes took the drift over: estimate now.
		res, st, err := runFull(ctx, in, cfg, nil, true)
		if err != nil {
			return nil, nil, err
		}
		res.Mode = Mode{Estimated: true, Reason: fmt.Sprintf("drift %.1f%% of the contacts since the model was estimated (over %.0f%%)", 100*float64(prev.Churn+res.Changes.total())/float64(max(1, prev.Estimated)), 100*maxDrift)}
		return res, st, nil
	}
	return res, st, nil
}

// incRun is one incremental match of in against prev, step by step
// (changes, blocks, score, cluster). prev is used up: the new state st
// shares its base and takes over its slices.
type incRun struct {
	ctx    context.Context
	in     StateInput
	cfg    *Config
	prev   *State
	writes *Writes // read while prev was loaded (nil: none)
	st     *State
	stats  Stats
	normer *normalizer
	nick   nicknames
	wm     *writeMark
	norms  map[int32][]byte // slot → its encoding

	oldVoid    []bool  // the slots void before this match
	changed    []bool  // by slot: new or edited (its keys are recomputed)
	changedOld []bool  // by slot: edited or deleted (its old keys, links and group are gone)
	C          []int32 // the changed slots, sorted by id
	deleted    []int32
	ch         Changes
	cons       []cm.PairConstraint
	affected   map[int32]bool
	left       map[int32]bool  // slots of the last window written again or deleted
	score      map[uint64]bool // pairs to score
	recheck    map[uint64]bool // unchanged pairs whose blocks crossed a limit
	links      []link
	t0         time.Time
}

// pairKey is a pair of slots, the smaller first.
func pairKey(a, b int32) uint64 {
	if a > b {
		a, b = b, a
	}
	return uint64(a)<<32 | uint64(uint32(b))
}

// runIncremental is the incremental match of in against prev.
func runIncremental(ctx context.Context, in StateInput, cfg Config, prev *State, writes *Writes) (*Result, *State, error) {
	r := &incRun{ctx: ctx, in: in, cfg: &cfg, prev: prev, writes: writes, normer: newNormalizer(cfg), nick: newNicknames(cfg.Nicknames),
		stats: Stats{Durations: map[string]time.Duration{}, RefusedJoins: map[string]int{}, Workers: cfg.workers()},
		norms: map[int32][]byte{}, affected: map[int32]bool{}, score: map[uint64]bool{}, recheck: map[uint64]bool{}, t0: time.Now()}
	if err := r.readChanges(); err != nil {
		return nil, nil, err
	}
	if err := r.readDecisions(); err != nil {
		return nil, nil, err
	}
	r.stats.Durations["normalize"] = time.Since(r.t0)
	r.st.Churn = prev.Churn + r.ch.total()
	if len(r.C) == 0 && len(r.deleted) == 0 && len(r.affected) == 0 {
		return r.nothingChanged()
	}
	t := time.Now()
	r.block()
	if err := r.recheckPairs(); err != nil {
		return nil, nil, err
	}
	r.stats.Durations["block"] = time.Since(t)
	t = time.Now()
	if err := r.scorePairs(); err != nil {
		return nil, nil, err
	}
	r.stats.Durations["score"] = time.Since(t)
	return r.cluster()
}

// readChanges finds what changed: the contacts written since the last
// match (less the margin) with a new modifyDate (or none: those are
// compared by norm) and the deleted ones. New contacts get new slots;
// the changed contacts' norms are read into r.norms.
func (r *incRun) readChanges() error {
	prev := r.prev
	ws, lastUp, counted, err := r.readWrites()
	if err != nil {
		return err
	}
	r.stats.Durations["changes.stamps"] = time.Since(r.t0)
	r.ch.Written = len(ws)
	st := &State{ConfigFP: prev.ConfigFP, MaxUpdated: max(prev.MaxUpdated, r.wm.lastWritten, lastUp), Estimated: prev.Estimated,
		model: prev.model, consumed: r.wm.consumed, ids: prev.ids, modify: prev.modify, hash: prev.hash, dead: prev.dead,
		void: prev.void, live: prev.live, nBase: prev.nBase, added: prev.added, upd: prev.upd, cons: prev.cons,
		base: prev.base, baseContacts: prev.baseContacts}
	r.st = st
	r.oldVoid = slices.Clone(prev.void)
	n := len(st.ids)
	r.changedOld = make([]bool, n, n+len(ws))
	// A contact deleted and written again since is not deleted.
	written := map[string]bool{}
	for _, id := range r.wm.deleted {
		written[id] = false
	}
	var look []int32 // slots whose norm is read: new, or written with a new (or no) modifyDate
	isNew := map[int32]bool{}
	var fresh []int32
	loN := st.MaxUpdated - writeMargin
	var window []winEntry
	for _, w := range ws {
		if _, ok := written[w.id]; ok {
			written[w.id] = true
		}
		s := st.slotOf(w.id)
		if s >= 0 && w.up >= loN {
			window = append(window, winEntry{s, w.up})
		}
		switch {
		case s < 0:
			s = int32(len(st.ids))
			st.ids = append(st.ids, w.id)
			st.modify = append(st.modify, w.modify)
			st.hash = append(st.hash, 0)
			st.dead, st.void = append(st.dead, false), append(st.void, true)
			r.changedOld = append(r.changedOld, false)
			r.oldVoid = append(r.oldVoid, true)
			st.live++
			fresh = append(fresh, s)
			isNew[s] = true
			if w.up >= loN {
				window = append(window, winEntry{s, w.up})
			}
		case st.dead[s]:
			// Deleted at an earlier match and written again: new.
			st.dead[s] = false
			st.live++
			st.modify[s] = w.modify
			st.touch(s)
			isNew[s] = true
		default:
			if w.modify == st.modify[s] && w.modify != 0 {
				continue
			}
			if w.modify != st.modify[s] {
				st.modify[s] = w.modify
				st.touch(s)
			}
		}
		look = append(look, s)
	}
	if len(fresh) > 0 {
		st.added = slices.Clone(st.added)
		st.added = append(st.added, fresh...)
		slices.SortFunc(st.added, func(a, b int32) int { return strings.Compare(st.ids[a], st.ids[b]) })
	}
	for _, id := range r.wm.deleted {
		if s := st.liveSlot(id); s >= 0 && !written[id] && !r.changedOld[s] {
			r.changedOld[s] = true
			r.deleted = append(r.deleted, s)
		}
	}
	if counted {
		// The contacts of the last window not written again or deleted
		// are still there with their write times.
		for _, e := range prev.window {
			if e.up >= loN && !r.left[e.slot] {
				window = append(window, e)
			}
		}
	}
	st.window = window
	n = len(st.ids)
	r.stats.Durations["changes.merge"] = time.Since(r.t0)
	if err := readNorms(r.ctx, r.in, r.normer, st.ids, look, r.norms, &r.stats); err != nil {
		return err
	}
	r.stats.Durations["changes.norms"] = time.Since(r.t0)
	r.changed = make([]bool, n)
	for _, s := range look {
		b, ok := r.norms[s]
		if !ok {
			return fmt.Errorf("match: contact %s was deleted during the match; run it again", st.ids[s])
		}
		h := normHash(b)
		if !isNew[s] && h == st.hash[s] {
			delete(r.norms, s) // written again, same norm
			continue
		}
		st.hash[s] = h
		st.void[s] = true
		st.touch(s)
		r.changed[s] = true
		r.C = append(r.C, s)
		if isNew[s] {
			r.ch.New++
		} else {
			r.ch.Edited++
			r.changedOld[s] = true
		}
	}
	for _, s := range r.deleted {
		st.dead[s], st.void[s] = true, true
		st.live--
		st.touch(s)
	}
	r.ch.Deleted = len(r.deleted)
	r.C = st.byID(r.C)
	for _, s := range r.C {
		r.affected[s] = true
	}
	r.stats.Durations["changes"] = time.Since(r.t0)
	return nil
}

// readWrites reads the write mark and the contacts written since the last
// match (less writeMargin), or takes them from the Writes read while the
// state was loaded. With a WindowCounter, when the contacts written in the
// margin before the last match are those it saw (windowHolds), only the
// contacts written after it are read (counted).
func (r *incRun) readWrites() (ws []stamp, lastUp int64, counted bool, err error) {
	prev := r.prev
	w := r.writes
	if w == nil || w.since != prev.MaxUpdated {
		w = readWritesFor(r.ctx, r.in, prev.MaxUpdated)
	}
	if w.err != nil {
		return nil, 0, false, w.err
	}
	r.wm = w.wm
	r.stats.Durations["changes.mark"] = time.Since(r.t0)
	lo := prev.MaxUpdated - writeMargin
	if w.counted && r.windowHolds(w.ws, lo, w.n, w.sum) {
		return w.ws, w.lastUp, true, nil
	}
	ws, lastUp, err = readWrites(r.ctx, r.in, lo)
	return ws, lastUp, false, err
}

// windowHolds tells whether n contacts written in [lo, last match's
// MaxUpdated] with write times summing to sum (less lo) are the last
// match's window less the contacts written since (ws) or deleted; it
// leaves those in r.left.
func (r *incRun) windowHolds(ws []stamp, lo, n, sum int64) bool {
	prev := r.prev
	r.left = map[int32]bool{}
	for _, w := range ws {
		if s := prev.slotOf(w.id); s >= 0 {
			r.left[s] = true
		}
	}
	for _, id := range r.wm.deleted {
		if s := prev.slotOf(id); s >= 0 {
			r.left[s] = true
		}
	}
	var en, esum int64
	for _, e := range prev.window {
		if !r.left[e.slot] {
			en++
			esum += e.up - lo
		}
	}
	return en == n && esum == sum
}

// touch marks a base slot as differing from the base (the delta holds it).
func (s *State) touch(r int32) {
	if int(r) < s.nBase {
		s.upd[r] = true
	}
}

// readDecisions reads the stewards' decisions: a contact of a decision
// added, changed or removed since the last match is affected.
func (r *incRun) readDecisions() error {
	if src, ok := Input(r.in).(ConstraintSource); ok {
		var err error
		if r.cons, err = src.Constraints(r.ctx, cm.ConstraintFilter{}); err != nil {
			return fmt.Errorf("match: read constraints: %w", err)
		}
	}
	st := r.st
	st.cons = constraintKeys(r.cons)
	if slices.Equal(st.cons, r.prev.cons) {
		return nil
	}
	mark := func(ids ...string) {
		for _, id := range ids {
			if s := st.liveSlot(id); s >= 0 {
				r.affected[s] = true
				r.ch.Constraints++
			}
		}
	}
	old := map[string]bool{}
	for _, k := range r.prev.cons {
		old[k] = true
	}
	now := map[string]bool{}
	for _, c := range r.cons {
		k := constraintKey(c)
		now[k] = true
		if !old[k] {
			mark(c.A, c.B)
		}
	}
	for _, k := range r.prev.cons {
		if !now[k] {
			a, rest, _ := cutNUL(k)
			b, _, _ := cutNUL(rest)
			mark(a, b)
		}
	}
	return nil
}

// nothingChanged is the result when no contact or decision changed: the
// state keeps the keys, links and groups.
func (r *incRun) nothingChanged() (*Result, *State, error) {
	st, prev := r.st, r.prev
	st.keys, st.links, st.groups = prev.keys, prev.links, prev.groups
	res := &Result{Stats: r.stats, Mode: Mode{Incremental: true, Reason: "nothing changed since the last match"}, Unchanged: prev.GroupIDs(), Changes: r.ch}
	res.Stats.Contacts, res.Stats.Groups, res.Stats.Links = st.live, len(prev.groups), len(prev.links)
	res.Stats.Model = st.model.Model
	return res, st, nil
}
