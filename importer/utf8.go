package importer

import (
	"encoding/csv"
	"fmt"
	"io"
	"unicode/utf8"
)

// utf8Reader passes a byte stream through and records where it is not valid
// UTF-8, by line and byte column (both from 1, as in the file), so that a
// CSV value that is not UTF-8 can be reported at the byte where it goes
// wrong. encoding/csv keeps such bytes as they are and reads ahead, so by
// the time it returns a record every byte of it has been scanned.
type utf8Reader struct {
	r         io.Reader
	line, col int       // position of the next byte to scan
	bomLen    int       // bytes of a byte order mark dropped before the stream
	carry     []byte    // the start of a rune cut off by the end of the last read
	bad       []badByte // in file order
}

// badByte is a byte that starts no valid UTF-8 sequence.
type badByte struct {
	line, col int
	b         byte
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	u.scan(p[:n], err != nil)
	return n, err
}

// scan records the invalid bytes of b, the next bytes of the stream; final
// says no more bytes follow.
func (u *utf8Reader) scan(b []byte, final bool) {
	if len(u.carry) > 0 {
		b = append(u.carry, b...)
		u.carry = nil
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == '\n' {
				u.line, u.col = u.line+1, 1
			} else {
				u.col++
			}
			i++
			continue
		}
		if !final && !utf8.FullRune(b[i:]) {
			u.carry = append([]byte(nil), b[i:]...)
			return
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			u.bad = append(u.bad, badByte{u.line, u.col, c})
		}
		u.col += size
		i += size
	}
}

// find returns the first invalid byte of field i of the record cr read last
// (a field that is not valid UTF-8).
func (u *utf8Reader) find(cr *csv.Reader, i int) badByte {
	line, col := cr.FieldPos(i)
	if line == 1 {
		col += u.bomLen
	}
	for _, p := range u.bad {
		if p.line > line || p.line == line && p.col >= col {
			return p
		}
	}
	// Not seen (cannot happen: csv passes bytes through); the field's start
	// is the best position known.
	return badByte{line: line, col: col, b: 0}
}

// forget drops the invalid bytes before line: the records that held them
// are done.
func (u *utf8Reader) forget(line int) {
	n := 0
	for n < len(u.bad) && u.bad[n].line < line {
		n++
	}
	u.bad = u.bad[n:]
}

// parseMsg describes a CSV syntax error, for a LineError on the line the
// record starts on, in the words of the decision CSV's errors (review):
// "parse error: ERR (column C)", or "(line L, column C)" when the error is
// on a later line of the record. Columns count the file's bytes (a byte
// order mark included).
func (u *utf8Reader) parseMsg(pe *csv.ParseError) string {
	col := pe.Column
	if pe.Line == 1 {
		col += u.bomLen
	}
	where := fmt.Sprintf("column %d", col)
	if pe.Line != pe.StartLine {
		where = fmt.Sprintf("line %d, column %d", pe.Line, col)
	}
	return fmt.Sprintf("parse error: %v (%s)", pe.Err, where)
}
