package match

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// StateInput is an Input that can tell which contacts changed since a
// match: cm.Store's backends (store.Store) are StateInputs.
type StateInput interface {
	Input
	// ContactsWrittenSince calls fn with the id, write time (the store's
	// unix microseconds) and modifyDate (unix microseconds, 0 for none) of
	// every contact written at or after since, in any order.
	ContactsWrittenSince(ctx context.Context, since int64, fn func(id string, updatedAt, modifyDate int64) error) error
	// LastWritten returns the newest write time of a contact.
	LastWritten(ctx context.Context) (int64, error)
	// DeletedContacts returns the log of deleted contacts not consumed yet
	// (its row numbers and the ids); saving a match consumes the rows its
	// state names (State.Consumed).
	DeletedContacts(ctx context.Context) (seqs []int64, ids []string, err error)
	// Norms returns the stored normalized forms of ids (nil for a contact
	// without one; ids not stored are absent).
	Norms(ctx context.Context, ids []string) (map[string][]byte, error)
}

// writeMargin is how far before the last match's newest write an
// incremental match looks for written contacts: a write whose transaction
// took its time before committing, or from a clock behind, is still seen.
// Contacts written again with the same norm cost a read, not a change.
const writeMargin = int64(5 * 60 * 1000000) // 5 minutes in microseconds

// writeMark is where a match's view of the writes ends: the newest write
// time and the deleted contacts' log rows, read before the contacts.
type writeMark struct {
	lastWritten int64
	consumed    []int64
	deleted     []string
}

// stamp is a contact's modifyDate and write time as ContactsWrittenSince
// reports them.
type stamp struct {
	id     string
	modify int64
	up     int64
}

// WindowCounter is a StateInput that can count the contacts written in a
// range of write times (store.Store is one): an incremental match then
// reads the contacts written within writeMargin before the last match only
// when the count says one was committed since (see State.window).
type WindowCounter interface {
	// WrittenBetween returns the number of contacts whose write time is
	// in [lo, hi] and the sum of their write times less lo.
	WrittenBetween(ctx context.Context, lo, hi int64) (n, sum int64, err error)
}

// winEntry is a contact (slot) the match saw written in the margin before
// its newest write, with its write time.
type winEntry struct {
	slot int32
	up   int64
}

// readStamps returns the stamps of the contacts written at or after
// since, sorted by id, and the newest write time seen.
func readStamps(ctx context.Context, si StateInput, since int64) ([]stamp, int64, error) {
	out, last, err := readWrites(ctx, si, since)
	slices.SortFunc(out, func(a, b stamp) int { return strings.Compare(a.id, b.id) })
	return out, last, err
}

// readWrites is readStamps in the store's order (an incremental match
// looks each up by its slot: sorting them is a cost for nothing).
func readWrites(ctx context.Context, si StateInput, since int64) ([]stamp, int64, error) {
	var out []stamp
	var last int64
	err := si.ContactsWrittenSince(ctx, since, func(id string, up, md int64) error {
		out = append(out, stamp{id, md, up})
		last = max(last, up)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("match: read written contacts: %w", err)
	}
	return out, last, nil
}

func readWriteMark(ctx context.Context, si StateInput) (*writeMark, error) {
	var m writeMark
	var err error
	if m.consumed, m.deleted, err = si.DeletedContacts(ctx); err != nil {
		return nil, fmt.Errorf("match: read deleted contacts: %w", err)
	}
	if m.lastWritten, err = si.LastWritten(ctx); err != nil {
		return nil, fmt.Errorf("match: read the last contact write: %w", err)
	}
	return &m, nil
}

// State is what a match keeps for the next one (the store holds it as
// named parts, see Parts): the kept model, every contact's modifyDate and
// norm hash, every blocking rule's keys, the links and the groups.
//
// Contacts have slots, stable from one match to the next: the slots of the
// last full match (its base) are its contacts sorted by id; an incremental
// match gives a new contact the next slot and leaves a deleted contact's
// slot dead. The base parts (contacts, keys and the kept model) are
// written by a full match only; an incremental match writes the small
// parts: the contacts and keys changed since the base (the delta), the
// links and the groups.
type State struct {
	ConfigFP uint64 // ConfigFingerprint of the config
	// MaxUpdated is the newest contact write the match saw (the store's
	// microseconds): the next incremental match reads the contacts written
	// since (less writeMargin).
	MaxUpdated int64
	// Estimated is the number of contacts the model was estimated on, and
	// Churn the contacts new, edited or deleted since (the drift).
	Estimated int
	Churn     int

	model  *keptModel
	ids    []string // by slot
	modify []int64  // modifyDate when matched (math.MinInt64: unknown)
	hash   []uint64
	dead   []bool  // by slot: deleted
	void   []bool  // by slot: its base keys do not count (added, edited or deleted since the base)
	live   int     // slots not dead
	nBase  int     // slots of the base, sorted by id
	added  []int32 // slots added since the base, sorted by id
	upd    []bool  // by base slot: differs from the base (modifyDate, hash, void, dead)
	keys   []ruleKeys
	links  []link // a < b
	groups []stateGroup
	cons   []string // sorted constraintKeys
	// consumed are the deleted contacts' log rows this state accounts for.
	consumed []int64
	// window are the contacts seen written in [MaxUpdated-writeMargin,
	// MaxUpdated]: when as many contacts with the same sum of write times
	// are there at the next match (less those written again or deleted
	// since), none was committed late in that range and the next match
	// reads only the contacts written after MaxUpdated.
	window []winEntry

	// base names the stored base parts ("" before they are stored);
	// baseContacts is their contacts part when Parts has to write the
	// base parts (nil: they are stored; the blocks parts are the keys'
	// base).
	base         string
	baseContacts []byte
}

// Consumed returns the rows of the deleted contacts' log
// (StateInput.DeletedContacts) the state accounts for: saving the state
// removes them.
func (s *State) Consumed() []int64 { return s.consumed }

// stateGroup is a group of the last match: its id and slots (sorted).
type stateGroup struct {
	id      string
	members []int32
}

// Contacts returns the number of contacts of the state.
func (s *State) Contacts() int { return s.live }

// DriftShare is the drift of the data since the model was estimated: the
// share of the contacts then that are new, edited or deleted since.
func (s *State) DriftShare() float64 {
	return float64(s.Churn) / float64(max(1, s.Estimated))
}

// slotOf returns the slot of id (dead or alive), -1 for none.
func (s *State) slotOf(id string) int32 {
	if k, ok := slices.BinarySearch(s.ids[:s.nBase], id); ok {
		return int32(k)
	}
	if k, ok := slices.BinarySearchFunc(s.added, id, func(r int32, id string) int { return strings.Compare(s.ids[r], id) }); ok {
		return s.added[k]
	}
	return -1
}

// liveSlot returns the slot of id when it is alive, else -1.
func (s *State) liveSlot(id string) int32 {
	if r := s.slotOf(id); r >= 0 && !s.dead[r] {
		return r
	}
	return -1
}

// constraintKey identifies a constraint with everything a group's notes
// show of it.
func constraintKey(c cm.PairConstraint) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%s\x00%s\x00%s\x00%d", c.A, c.B, c.Kind, c.ID, c.GroupID, c.Actor, c.Reason, c.At.UnixMicro())
}

