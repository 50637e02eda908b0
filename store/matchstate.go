package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	cm "github.com/contactmerge/contactmerge"
)

// The match state: what a match keeps for the next one, so that a match
// after a scan only re-blocks, scores and clusters the contacts that
// changed (match.State; schema v9 table match_state). The store keeps it
// as opaque named parts, each split into rows of at most stateChunk bytes.
// SaveMatch writes the groups of a match and its state in one transaction,
// so that the state always describes the stored proposals. An incremental
// match finds the contacts written since the last one by their write time
// (ContactsWrittenSince) and the deleted ones in a log a trigger keeps
// (DeletedContacts).

// stateChunk bounds one match_state row (SQLite's default blob limit is
// 1e9 bytes; PostgreSQL's bytea 1 GiB): a million contacts' parts are one
// row each (the largest, the ids of the contacts, is 53 MB), which
// LoadMatchState does not copy. A store's core.stateChunk overrides it,
// so that a test writes parts of several rows without writing that much.
const stateChunk = 256 << 20

// ContactsWrittenSince calls fn with the id, write time (updated_at, the
// store's unix microseconds) and modify_date (unix microseconds) of every
// contact written at or after since (since 0: every contact), in no
// particular order, from the covering index contacts_updated of schema v9.
func (s *core) ContactsWrittenSince(ctx context.Context, since int64, fn func(id string, updatedAt, modifyDate int64) error) error {
	rs, err := s.b.reader().query(ctx, "SELECT id, updated_at, modify_date FROM contacts WHERE updated_at >= ?", since)
	if err != nil {
		return s.b.translate(fmt.Errorf("query written contacts: %w", err))
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var up, md int64
		if err := rs.Scan(&id, &up, &md); err != nil {
			return fmt.Errorf("scan written contact: %w", err)
		}
		if err := fn(id, up, md); err != nil {
			return err
		}
	}
	return s.b.translate(rs.Err())
}

// WrittenBetween returns the number of contacts written in [lo, hi] (their
// updated_at) and the sum of their write times less lo, from the index
// contacts_updated (match.WindowCounter).
func (s *core) WrittenBetween(ctx context.Context, lo, hi int64) (n, sum int64, err error) {
	if err := s.b.reader().queryRow(ctx, "SELECT COUNT(*), COALESCE(SUM(updated_at - ?), 0) FROM contacts WHERE updated_at >= ? AND updated_at <= ?", lo, lo, hi).Scan(&n, &sum); err != nil {
		return 0, 0, s.b.translate(fmt.Errorf("count contacts written between %d and %d: %w", lo, hi, err))
	}
	return n, sum, nil
}

// LastWritten returns the newest write time of a contact (0 for none).
func (s *core) LastWritten(ctx context.Context) (int64, error) {
	var n int64
	if err := s.b.reader().queryRow(ctx, "SELECT COALESCE(MAX(updated_at), 0) FROM contacts").Scan(&n); err != nil {
		return 0, s.b.translate(fmt.Errorf("last contact write: %w", err))
	}
	return n, nil
}

// DeletedContacts returns the log of deleted contacts that no SaveMatch
// consumed yet: its row numbers and the contact ids, in deletion order (a
// trigger of schema v9 logs every delete from contacts).
func (s *core) DeletedContacts(ctx context.Context) (seqs []int64, ids []string, err error) {
	rs, err := s.b.reader().query(ctx, "SELECT seq, id FROM match_deleted ORDER BY seq")
	if err != nil {
		return nil, nil, s.b.translate(fmt.Errorf("query deleted contacts: %w", err))
	}
	defer rs.Close()
	for rs.Next() {
		var seq int64
		var id string
		if err := rs.Scan(&seq, &id); err != nil {
			return nil, nil, fmt.Errorf("scan deleted contact: %w", err)
		}
		seqs, ids = append(seqs, seq), append(ids, id)
	}
	return seqs, ids, s.b.translate(rs.Err())
}

