package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"runtime"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/textutil"
)

// jsonlChunkLines is how many lines one decoding job carries.
const jsonlChunkLines = 1024

// jsonlChunk is a run of consecutive lines: their bytes back to back in buf,
// line i being buf[ends[i-1]:ends[i]] and numbered first+i.
type jsonlChunk struct {
	first int
	buf   []byte
	ends  []int
	bom   int // bytes of a byte order mark dropped before the first line
}

// jsonlLine is what a worker made of one line: a contact that passed every
// check but the id's uniqueness (ok), or the line's errors (errs, which the
// id checks still precede), or nothing for a blank line.
type jsonlLine struct {
	c     cm.Contact
	line  int
	errs  []LineError
	ok    bool
	blank bool
	// decoded is set when the line decoded as a contact, whose id then
	// still needs checking (checkID), before errs.
	decoded bool
}

// readJSONL is ReadJSONL and StreamJSONL: one goroutine reads lines,
// GOMAXPROCS goroutines decode and validate chunks of them, and the results
// are merged in file order (where ids are checked for uniqueness), so the
// outcome is what a line-by-line read gives. The valid contacts of each
// chunk go to emit, in file order; an error of emit stops the read and is
// returned.
func readJSONL(r io.Reader, name string, emit func([]cm.Contact) error) (Result, error) {
	workers := max(1, runtime.GOMAXPROCS(0))
	type job struct {
		ch  jsonlChunk
		out chan []jsonlLine
	}
	jobs := make(chan job, workers)
	order := make(chan chan []jsonlLine, 2*workers)
	done := make(chan struct{})
	defer close(done)
	for range workers {
		go func() {
			for j := range jobs {
				j.out <- decodeChunk(&j.ch, name)
			}
		}()
	}
	var readErr error
	var lines int
	go func() {
		defer close(order)
		defer close(jobs)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
		ch := jsonlChunk{first: 1}
		send := func() bool {
			out := make(chan []jsonlLine, 1)
			select {
			case order <- out:
			case <-done:
				return false
			}
			select {
			case jobs <- job{ch, out}:
			case <-done:
				return false
			}
			ch = jsonlChunk{first: lines + 1}
			return true
		}
		for sc.Scan() {
			lines++
			b := sc.Bytes()
			if lines == 1 {
				t := bytes.TrimPrefix(b, []byte(bom))
				ch.bom = len(b) - len(t)
				b = t
			}
			ch.buf = append(ch.buf, b...)
			ch.ends = append(ch.ends, len(ch.buf))
			if len(ch.ends) == jsonlChunkLines && !send() {
				return
			}
		}
		readErr = sc.Err()
		if len(ch.ends) > 0 {
			send()
		}
	}()
	var res Result
	seen := map[string]int{}
	var valid []cm.Contact
	for out := range order {
		ls := <-out
		valid = valid[:0]
		for i := range ls {
			l := &ls[i]
			switch {
			case l.blank:
				continue
			case !l.decoded:
				res.Invalid = append(res.Invalid, l.errs...)
				continue
			}
			idErrs := checkID(&l.c, name, l.line, seen, nil)
			if len(idErrs) > 0 || !l.ok {
				res.Invalid = append(append(res.Invalid, idErrs...), l.errs...)
				continue
			}
			valid = append(valid, l.c)
		}
		if len(valid) > 0 {
			if err := emit(valid); err != nil {
				return res, err
			}
		}
	}
	// order is closed: the reader is done and readErr and lines are set.
	if readErr != nil {
		return res, cm.Errorf(cm.EINVALID, "%s:%d: %v", name, lines+1, readErr)
	}
	return res, nil
}

// decodeChunk decodes and validates every line of ch but for the
// uniqueness of ids.
func decodeChunk(ch *jsonlChunk, name string) []jsonlLine {
	out := make([]jsonlLine, len(ch.ends))
	start := 0
	for i, end := range ch.ends {
		b := ch.buf[start:end:end]
		start = end
		line := ch.first + i
		off := 0 // bytes of the line before b
		if line == 1 {
			off = ch.bom
		}
		out[i] = decodeLine(b, off, name, line)
	}
	return out
}

// fastV1 are the options of the fast decoder: encoding/json's behaviour
// (case-insensitive names, ...) and unknown fields refused as
// DisallowUnknownFields does.
var fastV1 = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsonv2.RejectUnknownMembers(true)) //nolint:gochecknoglobals // immutable options

// decodeV1 decodes raw, the line's content after lead bytes, with
// encoding/json into c, returning the line's errors (nil when it decoded).
func decodeV1(raw []byte, lead int, name string, line int, c *cm.Contact) []LineError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		field, msg := decodeMsg(err, raw, lead)
		return []LineError{{File: name, Line: line, Field: field, Msg: msg}}
	}
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 {
		return []LineError{{File: name, Line: line, Msg: "more than one JSON value on the line"}}
	}
	return nil
}

// decodeLine decodes one line (b, after the off bytes of a byte order mark)
// and checks all but its id.
func decodeLine(b []byte, off int, name string, line int) jsonlLine {
	if i := textutil.InvalidUTF8(b); i >= 0 {
		return jsonlLine{errs: []LineError{{File: name, Line: line, Msg: utf8Msg(b[i], off+i+1)}}}
	}
	raw := bytes.TrimSpace(b)
	if len(raw) == 0 {
		return jsonlLine{blank: true}
	}
	// Byte offsets of JSON syntax errors count from the start of the line
	// (a byte order mark included).
	lead := off + len(b) - len(bytes.TrimLeft(b, " \t\r\n\v\f"))
	l := jsonlLine{line: line}
	// The fast decoder, with encoding/json's semantics (v1 options), takes
	// the lines it accepts; encoding/json decodes the others again, for the
	// errors the messages are made from and for anything the two might
	// disagree on (TestFastDecodeAgreesWithV1).
	if jsonv2.Unmarshal(raw, &l.c, fastV1) != nil {
		l.c = cm.Contact{}
		if errs := decodeV1(raw, lead, name, line, &l.c); errs != nil {
			return jsonlLine{errs: errs}
		}
	}
	l.decoded = true
	l.errs = checkFields(&l.c, name, line, nil)
	l.ok = len(l.errs) == 0
	return l
}
