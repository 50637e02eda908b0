package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// contactRows validates and encodes contacts, keeping for each id the one
// with the newest ModifyDate (the later one on a tie). Large batches are
// encoded in parallel.
func (s *core) contactRows(cs []cm.Contact, now time.Time) ([]contactRow, error) {
	if err := checkIDs(cs, 0); err != nil {
		return nil, err
	}
	return s.encodeContacts(cs, now)
}

// checkIDs returns EINVALID naming the first contact of cs without an id
// (counting from base).
func checkIDs(cs []cm.Contact, base int) error {
	for i := range cs {
		if cs[i].ID == "" {
			return cm.Errorf(cm.EINVALID, "contact %d has no id", base+i)
		}
	}
	return nil
}

// encodeContacts is contactRows without the id check.
func (s *core) encodeContacts(cs []cm.Contact, now time.Time) ([]contactRow, error) {
	return s.encodeEach(len(cs), func(i int) *cm.Contact { return &cs[i] }, now)
}

// encodeEach is encodeContacts of the n contacts at(0), at(1), ...
func (s *core) encodeEach(n int, at func(i int) *cm.Contact, now time.Time) ([]contactRow, error) {
	enc := make([]contactRow, n)
	errs := make([]error, n)
	parallelFor(n, func(i int) {
		c := at(i)
		data, err := json.Marshal(c)
		if err != nil {
			errs[i] = cm.Errorf(cm.EINVALID, "contact %s: %v", c.ID, err)
			return
		}
		var norm []byte
		if s.norm != nil {
			norm = s.norm(c)
		}
		enc[i] = contactRow{id: c.ID, divisionID: c.DivisionID(), typ: c.Type, modifyDate: modifyKey(c.ModifyDate),
			data: data, norm: norm, updatedAt: micros(now)}
	})
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

// upsertChunk is how many contacts a large UpsertContacts encodes at a
// time: the next chunk is encoded (on every core) while the transaction
// writes the last one.
const upsertChunk = 8192

// UpsertContacts inserts or replaces snapshot contacts by id, in one
// transaction. A stored contact is replaced only when the incoming ModifyDate
// is not older; among contacts of one id the newest wins (the later one on
// a tie). EINVALID for a contact without id, before anything is written.
//
// A large batch (an import) is encoded and written in chunks, the encoding
// of one overlapping the write of the one before, still in the one
// transaction: a failure, or a kill, at any point writes nothing. Between
// chunks, contacts of one id are reconciled by the upsert's own rule (the
// incoming row replaces the stored one unless it is older), which keeps the
// same winner.
func (s *core) UpsertContacts(ctx context.Context, cs []cm.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	if err := checkIDs(cs, 0); err != nil {
		return err
	}
	now := s.clock()
	if len(cs) <= upsertChunk {
		rs, err := s.encodeContacts(cs, now)
		if err != nil {
			return err
		}
		return s.inTx(ctx, func(t tx) error { return t.upsertContacts(ctx, rs) })
	}
	return s.inTx(ctx, func(t tx) error {
		return s.encodeAhead(ctx, cs, now, func(rs []contactRow) error { return t.upsertContacts(ctx, rs) })
	})
}

// encodeAhead encodes cs chunk by chunk on another goroutine, one chunk
// ahead of write, which gets the chunks in order. The contacts are written
// in id order (contacts of one id in their order in cs, so the upsert rule
// keeps the same winner): index pages are then filled one after the other
// instead of at random, and the table's rows are laid out in the id order
// that EachContact and EachNorm read them in. It returns the first error of
// either, after the encoder has stopped.
func (s *core) encodeAhead(ctx context.Context, cs []cm.Contact, now time.Time, write func([]contactRow) error) error {
	byID := make([]int32, len(cs))
	for i := range byID {
		byID[i] = int32(i)
	}
	slices.SortStableFunc(byID, func(a, b int32) int { return strings.Compare(cs[a].ID, cs[b].ID) })
	type chunk struct {
		rs  []contactRow
		err error
	}
	ready := make(chan chunk, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(ready)
		for c := range slices.Chunk(byID, upsertChunk) {
			rs, err := s.encodeEach(len(c), func(i int) *cm.Contact { return &cs[c[i]] }, now)
			select {
			case ready <- chunk{rs, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	})
	defer wg.Wait()
	defer close(stop)
	for c := range ready {
		if c.err != nil {
			return c.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := write(c.rs); err != nil {
			return err
		}
	}
	return nil
}

// DeleteContacts removes contacts from the snapshot; unknown ids are ignored.
func (s *core) DeleteContacts(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, func(t tx) error { return deleteContacts(ctx, t, ids) })
}

func deleteContacts(ctx context.Context, q querier, ids []string) error {
	for c := range slices.Chunk(cm.SortedIDs(ids), chunkSize) {
		if _, err := q.exec(ctx, "DELETE FROM contacts WHERE id IN ("+placeholders(len(c))+")", anys(c)...); err != nil {
			return fmt.Errorf("delete contacts: %w", err)
		}
	}
	return nil
}

// UpsertContactStream writes, in one transaction, every contact that each
// hands to put, as UpsertContacts would write them all at once (among
// contacts of one id the newest wins, the later on a tie; a stored contact
// is replaced unless the incoming one is older). It is for more contacts
// than memory holds (an import of millions): each reads them and calls put
// with some at a time; put encodes them (on every core) while the previous
// ones are written, and returns the write's error, if any, which each should
// return. The transaction commits when each returns nil; any error (each's,
// put's, a contact without id: EINVALID) rolls it back, so nothing is
// written. st must be a Store that Open returned.
func UpsertContactStream(ctx context.Context, st Store, each func(put func([]cm.Contact) error) error) error {
	d, ok := st.(*dbStore)
	if !ok {
		return fmt.Errorf("store: UpsertContactStream needs a store that store.Open returned, not %T", st)
	}
	return d.upsertContactStream(ctx, each)
}

func (s *core) upsertContactStream(ctx context.Context, each func(put func([]cm.Contact) error) error) error {
	now := s.clock()
	return s.inTx(ctx, func(t tx) error {
		rows := make(chan []contactRow, 1)
		var werr error
		var wg sync.WaitGroup
		failed := make(chan struct{})
		wg.Go(func() {
			for rs := range rows {
				if werr != nil {
					continue
				}
				if werr = t.upsertContacts(ctx, rs); werr != nil {
					close(failed)
				}
			}
		})
		seen := 0
		put := func(cs []cm.Contact) error {
			if err := checkIDs(cs, seen); err != nil {
				return err
			}
			seen += len(cs)
			rs, err := s.encodeContacts(cs, now)
			if err != nil {
				return err
			}
			select {
			case rows <- rs:
				return nil
			case <-failed:
				return werr
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := each(put)
		close(rows)
		wg.Wait()
		return cmp.Or(werr, err)
	})
}
