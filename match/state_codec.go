package match

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// stateVersion is the encoding version of State's parts (4: slots, a base
// written by full matches and a delta; 5: the delta holds the window; 6:
// the kept model is a base part, not in the meta an incremental match
// rewrites; 7: the window is delta-encoded; 8: a base part per blocking
// rule).
const stateVersion = 8

type stateMeta struct {
	Version    int
	ConfigFP   uint64
	MaxUpdated int64
	Estimated  int
	Churn      int
	Cons       []string
	Base       string // names the base parts: contacts@Base, blocks<rule>@Base, model@Base
	Rules      int    // the blocking rules (a blocks part each)
}

// Delta flags of a slot.
const (
	slotDead = 1 << iota
	slotVoid
)

// The names of a state's parts.
const (
	partMeta     = "meta"
	partDelta    = "delta"
	partLinks    = "links"
	partContacts = "contacts@"
	partModel    = "model@"
)

// blocksPart names the base part of the keys of blocking rule ri. A part
// per rule is read on its own and decoded in place: the parts of a
// million contacts' keys (116 MB) load two at a time without a copy.
func blocksPart(ri int, base string) string {
	return "blocks" + strconv.Itoa(ri) + "@" + base
}

// setBase makes the state's keys a base of entries (per rule, sorted) and
// encodes the base parts for Parts: a full match's state.
func (s *State) setBase(entries [][]blockEntry) {
	s.keys = make([]ruleKeys, len(entries))
	for ri, es := range entries {
		s.keys[ri].base = encodeBase(es)
		entries[ri] = nil
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
	s.base = ""
	s.baseContacts = w.b
}

// Parts encodes the state as named parts (binary; the store keeps them
// opaque). The base parts of a state decoded from stored parts (or
// derived from one by an incremental match) are nil: the store keeps the
// stored ones (see store SaveMatch). The kept model is a base part: a
// full match (the only one that sets a base) is the only one that can
// change it.
func (s *State) Parts() (map[string][]byte, error) {
	if s.base == "" {
		s.base = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	var meta bytes.Buffer
	m := stateMeta{Version: stateVersion, ConfigFP: s.ConfigFP, MaxUpdated: s.MaxUpdated, Estimated: s.Estimated, Churn: s.Churn, Cons: s.cons, Base: s.base, Rules: len(s.keys)}
	if err := gob.NewEncoder(&meta).Encode(&m); err != nil {
		return nil, fmt.Errorf("match: encode state: %w", err)
	}
	var model []byte
	if s.baseContacts != nil {
		var b bytes.Buffer
		km := *s.model
		km.Model.Extra = nil
		if err := gob.NewEncoder(&b).Encode(&km); err != nil {
			return nil, fmt.Errorf("match: encode the state's model: %w", err)
		}
		model = b.Bytes()
	}
	out := map[string][]byte{partMeta: meta.Bytes(), partDelta: s.encodeDelta(), partLinks: s.encodeLinks(),
		partContacts + s.base: s.baseContacts, partModel + s.base: model}
	for ri, k := range s.keys {
		var b []byte // nil: stored
		if s.baseContacts != nil {
			b = k.base
		}
		out[blocksPart(ri, s.base)] = b
	}
	return out, nil
}

func (s *State) encodeDelta() []byte {
	flags := func(r int) byte {
		var f byte
		if s.dead[r] {
			f |= slotDead
		}
		if s.void[r] {
			f |= slotVoid
		}
		return f
	}
	var w wbuf
	w.uvarint(uint64(s.nBase))
	var upd []int
	for r, u := range s.upd {
		if u {
			upd = append(upd, r)
		}
	}
	w.uvarint(uint64(len(upd)))
	for _, r := range upd {
		w.u32(uint32(r))
		w.b = append(w.b, flags(r))
		w.u64(uint64(s.modify[r]))
		w.u64(s.hash[r])
	}
	w.uvarint(uint64(len(s.ids) - s.nBase))
	for r := s.nBase; r < len(s.ids); r++ {
		w.str(s.ids[r])
		w.b = append(w.b, flags(r))
		w.u64(uint64(s.modify[r]))
		w.u64(s.hash[r])
	}
	w.uvarint(uint64(len(s.keys)))
	for _, k := range s.keys {
		w.uvarint(uint64(len(k.over)))
		w.b = append(w.b, encodeBase(k.over)...)
	}
	// The window can be every contact (a match within writeMargin of an
	// import): each entry is its slot and write time less the previous
	// entry's, zigzag varints, which are a byte each for consecutive slots
	// written in one transaction (its one write time): 2 MB, not 12, for a
	// million contacts.
	w.uvarint(uint64(len(s.window)))
	var slot, up int64
	for _, e := range s.window {
		w.b = binary.AppendVarint(w.b, int64(e.slot)-slot)
		w.b = binary.AppendVarint(w.b, e.up-up)
		slot, up = int64(e.slot), e.up
	}
	return w.b
}

func (s *State) encodeLinks() []byte {
	w := wbuf{b: make([]byte, 0, 16*len(s.links)+(binary.MaxVarintLen64+40)*len(s.groups))}
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
	return w.b
}

// DecodeState decodes the parts Parts made; nil parts (no state) give nil.
// The state refers to the parts' bytes in place (the blocks are searched
// where they lie, the contact ids are substrings of the contacts part):
// the caller must not change them afterwards.
func DecodeState(parts map[string][]byte) (*State, error) {
	if len(parts) == 0 {
		return nil, nil
	}
	var m stateMeta
	if err := gob.NewDecoder(bytes.NewReader(parts[partMeta])).Decode(&m); err != nil {
		return nil, fmt.Errorf("match: decode state: %w", err)
	}
	if m.Version != stateVersion {
		return nil, fmt.Errorf("match: state version %d, want %d (an older contactmerge kept it)", m.Version, stateVersion)
	}
	if m.Rules < 0 || m.Rules > 1<<10 {
		return nil, fmt.Errorf("match: decode state: %d blocking rules", m.Rules)
	}
	cp, ok := parts[partContacts+m.Base]
	mp, ok2 := parts[partModel+m.Base]
	bps := make([][]byte, m.Rules)
	for ri := range bps {
		bp, ok3 := parts[blocksPart(ri, m.Base)]
		ok2 = ok2 && ok3
		bps[ri] = bp
	}
	if !ok || !ok2 {
		return nil, fmt.Errorf("match: decode state: the base parts %s are missing", m.Base)
	}
	// The model and the check of the base keys (every entry, 116 MB at a
	// million contacts) need only the number of base contacts, the first
	// number of their part: they run beside the rest of the decoding.
	var km keptModel
	var modelErr, baseErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		if modelErr = gob.NewDecoder(bytes.NewReader(mp)).Decode(&km); modelErr != nil {
			return
		}
		nBase, k := binary.Uvarint(cp)
		if k <= 0 {
			baseErr = fmt.Errorf("match: decode state: contacts truncated")
			return
		}
		baseErr = checkBase(bps, nBase)
	})
	s := &State{ConfigFP: m.ConfigFP, MaxUpdated: m.MaxUpdated, Estimated: m.Estimated, Churn: m.Churn, model: &km, cons: m.Cons, base: m.Base}
	err := s.decodeBase(cp, bps)
	if err == nil {
		err = s.decodeDelta(parts[partDelta])
	}
	if err == nil {
		err = s.decodeLinks(parts[partLinks])
	}
	wg.Wait()
	switch {
	case modelErr != nil:
		return nil, fmt.Errorf("match: decode the state's model: %w", modelErr)
	case err != nil:
		return nil, err
	case baseErr != nil:
		return nil, baseErr
	}
	return s, s.check()
}