// Norms returns the stored norms of the contacts with the given ids (nil
// for a contact without one); ids not stored are absent. Many ids are read
// in two halves at once, on two connections (an incremental match reads
// the norms of tens of thousands of contacts, each a random page or two).
func (s *core) Norms(ctx context.Context, ids []string) (map[string][]byte, error) {
	sorted := cm.SortedIDs(ids)
	if len(sorted) < 4*chunkSize {
		out := make(map[string][]byte, len(ids))
		return out, s.norms(ctx, sorted, out)
	}
	half := len(sorted) / 2
	lo, hi := make(map[string][]byte, half), make(map[string][]byte, len(sorted)-half)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.norms(gctx, sorted[:half], lo) })
	g.Go(func() error { return s.norms(gctx, sorted[half:], hi) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	maps.Copy(lo, hi)
	return lo, nil
}

// norms reads the norms of ids (sorted) into out.
func (s *core) norms(ctx context.Context, ids []string, out map[string][]byte) error {
	for c := range slices.Chunk(ids, chunkSize) {
		rs, err := s.b.reader().query(ctx, "SELECT id, norm FROM contacts WHERE id IN ("+placeholders(len(c))+")", anys(c)...)
		if err != nil {
			return s.b.translate(fmt.Errorf("query norms: %w", err))
		}
		for rs.Next() {
			var id string
			var norm []byte
			if err := rs.Scan(&id, &norm); err != nil {
				rs.Close()
				return fmt.Errorf("scan norm: %w", err)
			}
			out[id] = norm
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return s.b.translate(err)
		}
	}
	return nil
}

// LoadMatchStatePart returns one stored part of the match state (nil when
// it is not stored): match reads the small meta part on its own, to start
// reading the contacts written since while the rest loads.
func (s *core) LoadMatchStatePart(ctx context.Context, name string) ([]byte, error) {
	rs, err := s.b.reader().query(ctx, "SELECT data FROM match_state WHERE name = ? ORDER BY seq", name)
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("load match state %s: %w", name, err))
	}
	defer rs.Close()
	var out []byte
	for rs.Next() {
		var data sql.RawBytes
		if err := rs.Scan(&data); err != nil {
			return nil, fmt.Errorf("scan match state %s: %w", name, err)
		}
		if out == nil {
			out = []byte{}
		}
		out = append(out, data...)
	}
	return out, s.b.translate(rs.Err())
}

// LoadMatchState returns the parts of the stored match state (nil when no
// match kept one).
//
// A part whose name holds '@' is immutable: it is written once under its
// name and only ever deleted (match's base parts, named after the full
// match that wrote them). The other parts are read in one statement (one
// snapshot); each row of an immutable part is read on its own, two
// statements at a time. Should a full match replace the state in between,
// the parts read name base parts that are not there, and
// match.DecodeState refuses the state (the match is then a full one):
// parts of two states are never mixed unnoticed.
//
// Every byte of a million contacts' state (195 MB) is fresh memory, and
// on a virtual machine a page fault is most of the cost of loading it, so
// it is copied as few times as it can be: a part of one row is the
// driver's own copy of it on SQLite (whose driver gives every row's blob
// a slice of its own: TestSQLiteBlobsAreFresh), and the rows of a part of
// several rows are copied into their places in a part allocated once.
// Loading a million contacts' state went from 0.55-0.84 s to 0.14-0.22 s.
func (s *core) LoadMatchState(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.matchStateRows(ctx)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return s.loadMatchState(ctx, rows)
}

