package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"unicode/utf8"

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

// jsonlLine is what a worker made of one line: a contact (in the chunk's
// contacts, at the line's index) that passed every check but the id's
// uniqueness (ok), or the line's errors (errs, which the id checks still
// precede), or nothing for a blank line.
type jsonlLine struct {
	line  int
	errs  []LineError
	ok    bool
	blank bool
	// decoded is set when the line decoded as a contact, whose id then
	// still needs checking (checkID), before errs.
	decoded bool
}

// jsonlDecoded is a decoded chunk: line i of it is lines[i], and when it
// decoded, contact ids[i] is contacts[i] with its storeData data[i].
// encoded and err are what readJSONL's prepare made of it (which may drop
// contacts and data).
type jsonlDecoded struct {
	lines    []jsonlLine
	ids      []string
	contacts []cm.Contact
	data     [][]byte
	encoded  any
	err      error
}

// readJSONL is the reading of every JSONL function: one goroutine reads
// lines, GOMAXPROCS goroutines decode and validate chunks of them (and run
// prepare, when not nil, on each decoded chunk), and the results are
// merged in file order (where ids are checked for uniqueness), so the
// outcome is what a line-by-line read gives. emit gets each chunk, in file
// order, with the indexes of its valid lines; an error of emit or prepare
// stops the read and is returned.
func readJSONL(r io.Reader, name string, prepare func(*jsonlDecoded) error, emit func(d *jsonlDecoded, valid []int) error) (Result, error) {
	workers := max(1, runtime.GOMAXPROCS(0))
	type job struct {
		ch  jsonlChunk
		out chan jsonlDecoded
	}
	jobs := make(chan job, workers)
	order := make(chan chan jsonlDecoded, 2*workers)
	done := make(chan struct{})
	defer close(done)
	for range workers {
		go func() {
			for j := range jobs {
				d := decodeChunk(&j.ch, name)
				if prepare != nil {
					d.err = prepare(&d)
				}
				j.out <- d
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
		ch := jsonlChunk{first: 1, ends: make([]int, 0, jsonlChunkLines)}
		send := func() bool {
			out := make(chan jsonlDecoded, 1)
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
			// The next chunk's lines are about as long as these.
			ch = jsonlChunk{first: lines + 1, buf: make([]byte, 0, len(ch.buf)+len(ch.buf)/8), ends: make([]int, 0, jsonlChunkLines)}
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
	var valid []int
	for out := range order {
		d := <-out
		if d.err != nil {
			return res, d.err
		}
		valid = valid[:0]
		for i := range d.lines {
			l := &d.lines[i]
			switch {
			case l.blank:
				continue
			case !l.decoded:
				res.Invalid = append(res.Invalid, l.errs...)
				continue
			}
			idErrs := checkID(d.ids[i], name, l.line, seen, nil)
			if len(idErrs) > 0 || !l.ok {
				res.Invalid = append(append(res.Invalid, idErrs...), l.errs...)
				continue
			}
			valid = append(valid, i)
		}
		if len(valid) > 0 {
			if err := emit(&d, valid); err != nil {
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
func decodeChunk(ch *jsonlChunk, name string) jsonlDecoded {
	d := jsonlDecoded{
		lines:    make([]jsonlLine, len(ch.ends)),
		ids:      make([]string, len(ch.ends)),
		contacts: make([]cm.Contact, len(ch.ends)),
		data:     make([][]byte, len(ch.ends)),
	}
	start := 0
	for i, end := range ch.ends {
		b := ch.buf[start:end:end]
		start = end
		line := ch.first + i
		off := 0 // bytes of the line before b
		if line == 1 {
			off = ch.bom
		}
		d.lines[i], d.data[i] = decodeLine(b, off, name, line, &d.contacts[i])
		d.ids[i] = d.contacts[i].ID
	}
	return d
}

// fastV1 are the options of the fast decoder: encoding/json's behaviour
// (case-insensitive names, ...) and unknown fields refused as
// DisallowUnknownFields does.
var fastV1 = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsonv2.RejectUnknownMembers(true)) //nolint:gochecknoglobals // immutable options

// strictV2 are the options of the fastest decoder, go-json-experiment's
// own semantics (twice as fast as fastV1): names matched exactly,
// repeated names, invalid UTF-8 and unknown fields refused. What it
// accepts, the v1 decoders accept as the same contact (the lines it
// refuses, such as names in another case, go to them):
// TestFastDecodeAgreesWithV1, FuzzFastDecodeAgreesWithV1.
var strictV2 = jsonv2.JoinOptions(jsonv2.RejectUnknownMembers(true)) //nolint:gochecknoglobals // immutable options

// decodeFast decodes raw into c, a zero contact, with strictV2, else
// fastV1, reporting whether either took it (c is zero again when not).
func decodeFast(raw []byte, c *cm.Contact) bool {
	if jsonv2.Unmarshal(raw, c, strictV2) == nil {
		return true
	}
	*c = cm.Contact{}
	if jsonv2.Unmarshal(raw, c, fastV1) == nil {
		return true
	}
	*c = cm.Contact{}
	return false
}

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
// into c and checks all but its id. data is storeData of the contact when
// it decoded.
func decodeLine(b []byte, off int, name string, line int, c *cm.Contact) (l jsonlLine, data []byte) {
	if !utf8.Valid(b) {
		i := textutil.InvalidUTF8(b)
		return jsonlLine{errs: []LineError{{File: name, Line: line, Msg: utf8Msg(b[i], off+i+1)}}}, nil
	}
	raw := bytes.TrimSpace(b)
	if len(raw) == 0 {
		return jsonlLine{blank: true}, nil
	}
	// Byte offsets of JSON syntax errors count from the start of the line
	// (a byte order mark included).
	lead := off + len(b) - len(bytes.TrimLeft(b, " \t\r\n\v\f"))
	l.line = line
	// The fast decoders (decodeFast) take the lines they accept;
	// encoding/json decodes the others again, for the errors the messages
	// are made from and for anything they might disagree on
	// (TestFastDecodeAgreesWithV1).
	if !decodeFast(raw, c) {
		if errs := decodeV1(raw, lead, name, line, c); errs != nil {
			*c = cm.Contact{}
			return jsonlLine{errs: errs}, nil
		}
	}
	l.decoded = true
	l.errs = checkFields(c, name, line, nil)
	l.ok = len(l.errs) == 0
	if l.ok {
		data = storeData(raw, c)
	}
	return l, data
}
