package match

import (
	"bytes"
	"context"
	"encoding/binary"
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