// checkBase checks that the base keys of every rule (its part in blocks)
// name base slots (of nBase).
func checkBase(blocks [][]byte, nBase uint64) error {
	for ri, b := range blocks {
		k := baseKeys(b)
		if len(b)%entrySize != 0 {
			return fmt.Errorf("match: decode state: the keys of rule %d truncated", ri)
		}
		for q := range k.len() {
			if r := k.slot(q); r < 0 || uint64(r) >= nBase {
				return fmt.Errorf("match: decode state: block entry out of range")
			}
		}
	}
	return nil
}

func (s *State) decodeBase(contacts []byte, blocks [][]byte) error {
	// One string holds every id: an id is a substring, not an allocation.
	// It is the part itself (DecodeState's caller does not change it):
	// a copy of the 53 MB of a million contacts was 0.1 s of a match.
	all := unsafe.String(unsafe.SliceData(contacts), len(contacts))
	r := rbuf{b: contacts}
	n := r.count(17) // an id's length, modifyDate and hash
	if r.err {
		return fmt.Errorf("match: decode state: more contacts than the %d bytes of their part hold", len(r.b))
	}
	s.nBase, s.live = n, n
	s.ids, s.modify, s.hash = make([]string, n), make([]int64, n), make([]uint64, n)
	for i := range n {
		k := r.count(1)
		if r.err {
			return fmt.Errorf("match: decode state: contacts truncated")
		}
		at := len(contacts) - len(r.b)
		s.ids[i] = all[at : at+k]
		r.b = r.b[k:]
		s.modify[i] = int64(r.u64())
		s.hash[i] = r.u64()
	}
	s.dead, s.void, s.upd = make([]bool, n), make([]bool, n), make([]bool, n)
	s.keys = make([]ruleKeys, len(blocks))
	for ri, b := range blocks { // checked by checkBase
		s.keys[ri].base = baseKeys(b[:len(b):len(b)])
	}
	return nil
}