func constraintKeys(cs []cm.PairConstraint) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = constraintKey(c)
	}
	slices.Sort(out)
	return out
}

// fullState is the state of a full match over d: every contact in the base.
func fullState(d *dataset, cfg *Config, km *keptModel, md *matched, cons []cm.PairConstraint, wm *writeMark, stamps []stamp) *State {
	n := d.n
	st := &State{ConfigFP: ConfigFingerprint(*cfg), MaxUpdated: wm.lastWritten, Estimated: n, model: km, consumed: wm.consumed,
		live: n, nBase: n, dead: make([]bool, n), void: make([]bool, n), upd: make([]bool, n)}
	st.ids = make([]string, n)
	st.hash = make([]uint64, n)
	for r := range n {
		st.ids[d.rank[r]] = d.ids[r]
		st.hash[d.rank[r]] = d.hash[r]
	}
	// The stamps were read before the norms: a contact added in between
	// has none (unknown: the next match reads its norm).
	st.modify = make([]int64, n)
	j := 0
	for i, id := range st.ids {
		for j < len(stamps) && stamps[j].id < id {
			j++
		}
		if j < len(stamps) && stamps[j].id == id {
			st.modify[i] = stamps[j].modify
			if up := stamps[j].up; up >= st.MaxUpdated-writeMargin && up <= st.MaxUpdated {
				st.window = append(st.window, winEntry{int32(i), up})
			}
		} else {
			st.modify[i] = math.MinInt64
		}
	}
	for _, out := range md.entries {
		// In place: the match is done with its record numbers.
		for q := range out {
			out[q].r = d.rank[out[q].r]
		}
		// Sorted by key already; within a key by rank now.
		for lo := 0; lo < len(out); {
			hi := lo + 1
			for hi < len(out) && out[hi].h == out[lo].h {
				hi++
			}
			if hi-lo > 1 {
				slices.SortFunc(out[lo:hi], compareEntries)
			}
			lo = hi
		}
	}
	st.setBase(md.entries)
	md.entries = nil
	st.links = make([]link, len(md.links))
	for q, l := range md.links {
		a, b := d.rank[l.a], d.rank[l.b]
		if a > b {
			a, b = b, a
		}
		st.links[q] = link{a, b, l.w}
	}
	for _, c := range md.clusters {
		st.groups = append(st.groups, stateGroupOf(c.members, func(r int32) int32 { return d.rank[r] }, st.ids))
	}
	st.cons = constraintKeys(cons)
	return st
}

// stateGroupOf is the state group of a cluster's members (mapped by to).
func stateGroupOf(members []int32, to func(int32) int32, ids []string) stateGroup {
	g := stateGroup{members: make([]int32, len(members))}
	for i, r := range members {
		g.members[i] = to(r)
	}
	slices.Sort(g.members)
	mids := make([]string, len(g.members))
	for i, r := range g.members {
		mids[i] = ids[r]
	}
	g.id = cm.GroupID(mids)
	return g
}

// GroupIDs returns the ids of the state's groups.
func (s *State) GroupIDs() []string {
	out := make([]string, len(s.groups))
	for i, g := range s.groups {
		out[i] = g.id
	}
	return out
}
