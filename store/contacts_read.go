package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	cm "github.com/contactmerge/contactmerge"
)

// Contacts returns the stored contacts with the given ids; missing ids are
// absent from the map.
func (s *core) Contacts(ctx context.Context, ids []string) (map[string]cm.Contact, error) {
	out := make(map[string]cm.Contact, len(ids))
	for c := range slices.Chunk(cm.SortedIDs(ids), chunkSize) {
		err := s.eachContactWhere(ctx, "WHERE id IN ("+placeholders(len(c))+")", anys(c), func(ct *cm.Contact) error {
			out[ct.ID] = *ct
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EachContact calls fn for every snapshot contact in id order, stopping at
// the first error fn returns (which it returns unchanged).
func (s *core) EachContact(ctx context.Context, fn func(*cm.Contact) error) error {
	return s.eachContactWhere(ctx, "", nil, fn)
}

// contactJSON decodes stored contacts as encoding/json does (v1
// semantics), with the faster decoder of go-json-experiment.
var contactJSON = jsonv1.DefaultOptionsV1() //nolint:gochecknoglobals // immutable options

func (s *core) eachContactWhere(ctx context.Context, where string, args []any, fn func(*cm.Contact) error) error {
	rs, err := s.b.reader().query(ctx, "SELECT id, data FROM contacts "+where+" ORDER BY id", args...)
	if err != nil {
		return s.b.translate(fmt.Errorf("query contacts: %w", err))
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		var data []byte
		if err := rs.Scan(&id, &data); err != nil {
			return fmt.Errorf("scan contact: %w", err)
		}
		var c cm.Contact
		if err := jsonv2.Unmarshal(data, &c, contactJSON); err != nil {
			return fmt.Errorf("decode contact %s: %w", id, err)
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return s.b.translate(rs.Err())
}

// EachNorm calls fn with every contact's id and stored normalized form (nil
// when none) in id order, stopping at the first error fn returns. The norm
// slice is only valid during the call.
func (s *core) EachNorm(ctx context.Context, fn func(id string, norm []byte) error) error {
	rs, err := s.b.reader().query(ctx, "SELECT id, norm FROM contacts ORDER BY id")
	if err != nil {
		return s.b.translate(fmt.Errorf("query norms: %w", err))
	}
	defer rs.Close()
	var norm sql.RawBytes // the driver's buffer: fn may only use it during the call
	for rs.Next() {
		var id string
		if err := rs.Scan(&id, &norm); err != nil {
			return fmt.Errorf("scan norm: %w", err)
		}
		if err := fn(id, norm); err != nil {
			return err
		}
	}
	return s.b.translate(rs.Err())
}

// CountContacts returns the number of snapshot contacts.
func (s *core) CountContacts(ctx context.Context) (int64, error) {
	var n int64
	if err := s.b.reader().queryRow(ctx, "SELECT count(*) FROM contacts").Scan(&n); err != nil {
		return 0, s.b.translate(fmt.Errorf("count contacts: %w", err))
	}
	return n, nil
}