func (s *State) decodeDelta(b []byte) error {
	r := rbuf{b: b}
	if int(r.uvarint()) != s.nBase {
		return fmt.Errorf("match: decode state: the delta is not of the base")
	}
	apply := func(slot int, f byte) {
		s.dead[slot] = f&slotDead != 0
		s.void[slot] = f&slotVoid != 0
		if s.dead[slot] {
			s.live--
		}
	}
	nu := r.count(21)
	for range min(nu, len(r.b)) {
		slot := int(r.u32())
		if r.err || slot >= s.nBase || len(r.b) < 17 {
			return fmt.Errorf("match: decode state: delta truncated")
		}
		f := r.b[0]
		r.b = r.b[1:]
		s.upd[slot] = true
		s.modify[slot] = int64(r.u64())
		s.hash[slot] = r.u64()
		apply(slot, f)
	}
	na := r.count(18)
	for range min(na, len(r.b)) {
		id := r.str()
		if r.err || len(r.b) < 17 {
			return fmt.Errorf("match: decode state: delta truncated")
		}
		f := r.b[0]
		r.b = r.b[1:]
		slot := len(s.ids)
		s.ids = append(s.ids, id)
		s.modify = append(s.modify, int64(r.u64()))
		s.hash = append(s.hash, r.u64())
		s.dead, s.void = append(s.dead, false), append(s.void, false)
		s.live++
		apply(slot, f)
		s.added = append(s.added, int32(slot))
	}
	slices.SortFunc(s.added, func(a, b int32) int { return strings.Compare(s.ids[a], s.ids[b]) })
	rules := int(r.uvarint())
	if r.err || rules != len(s.keys) {
		return fmt.Errorf("match: decode state: delta of %d rules, base of %d", rules, len(s.keys))
	}
	for ri := range s.keys {
		k := r.count(entrySize)
		if r.err {
			return fmt.Errorf("match: decode state: delta truncated")
		}
		over := baseKeys(r.b[:entrySize*k])
		s.keys[ri].over = make([]blockEntry, k)
		for q := range k {
			s.keys[ri].over[q] = over.at(q)
		}
		r.b = r.b[entrySize*k:]
	}
	nw := r.count(2)
	if r.err {
		return fmt.Errorf("match: decode state: delta truncated")
	}
	s.window = make([]winEntry, nw)
	var slot, up int64
	for q := range s.window {
		slot += r.varint()
		up += r.varint()
		if r.err || slot < 0 || slot >= int64(len(s.ids)) {
			return fmt.Errorf("match: decode state: window entry out of range")
		}
		s.window[q] = winEntry{int32(slot), up}
	}
	if r.err {
		return fmt.Errorf("match: decode state: delta truncated")
	}
	return nil
}

func (s *State) decodeLinks(b []byte) error {
	lr := rbuf{b: b}
	nl := lr.count(16)
	if lr.err {
		return fmt.Errorf("match: decode state: links truncated")
	}
	s.links = make([]link, nl)
	for q := range s.links {
		s.links[q] = link{int32(lr.u32()), int32(lr.u32()), math.Float64frombits(lr.u64())}
	}
	ng := lr.count(2)
	for range min(ng, len(lr.b)) {
		g := stateGroup{id: lr.str()}
		k := lr.count(4)
		if lr.err {
			lr.err = true
			break
		}
		g.members = make([]int32, k)
		for i := range g.members {
			g.members[i] = int32(lr.u32())
		}
		s.groups = append(s.groups, g)
	}
	if lr.err || len(s.groups) != ng {
		return fmt.Errorf("match: decode state: groups truncated")
	}
	return nil
}

// check verifies that every slot a decoded state names is one of it.
func (s *State) check() error {
	n := int32(len(s.ids))
	for _, l := range s.links {
		if l.a < 0 || l.b < 0 || l.a >= n || l.b >= n {
			return fmt.Errorf("match: decode state: link out of range")
		}
	}
	for _, k := range s.keys { // the base keys are checked by checkBase
		for _, e := range k.over {
			if e.r < 0 || e.r >= n {
				return fmt.Errorf("match: decode state: block entry out of range")
			}
		}
	}
	for _, g := range s.groups {
		for _, x := range g.members {
			if x < 0 || x >= n {
				return fmt.Errorf("match: decode state: group member out of range")
			}
		}
	}
	return nil
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

// count reads a number of items of size bytes each (at least) that the
// rest of the buffer must hold: a larger one (which int(uvarint) would make
// negative, or size times it overflow) is an error, 0.
func (r *rbuf) count(size int) int {
	v := r.uvarint()
	if r.err || v > uint64(len(r.b)/size) {
		r.err = true
		return 0
	}
	return int(v)
}

func (r *rbuf) varint() int64 {
	v, k := binary.Varint(r.b)
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
