package importer

import (
	"bytes"
	"encoding/json"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// storeData returns the bytes a store can keep as the JSON of c, decoded
// from the line raw (valid JSON, one value), in place of json.Marshal(c):
// raw without whitespace, with '<', '>', '&', U+2028 and U+2029 escaped as
// json.Marshal escapes them (in json.RawMessage fields too, which keep
// their bytes). encoding/json decodes the result to the contact it decodes
// json.Marshal(c) to (TestStoreDataDecodesAsMarshal, FuzzStoreData). It
// returns nil, for the store to marshal c, when raw has an empty object or
// array (a field set to {} or [] is an empty map or slice, where the
// marshalled contact leaves it out and so decodes to nil) or c has a date
// in a location other than UTC (json.Marshal writes an offset of zero as
// "Z", which decodes to UTC). raw itself is returned when it needs no
// change; otherwise a new slice.
func storeData(raw []byte, c *cm.Contact) []byte {
	if !utcOrZero(c.ModifyDate) || !utcOrZero(c.CreateDate) {
		return nil
	}
	space, html, empty := scanJSON(raw)
	if empty {
		return nil
	}
	out := raw
	if space {
		var b bytes.Buffer
		b.Grow(len(raw))
		if json.Compact(&b, raw) != nil {
			return nil
		}
		out = b.Bytes()
	}
	if html {
		var b bytes.Buffer
		b.Grow(len(out) + 16)
		json.HTMLEscape(&b, out)
		out = b.Bytes()
	}
	return out
}

// utcOrZero reports whether t is the zero time or in UTC.
func utcOrZero(t time.Time) bool { return t.IsZero() || t.Location() == time.UTC }

// scanJSON reports whether the JSON value b has whitespace outside its
// strings (space), a byte json.Marshal escapes for HTML ('<', '>', '&', or
// the first byte of U+2028 and U+2029: then html is true at the slightest
// doubt), and an empty object or array (empty).
func scanJSON(b []byte) (space, html, empty bool) {
	var last byte // the last byte outside strings that is not whitespace
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case ' ', '\t', '\n', '\r':
			space = true
		case '"':
			for i++; i < len(b); i++ {
				c := b[i]
				if c == '\\' {
					i++
					continue
				}
				if c == '"' {
					break
				}
				if c == '<' || c == '>' || c == '&' || c == 0xe2 {
					html = true
				}
			}
			last = '"'
		case '}', ']':
			if last == '{' || last == '[' {
				empty = true
			}
			last = c
		default:
			last = c
		}
	}
	return space, html, empty
}
