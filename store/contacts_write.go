package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
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
	return s.encodeEach(len(cs), func(i int) (*cm.Contact, []byte) { return &cs[i], nil }, now)
}

// encodeEach is encodeContacts of the n contacts at(0), at(1), ...; at
// returns with each the JSON to store for it (ContactData), nil for
// json.Marshal's.
func (s *core) encodeEach(n int, at func(i int) (*cm.Contact, []byte), now time.Time) ([]contactRow, error) {
	enc := make([]contactRow, n)
	errs := make([]error, n)
	parallelFor(n, func(i int) {
		c, data := at(i)
		enc[i], errs[i] = encodeContact(s.norm, c, data)
		enc[i].updatedAt = micros(now)
	})
	if err := firstErr(errs); err != nil {
		return nil, err
	}
	return newestByID(enc), nil
}

// encodeContact encodes c as a row (without updatedAt) with norm, storing
// data as its JSON (json.Marshal's when nil).
func encodeContact(norm cm.Normalizer, c *cm.Contact, data []byte) (contactRow, error) {
	if data == nil {
		var err error
		if data, err = json.Marshal(c); err != nil {
			return contactRow{}, cm.Errorf(cm.EINVALID, "contact %s: %v", c.ID, err)
		}
	}
	var nb []byte
	if norm != nil {
		nb = norm(c)
	}
	return contactRow{id: c.ID, divisionID: c.DivisionID(), typ: c.Type, modifyDate: modifyKey(c.ModifyDate),
		data: data, norm: nb}, nil
}

// newestByID keeps of the rows of each id the one with the newest
// modifyDate, the later one on a tie, where the first row of the id was.
func newestByID(enc []contactRow) []contactRow {
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
	return out
}

// Encoder encodes contacts for the contacts table ahead of writing them,
// before the store is even opened: an import encodes (on every core) as it
// validates a file, and keeps only the encoded contacts, about half the
// memory of the contacts. Its Normalizer must be the one the store is
// opened with (Options.Normalizer), whose norms the store keeps.
type Encoder struct{ norm cm.Normalizer }

// NewEncoder returns the Encoder of contacts for a store opened with
// Options{Normalizer: norm}.
func NewEncoder(norm cm.Normalizer) *Encoder { return &Encoder{norm: norm} }

// EncodedContact is a contact encoded by an Encoder, for UpsertEncoded.
type EncodedContact struct{ r contactRow }

// Encode encodes c, storing data as its JSON (as ContactData.Data: nil for
// json.Marshal's). EINVALID for a contact without id, or one json.Marshal
// refuses.
func (e *Encoder) Encode(c *cm.Contact, data []byte) (EncodedContact, error) {
	if c.ID == "" {
		return EncodedContact{}, cm.Errorf(cm.EINVALID, "a contact has no id")
	}
	r, err := encodeContact(e.norm, c, data)
	return EncodedContact{r}, err
}

// UpsertEncoded is UpsertContacts of contacts an Encoder encoded, the
// batches in order (contacts of one id: the newest wins, the later on a
// tie), in one transaction, in id order. st must be a Store that Open
// returned, with the Encoder's Normalizer.
func UpsertEncoded(ctx context.Context, st Store, batches [][]EncodedContact) error {
	d, ok := st.(*dbStore)
	if !ok {
		return fmt.Errorf("store: UpsertEncoded needs a store that store.Open returned, not %T", st)
	}
	return d.upsertEncoded(ctx, batches)
}