// loadMatchState is LoadMatchState of the rows listed.
func (s *core) loadMatchState(ctx context.Context, rows []stateRow) (map[string][]byte, error) {
	out := map[string][]byte{}
	sizes := map[string]int64{}
	type piece struct {
		name      string
		seq, size int64
		part      []byte // the piece's place in its part
		found     bool
	}
	var pieces []piece
	nrows := map[string]int{}
	for _, r := range rows {
		sizes[r.name] += r.size
		nrows[r.name]++
	}
	fresh := s.b.kind() == "sqlite"
	offset := map[string]int64{}
	for _, r := range rows { // by name, seq
		if !strings.Contains(r.name, "@") {
			continue
		}
		if fresh && nrows[r.name] == 1 {
			pieces = append(pieces, piece{name: r.name, seq: r.seq, size: r.size})
			continue
		}
		if out[r.name] == nil {
			out[r.name] = make([]byte, sizes[r.name])
		}
		at := offset[r.name]
		pieces = append(pieces, piece{name: r.name, seq: r.seq, size: r.size, part: out[r.name][at : at+r.size : at+r.size]})
		offset[r.name] = at + r.size
	}
	slices.SortStableFunc(pieces, func(a, b piece) int { return cmp.Compare(b.size, a.size) })
	mutable := map[string][]byte{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	g.Go(func() error { return s.loadMutableState(gctx, sizes, nrows, fresh, mutable) })
	for i := range pieces {
		p := &pieces[i]
		g.Go(func() error {
			rs, err := s.b.reader().query(gctx, "SELECT data FROM match_state WHERE name = ? AND seq = ?", p.name, p.seq)
			if err != nil {
				return s.b.translate(fmt.Errorf("load match state %s: %w", p.name, err))
			}
			defer rs.Close()
			if !rs.Next() {
				return s.b.translate(rs.Err()) // deleted since: see below
			}
			var data sql.RawBytes // copied once, into its place
			if err := rs.Scan(&data); err != nil {
				return fmt.Errorf("scan match state %s: %w", p.name, err)
			}
			if int64(len(data)) != p.size {
				return fmt.Errorf("load match state: part %s changed while it was read (an immutable part)", p.name)
			}
			if p.part == nil {
				p.part = data // the driver's copy, the piece's own (fresh)
			} else {
				copy(p.part, data)
			}
			p.found = true
			return s.b.translate(rs.Err())
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, p := range pieces {
		switch {
		case !p.found:
			// A full match replaced the state since its rows were listed:
			// the part is left out, and DecodeState refuses the state.
			delete(out, p.name)
		case fresh && nrows[p.name] == 1:
			out[p.name] = p.part
		}
	}
	maps.Copy(out, mutable)
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// stateRow is a row of the match state: its part, number and size.
type stateRow struct {
	name      string
	seq, size int64
}

// matchStateRows returns the rows of the stored match state (by name,
// seq) without their data.
func (s *core) matchStateRows(ctx context.Context) ([]stateRow, error) {
	rs, err := s.b.reader().query(ctx, "SELECT name, seq, length(data) FROM match_state ORDER BY name, seq")
	if err != nil {
		return nil, s.b.translate(fmt.Errorf("load match state sizes: %w", err))
	}
	defer rs.Close()
	var out []stateRow
	for rs.Next() {
		var r stateRow
		if err := rs.Scan(&r.name, &r.seq, &r.size); err != nil {
			return nil, fmt.Errorf("scan match state sizes: %w", err)
		}
		out = append(out, r)
	}
	return out, s.b.translate(rs.Err())
}

// loadMutableState reads the parts of the match state without '@' in
// their names into out, in one statement: a part of one row is the
// driver's slice when it is fresh (SQLite), any other is allocated at its
// size in sizes.
func (s *core) loadMutableState(ctx context.Context, sizes map[string]int64, nrows map[string]int, fresh bool, out map[string][]byte) error {
	rs, err := s.b.reader().query(ctx, "SELECT name, data FROM match_state WHERE name NOT LIKE '%@%' ORDER BY name, seq")
	if err != nil {
		return s.b.translate(fmt.Errorf("load match state: %w", err))
	}
	defer rs.Close()
	for rs.Next() {
		var name string
		var data sql.RawBytes // copied once, into the part
		if err := rs.Scan(&name, &data); err != nil {
			return fmt.Errorf("scan match state: %w", err)
		}
		part, ok := out[name]
		if !ok && fresh && nrows[name] == 1 {
			out[name] = data // the driver's copy, the part's own (fresh)
			continue
		}
		if !ok {
			part = make([]byte, 0, max(sizes[name], int64(len(data))))
		}
		out[name] = append(part, data...)
	}
	return s.b.translate(rs.Err())
}

// ClearMatchState deletes the stored match state and the deleted
// contacts' log (the next match is a full one).
func (s *core) ClearMatchState(ctx context.Context) error {
	return s.inTx(ctx, func(t tx) error {
		if _, err := t.exec(ctx, "DELETE FROM match_state"); err != nil {
			return err
		}
		_, err := t.exec(ctx, "DELETE FROM match_deleted")
		return err
	})
}

// SaveMatch writes the groups of a match run and its state in one
// transaction. With unchanged nil it is SaveProposals: every stored group
// that groups does not hold and that a match may supersede is superseded.
// Otherwise (an incremental match) groups are the groups the run
// recomputed and unchanged the ids of the groups it kept as they are
// stored: those are neither rewritten nor superseded, and any other
// stored group that groups does not hold is superseded as SaveProposals
// would. New and refreshed groups get their ledger rows as with
// SaveProposals; a steward's survivor or field choices are kept. state
// replaces the stored match state (nil: none is kept), and the rows
// consumed of the deleted contacts' log (DeletedContacts) are removed; a
// part of state that is nil keeps its stored rows (it is an error when
// none are stored), and stored parts state does not name are removed.
func (s *core) SaveMatch(ctx context.Context, groups []cm.Group, unchanged []string, state map[string][]byte, consumed []int64, actor string) (cm.ProposalResult, error) {
	return s.saveGroups(ctx, groups, unchanged, actor, func(t tx, now time.Time) error {
		if err := writeMatchState(ctx, t, state, micros(now), cmp.Or(s.stateChunk, stateChunk)); err != nil {
			return err
		}
		for c := range slices.Chunk(consumed, chunkSize) {
			args := make([]any, len(c))
			for i, v := range c {
				args[i] = v
			}
			if _, err := t.exec(ctx, "DELETE FROM match_deleted WHERE seq IN ("+placeholders(len(c))+")", args...); err != nil {
				return fmt.Errorf("consume deleted contacts: %w", err)
			}
		}
		return nil
	})
}

// writeMatchState replaces the stored match state with state's parts. A
// nil part keeps its stored rows (an incremental match does not rewrite
// the base parts a full match wrote); a part state does not name is
// deleted.
func writeMatchState(ctx context.Context, t tx, state map[string][]byte, at int64, chunk int) error {
	names := slices.Sorted(maps.Keys(state))
	var keep []any
	for _, name := range names {
		if state[name] == nil {
			keep = append(keep, name)
		}
	}
	if len(keep) > 0 {
		var n int
		if err := t.queryRow(ctx, "SELECT COUNT(DISTINCT name) FROM match_state WHERE name IN ("+placeholders(len(keep))+")", keep...).Scan(&n); err != nil {
			return fmt.Errorf("check kept match state parts: %w", err)
		}
		if n != len(keep) {
			return fmt.Errorf("save match state: %d of the parts %v to keep are not stored (another match replaced the state?)", len(keep)-n, keep)
		}
		if _, err := t.exec(ctx, "DELETE FROM match_state WHERE name NOT IN ("+placeholders(len(keep))+")", keep...); err != nil {
			return fmt.Errorf("clear match state: %w", err)
		}
	} else if _, err := t.exec(ctx, "DELETE FROM match_state"); err != nil {
		return fmt.Errorf("clear match state: %w", err)
	}
	for _, name := range names {
		b := state[name]
		if b == nil {
			continue
		}
		for seq := 0; seq == 0 || len(b) > 0; seq++ {
			n := min(len(b), chunk)
			if _, err := t.exec(ctx, "INSERT INTO match_state (name, seq, data, updated_at) VALUES (?, ?, ?, ?)",
				name, int64(seq), b[:n:n], at); err != nil {
				return fmt.Errorf("save match state %s: %w", name, err)
			}
			b = b[n:]
		}
	}
	return nil
}
