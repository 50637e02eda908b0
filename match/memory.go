package match

import (
	"context"
	"slices"
	"sync"

	cm "github.com/contactmerge/contactmerge"
)

// MatchContacts matches contacts held in memory (tests, FEBRL, the demo).
func MatchContacts(ctx context.Context, cs []cm.Contact, cfg Config) (*Result, error) {
	return Run(ctx, NewMemoryInput(cs, cfg), cfg)
}

// MemoryInput is an Input over contacts in memory; norms are computed in
// parallel when it is created.
type MemoryInput struct {
	ids   []string
	norms [][]byte
	fp    uint64 // NormFingerprint of the config that made norms
	byID  map[string]*cm.Contact
}

// NewMemoryInput normalizes cs with cfg (in parallel) and returns an Input
// over them, ordered by id.
func NewMemoryInput(cs []cm.Contact, cfg Config) *MemoryInput {
	m := &MemoryInput{byID: make(map[string]*cm.Contact, len(cs))}
	idx := make([]int, 0, len(cs))
	for i := range cs {
		if _, dup := m.byID[cs[i].ID]; dup || cs[i].ID == "" {
			continue
		}
		m.byID[cs[i].ID] = &cs[i]
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case cs[a].ID < cs[b].ID:
			return -1
		case cs[a].ID > cs[b].ID:
			return 1
		}
		return 0
	})
	m.ids = make([]string, len(idx))
	m.norms = make([][]byte, len(idx))
	n := newNormalizer(cfg)
	m.fp = n.fp
	w := cfg.workers()
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := k; q < len(idx); q += w {
				c := &cs[idx[q]]
				m.ids[q] = c.ID
				m.norms[q] = n.encoded(c)
			}
		}()
	}
	wg.Wait()
	return m
}

// EachNorm implements Input.
func (m *MemoryInput) EachNorm(ctx context.Context, fn func(id string, norm []byte) error) error {
	for i, id := range m.ids {
		if i&0xfff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(id, m.norms[i]); err != nil {
			return err
		}
	}
	return nil
}

// Contacts implements Input.
func (m *MemoryInput) Contacts(_ context.Context, ids []string) (map[string]cm.Contact, error) {
	out := make(map[string]cm.Contact, len(ids))
	for _, id := range ids {
		if c, ok := m.byID[id]; ok {
			out[id] = *c
		}
	}
	return out, nil
}