func (s *core) upsertEncoded(ctx context.Context, batches [][]EncodedContact) error {
	type ref struct {
		r   *contactRow
		seq int
	}
	var byID []ref
	for _, b := range batches {
		for i := range b {
			if b[i].r.id == "" {
				return cm.Errorf(cm.EINVALID, "contact %d has no id (not encoded by an Encoder)", len(byID))
			}
			byID = append(byID, ref{&b[i].r, len(byID)})
		}
	}
	if len(byID) == 0 {
		return nil
	}
	byID = sortHalves(byID, func(a, b ref) int { return cmp.Or(strings.Compare(a.r.id, b.r.id), cmp.Compare(a.seq, b.seq)) })
	now := micros(s.clock())
	return s.inTx(ctx, func(t tx) error {
		done := bulkWrite(ctx, t, len(byID))
		rs := make([]contactRow, 0, upsertChunk)
		var err error
		for c := range slices.Chunk(byID, upsertChunk) {
			if err = ctx.Err(); err != nil {
				break
			}
			rs = rs[:0]
			for _, r := range c {
				rs = append(rs, *r.r)
				rs[len(rs)-1].updatedAt = now
			}
			if err = t.upsertContacts(ctx, newestByID(rs)); err != nil {
				break
			}
		}
		return cmp.Or(err, done())
	})
}

// ContactData is contacts to write with, when the caller has it, the JSON
// to store for each: Data[i], when Data is not nil and Data[i] is not nil,
// is stored in place of json.Marshal(&Contacts[i]) and must be JSON that
// encoding/json decodes to the contact it decodes json.Marshal's output to
// (importer.StreamJSONLData hands out such data: the input line, compacted,
// which spares marshalling what was just decoded). The store does not check
// it.
type ContactData struct {
	Contacts []cm.Contact
	Data     [][]byte
}

// at returns contact i and its data (nil: marshal it).
func (b *ContactData) at(i int) (*cm.Contact, []byte) {
	if b.Data == nil {
		return &b.Contacts[i], nil
	}
	return &b.Contacts[i], b.Data[i]
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
	return s.upsertContactData(ctx, []ContactData{{Contacts: cs}})
}

// UpsertContactData is UpsertContacts of the contacts of every batch, in
// order (contacts of one id across batches too: the newest wins, the later
// on a tie), storing the data the batches carry (ContactData). st must be a
// Store that Open returned.
func UpsertContactData(ctx context.Context, st Store, batches []ContactData) error {
	d, ok := st.(*dbStore)
	if !ok {
		return fmt.Errorf("store: UpsertContactData needs a store that store.Open returned, not %T", st)
	}
	return d.upsertContactData(ctx, batches)
}

func (s *core) upsertContactData(ctx context.Context, batches []ContactData) error {
	n := 0
	for i := range batches {
		if err := checkIDs(batches[i].Contacts, n); err != nil {
			return err
		}
		if d := batches[i].Data; d != nil && len(d) != len(batches[i].Contacts) {
			return fmt.Errorf("store: a ContactData has %d contacts and %d data", len(batches[i].Contacts), len(d))
		}
		n += len(batches[i].Contacts)
	}
	if n == 0 {
		return nil
	}
	now := s.clock()
	if len(batches) == 1 && n <= upsertChunk {
		rs, err := s.encodeEach(n, batches[0].at, now)
		if err != nil {
			return err
		}
		return s.inTx(ctx, func(t tx) error { return t.upsertContacts(ctx, rs) })
	}
	return s.inTx(ctx, func(t tx) error {
		done := bulkWrite(ctx, t, n)
		err := s.encodeAhead(ctx, batches, n, now, func(rs []contactRow) error { return t.upsertContacts(ctx, rs) })
		return cmp.Or(err, done())
	})
}

// contactRef is a contact to write, its data (nil: marshal it) and its
// place in the input (for sorting: contacts of one id stay in order).
type contactRef struct {
	c    *cm.Contact
	data []byte
	seq  int
}

