package match

import (
	"bytes"
	"context"
	"encoding/binary"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/internal/testclock"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestDecodeStateRefusesDamage: a stored state whose parts are damaged
// (a base key naming a slot past the base, a part cut short, a link out
// of range, a missing base part) is refused with an error, never decoded
// into a state that would index out of range.
func TestDecodeStateRefusesDamage(t *testing.T) {
	cfg := DefaultConfig()
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 800, Seed: 41})
	s := openStateStoreAt(t, cfg, testdb.SQLite(t), testclock.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)))
	ctx := context.Background()
	if err := s.UpsertContacts(ctx, org.Contacts); err != nil {
		t.Fatal(err)
	}
	matchAndSave(t, s, cfg, MatchOptions{})
	parts, err := s.LoadMatchState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := DecodeState(parts)
	if err != nil {
		t.Fatal(err)
	}
	blocks := blocksPart(0, prev.base)
	if len(parts[blocks]) < entrySize {
		t.Fatalf("rule 0 has no keys (%d bytes)", len(parts[blocks]))
	}
	damage := map[string]func(map[string][]byte){
		"a base key past the base": func(p map[string][]byte) {
			binary.LittleEndian.PutUint32(p[blocks][8:], uint32(prev.nBase))
		},
		"a blocks part cut short": func(p map[string][]byte) { p[blocks] = p[blocks][:len(p[blocks])-1] },
		"the contacts cut short":  func(p map[string][]byte) { c := partContacts + prev.base; p[c] = p[c][:len(p[c])/2] },
		"a link out of range": func(p map[string][]byte) {
			binary.LittleEndian.PutUint32(p[partLinks][binary.PutUvarint(make([]byte, 10), uint64(len(prev.links))):], 1<<30)
		},
		"no model":            func(p map[string][]byte) { delete(p, partModel+prev.base) },
		"the delta cut short": func(p map[string][]byte) { p[partDelta] = p[partDelta][:len(p[partDelta])/2] },
	}
	for name, fn := range damage {
		p := map[string][]byte{}
		for k, v := range parts {
			p[k] = bytes.Clone(v)
		}
		fn(p)
		if _, err := DecodeState(p); err == nil || !strings.Contains(err.Error(), "match: decode") {
			t.Errorf("%s: DecodeState = %v, want a decode error", name, err)
		}
	}
}

// FuzzDecodeState: DecodeState of a real state with one part overwritten
// or cut anywhere returns a state or an error, and never panics; a state
// it returns has every slot it names in range.
func FuzzDecodeState(f *testing.F) {
	cfg := DefaultConfig()
	ss := openStateStoreAt(f, cfg, filepath.Join(f.TempDir(), "fuzz.db"), testclock.New(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)))
	ctx := context.Background()
	if err := ss.UpsertContacts(ctx, sandbox.Generate(sandbox.GenConfig{Contacts: 300, Seed: 43}).Contacts); err != nil {
		f.Fatal(err)
	}
	matchAndSave(f, ss, cfg, MatchOptions{})
	parts, err := ss.LoadMatchState(ctx)
	if err != nil {
		f.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(parts))
	f.Add(uint8(0), uint32(0), []byte{0xff})
	f.Add(uint8(1), uint32(3), []byte{})
	f.Add(uint8(2), uint32(17), []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, which uint8, at uint32, patch []byte) {
		p := map[string][]byte{}
		for k, v := range parts {
			p[k] = bytes.Clone(v)
		}
		name := names[int(which)%len(names)]
		b := p[name]
		if len(b) == 0 {
			return
		}
		k := int(at % uint32(len(b)))
		if len(patch) == 0 {
			p[name] = b[:k] // cut
		} else {
			copy(b[k:], patch) // overwritten
		}
		s, err := DecodeState(p)
		if err != nil {
			return
		}
		n := int32(len(s.ids))
		for _, l := range s.links {
			if l.a >= n || l.b >= n {
				t.Fatalf("link %v out of %d slots", l, n)
			}
		}
		for _, k := range s.keys {
			for q := range k.base.len() {
				if r := k.base.slot(q); r < 0 || int(r) >= s.nBase {
					t.Fatalf("base key of slot %d out of %d", r, s.nBase)
				}
			}
		}
	})
}
