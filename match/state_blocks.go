package match

import (
	"encoding/binary"
)

// A state's blocking keys are a base, the keys of every contact as the last
// full match computed them, and an overlay, the keys of the contacts
// recomputed since (new or edited). The base is kept as it is stored (12
// bytes an entry: key, slot; sorted by key then slot) and never rewritten by
// an incremental match: a contact's base entries count unless its slot is
// void (recomputed or deleted since the base), and the overlay holds the
// current keys of the void slots still alive.

// entrySize is the size of an encoded block entry: key (8 bytes), slot (4).
const entrySize = 12

// baseKeys are a rule's base entries, encoded.
type baseKeys []byte

func (b baseKeys) len() int { return len(b) / entrySize }

func (b baseKeys) at(q int) blockEntry {
	return blockEntry{binary.LittleEndian.Uint64(b[entrySize*q:]), int32(binary.LittleEndian.Uint32(b[entrySize*q+8:]))}
}

func (b baseKeys) key(q int) uint64 { return binary.LittleEndian.Uint64(b[entrySize*q:]) }

func (b baseKeys) slot(q int) int32 { return int32(binary.LittleEndian.Uint32(b[entrySize*q+8:])) }

// span returns the range of entries of key h.
func (b baseKeys) span(h uint64) (lo, hi int) {
	n := b.len()
	lo, hi = 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if b.key(m) < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	hi = lo
	for hi < n && b.key(hi) == h {
		hi++
	}
	return lo, hi
}

// encodeBase encodes sorted entries as baseKeys.
func encodeBase(es []blockEntry) baseKeys {
	b := make([]byte, entrySize*len(es))
	for q, e := range es {
		binary.LittleEndian.PutUint64(b[entrySize*q:], e.h)
		binary.LittleEndian.PutUint32(b[entrySize*q+8:], uint32(e.r))
	}
	return b
}

// ruleKeys are a rule's blocking keys in a state: base and overlay.
type ruleKeys struct {
	base baseKeys
	over []blockEntry // sorted by key then slot
}

// blockIn returns the entries of key h (sorted by slot within base, then
// overlay: callers only take sets and sizes) given the void slots and the
// base span of h (baseKeys.span).
func (k *ruleKeys) blockIn(lo, hi int, h uint64, void []bool, out []blockEntry) []blockEntry {
	out = out[:0]
	for q := lo; q < hi; q++ {
		if r := k.base.slot(q); !void[r] {
			out = append(out, blockEntry{h, r})
		}
	}
	return append(out, entriesOf(k.over, h)...)
}

// size returns the number of entries of key h given the void slots.
func (k *ruleKeys) size(h uint64, void []bool) int {
	n := 0
	lo, hi := k.base.span(h)
	for q := lo; q < hi; q++ {
		if !void[k.base.slot(q)] {
			n++
		}
	}
	return n + len(entriesOf(k.over, h))
}

// keysOf calls fn with the key of every entry of a slot in mark, in the
// base (where the slot is not void) and the overlay.
func (k *ruleKeys) keysOf(mark, void []bool, fn func(h uint64)) {
	for q := range k.base.len() {
		if r := k.base.slot(q); mark[r] && !void[r] {
			fn(k.base.key(q))
		}
	}
	for _, e := range k.over {
		if mark[e.r] {
			fn(e.h)
		}
	}
}