// encodeAhead encodes the n contacts of batches chunk by chunk on another
// goroutine, one chunk ahead of write, which gets the chunks in order. The
// contacts are written in id order (contacts of one id in their order in
// batches, so the upsert rule keeps the same winner): index pages are then
// filled one after the other instead of at random, and the table's rows are
// laid out in the id order that EachContact and EachNorm read them in. It
// returns the first error of either, after the encoder has stopped.
func (s *core) encodeAhead(ctx context.Context, batches []ContactData, n int, now time.Time, write func([]contactRow) error) error {
	byID := make([]contactRef, 0, n)
	for i := range batches {
		for j := range batches[i].Contacts {
			c, data := batches[i].at(j)
			byID = append(byID, contactRef{c, data, len(byID)})
		}
	}
	// An unstable sort on (id, place) is stable, and much faster than
	// SortStableFunc.
	slices.SortFunc(byID, func(a, b contactRef) int { return cmp.Or(strings.Compare(a.c.ID, b.c.ID), cmp.Compare(a.seq, b.seq)) })
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
			rs, err := s.encodeEach(len(c), func(i int) (*cm.Contact, []byte) { return c[i].c, c[i].data }, now)
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
	return UpsertContactDataStream(ctx, st, 0, func(put func(ContactData) error) error {
		return each(func(cs []cm.Contact) error { return put(ContactData{Contacts: cs}) })
	})
}

// UpsertContactDataStream is UpsertContactStream of batches that may carry
// the data to store for their contacts (ContactData). sizeHint is about
// how many contacts each will put (0 when not known), for the store to
// prepare the transaction (SQLite sizes its page cache to it).
func UpsertContactDataStream(ctx context.Context, st Store, sizeHint int, each func(put func(ContactData) error) error) error {
	d, ok := st.(*dbStore)
	if !ok {
		return fmt.Errorf("store: UpsertContactStream needs a store that store.Open returned, not %T", st)
	}
	return d.upsertContactStream(ctx, sizeHint, each)
}

// bulkTx is a transaction that can prepare for writing many contacts.
type bulkTx interface {
	// bulkContacts prepares for writing about n contacts and returns the
	// function undoing it, to call before the transaction ends.
	bulkContacts(ctx context.Context, n int) (undo func() error, err error)
}

// bulkWrite prepares t, if it can, for writing about n contacts, and
// returns the function undoing it (which returns the first error of both).
func bulkWrite(ctx context.Context, t tx, n int) func() error {
	b, ok := t.(bulkTx)
	if !ok || n <= 0 {
		return func() error { return nil }
	}
	undo, err := b.bulkContacts(ctx, n)
	if err != nil {
		return func() error { return err }
	}
	return undo
}

func (s *core) upsertContactStream(ctx context.Context, sizeHint int, each func(put func(ContactData) error) error) error {
	now := s.clock()
	return s.inTx(ctx, func(t tx) (err error) {
		done := bulkWrite(ctx, t, sizeHint)
		defer func() { err = cmp.Or(err, done()) }()
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
		put := func(b ContactData) error {
			if err := checkIDs(b.Contacts, seen); err != nil {
				return err
			}
			if b.Data != nil && len(b.Data) != len(b.Contacts) {
				return fmt.Errorf("store: a ContactData has %d contacts and %d data", len(b.Contacts), len(b.Data))
			}
			seen += len(b.Contacts)
			rs, err := s.encodeEach(len(b.Contacts), b.at, now)
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
		eerr := each(put)
		close(rows)
		wg.Wait()
		return cmp.Or(werr, eerr)
	})
}

// sortHalves returns s sorted by cmp (a total order), sorting its two
// halves at the same time, then merging them into a new slice: on two
// cores, about half the time of one sort of it.
func sortHalves[E any](s []E, cmp func(a, b E) int) []E {
	if len(s) < 2*upsertChunk || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(s, cmp)
		return s
	}
	lo, hi := s[:len(s)/2], s[len(s)/2:]
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(lo, cmp) })
	slices.SortFunc(hi, cmp)
	wg.Wait()
	out := make([]E, 0, len(s))
	for len(lo) > 0 && len(hi) > 0 {
		if cmp(hi[0], lo[0]) < 0 {
			out, hi = append(out, hi[0]), hi[1:]
		} else {
			out, lo = append(out, lo[0]), lo[1:]
		}
	}
	return append(append(out, lo...), hi...)
}
