package match

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
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

// stamp is a contact's modifyDate as ContactsWrittenSince reports it.
type stamp struct {
	id     string
	modify int64
}

// readStamps returns the stamps of the contacts written at or after
// since, sorted by id, and the newest write time seen.
func readStamps(ctx context.Context, si StateInput, since int64) ([]stamp, int64, error) {
	var out []stamp
	var last int64
	err := si.ContactsWrittenSince(ctx, since, func(id string, up, md int64) error {
		out = append(out, stamp{id, md})
		last = max(last, up)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("match: read written contacts: %w", err)
	}
	slices.SortFunc(out, func(a, b stamp) int { return strings.Compare(a.id, b.id) })
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
// norm hash, every blocking rule's keys, the links and the groups. Record
// numbers index ids, which are sorted.
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

	model   *keptModel
	ids     []string
	modify  []int64 // modifyDate when matched (math.MinInt64: unknown)
	hash    []uint64
	entries [][]blockEntry // per rule, sorted by key then record
	links   []link         // a < b
	groups  []stateGroup
	cons    []string // sorted constraintKeys
	// consumed are the deleted contacts' log rows this state accounts for.
	consumed []int64
}

// Consumed returns the rows of the deleted contacts' log
// (StateInput.DeletedContacts) the state accounts for: saving the state
// removes them.
func (s *State) Consumed() []int64 { return s.consumed }

// stateGroup is a group of the last match: its id and records (sorted).
type stateGroup struct {
	id      string
	members []int32
}

// Contacts returns the number of contacts of the state.
func (s *State) Contacts() int { return len(s.ids) }

// DriftShare is the drift of the data since the model was estimated: the
// share of the contacts then that are new, edited or deleted since.
func (s *State) DriftShare() float64 {
	return float64(s.Churn) / float64(max(1, s.Estimated))
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

// fullState is the state of a full match over d.
func fullState(d *dataset, cfg *Config, km *keptModel, md *matched, cons []cm.PairConstraint, wm *writeMark, stamps []stamp) *State {
	n := d.n
	st := &State{ConfigFP: ConfigFingerprint(*cfg), MaxUpdated: wm.lastWritten, Estimated: n, model: km, consumed: wm.consumed}
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
		} else {
			st.modify[i] = math.MinInt64
		}
	}
	st.entries = make([][]blockEntry, len(md.entries))
	for ri, out := range md.entries {
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
		st.entries[ri] = out
	}
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

// stateVersion is the encoding version of State's parts.
const stateVersion = 3

type stateMeta struct {
	Version    int
	ConfigFP   uint64
	MaxUpdated int64
	Estimated  int
	Churn      int
	Model      keptModel
	Cons       []string
}

// Parts encodes the state as named parts (binary; the store keeps them
// opaque).
func (s *State) Parts() (map[string][]byte, error) {
	var meta bytes.Buffer
	m := stateMeta{Version: stateVersion, ConfigFP: s.ConfigFP, MaxUpdated: s.MaxUpdated, Estimated: s.Estimated, Churn: s.Churn, Model: *s.model, Cons: s.cons}
	m.Model.Model.Extra = nil
	if err := gob.NewEncoder(&meta).Encode(&m); err != nil {
		return nil, fmt.Errorf("match: encode state: %w", err)
	}
	size := binary.MaxVarintLen64
	for _, id := range s.ids {
		size += binary.MaxVarintLen64 + len(id) + 16
	}
	w := wbuf{b: make([]byte, 0, size)}
	w.uvarint(uint64(len(s.ids)))
	for i, id := range s.ids {
		w.str(id)
		w.u64(uint64(s.modify[i]))
		w.u64(s.hash[i])
	}
	contacts := w.b
	size = binary.MaxVarintLen64
	for _, es := range s.entries {
		size += binary.MaxVarintLen64 + 12*len(es)
	}
	w = wbuf{b: make([]byte, 0, size)}
	w.uvarint(uint64(len(s.entries)))
	for _, es := range s.entries {
		w.uvarint(uint64(len(es)))
		at := len(w.b)
		w.b = w.b[:at+12*len(es)]
		for q, e := range es {
			binary.LittleEndian.PutUint64(w.b[at+12*q:], e.h)
			binary.LittleEndian.PutUint32(w.b[at+12*q+8:], uint32(e.r))
		}
	}
	blocks := w.b
	w = wbuf{b: make([]byte, 0, 16*len(s.links)+(binary.MaxVarintLen64+40)*len(s.groups))}
	w.uvarint(uint64(len(s.links)))
	for _, l := range s.links {
		w.u32(uint32(l.a))
		w.u32(uint32(l.b))
		w.u64(math.Float64bits(l.w))
	}
	w.uvarint(uint64(len(s.groups)))
	for _, g := range s.groups {
		w.str(g.id)
		w.uvarint(uint64(len(g.members)))
		for _, r := range g.members {
			w.u32(uint32(r))
		}
	}
	return map[string][]byte{"meta": meta.Bytes(), "contacts": contacts, "blocks": blocks, "links": w.b}, nil
}

// DecodeState decodes the parts Parts made; nil parts (no state) give nil.
func DecodeState(parts map[string][]byte) (*State, error) {
	if len(parts) == 0 {
		return nil, nil
	}
	var m stateMeta
	if err := gob.NewDecoder(bytes.NewReader(parts["meta"])).Decode(&m); err != nil {
		return nil, fmt.Errorf("match: decode state: %w", err)
	}
	if m.Version != stateVersion {
		return nil, fmt.Errorf("match: state version %d, want %d", m.Version, stateVersion)
	}
	s := &State{ConfigFP: m.ConfigFP, MaxUpdated: m.MaxUpdated, Estimated: m.Estimated, Churn: m.Churn, model: &m.Model, cons: m.Cons}
	r := rbuf{b: parts["contacts"]}
	n := int(r.uvarint())
	if n > len(r.b) {
		return nil, fmt.Errorf("match: decode state: %d contacts in %d bytes", n, len(r.b))
	}
	s.ids, s.modify, s.hash = make([]string, n), make([]int64, n), make([]uint64, n)
	for i := range n {
		s.ids[i] = r.str()
		s.modify[i] = int64(r.u64())
		s.hash[i] = r.u64()
	}
	r = rbuf{b: parts["blocks"]}
	rules := int(r.uvarint())
	for range min(rules, 1<<10) {
		k := int(r.uvarint())
		if r.err || 12*k > len(r.b) {
			r.err = true
			break
		}
		es := make([]blockEntry, k)
		b := r.b[:12*k]
		for q := range es {
			es[q] = blockEntry{binary.LittleEndian.Uint64(b[12*q:]), int32(binary.LittleEndian.Uint32(b[12*q+8:]))}
		}
		r.b = r.b[12*k:]
		s.entries = append(s.entries, es)
	}
	lr := rbuf{b: parts["links"]}
	nl := int(lr.uvarint())
	if 16*nl > len(lr.b) {
		lr.err = true
		nl = 0
	}
	s.links = make([]link, nl)
	for q := range s.links {
		s.links[q] = link{int32(lr.u32()), int32(lr.u32()), math.Float64frombits(lr.u64())}
	}
	ng := int(lr.uvarint())
	for range min(ng, len(lr.b)) {
		g := stateGroup{id: lr.str()}
		k := int(lr.uvarint())
		if lr.err || 4*k > len(lr.b) {
			lr.err = true
			break
		}
		g.members = make([]int32, k)
		for i := range g.members {
			g.members[i] = int32(lr.u32())
		}
		s.groups = append(s.groups, g)
	}
	if r.err || lr.err || len(s.entries) != rules || len(s.groups) != ng {
		return nil, fmt.Errorf("match: decode state: truncated")
	}
	for _, l := range s.links {
		if l.a < 0 || l.b < 0 || int(l.a) >= n || int(l.b) >= n {
			return nil, fmt.Errorf("match: decode state: link out of range")
		}
	}
	for _, es := range s.entries {
		for _, e := range es {
			if e.r < 0 || int(e.r) >= n {
				return nil, fmt.Errorf("match: decode state: block entry out of range")
			}
		}
	}
	for _, g := range s.groups {
		for _, x := range g.members {
			if x < 0 || int(x) >= n {
				return nil, fmt.Errorf("match: decode state: group member out of range")
			}
		}
	}
	return s, nil
}

type wbuf struct{ b []byte }

func (w *wbuf) uvarint(v uint64) {
	w.b = binary.AppendUvarint(w.b, v)
}
func (w *wbuf) str(s string) { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *wbuf) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *wbuf) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }

type rbuf struct {
	b   []byte
	err bool
}

func (r *rbuf) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *rbuf) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = true
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *rbuf) u64() uint64 {
	if len(r.b) < 8 {
		r.err = true
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *rbuf) u32() uint32 {
	if len(r.b) < 4 {
		r.err = true
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}
