package match

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// LoadConfig reads a JSON file and overlays it on DefaultConfig: fields the
// file sets replace the defaults (a "comparisons" entry replaces that field's
// whole comparison; the fields of an object such as "survivor" overlay one
// by one; entries of "nicknames" and "email.domainAliases" are added to the
// defaults).
//
// Every problem is an EINVALID error "FILE:LINE:COL: path: problem": LINE
// and COL (1-based, COL counting bytes, as Go's tools do) locate the value
// or key at fault, and path names it with JSON field names
// ("comparisons.phone.levels[1].kind"). Problems are bad JSON, a value of
// the wrong type (null included: leave a key out to keep its default), an
// unknown key (key names are case-sensitive), a key given twice in one
// object, and any value Config.Validate rejects. A file that cannot be read
// is an EINVALID error naming it.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return DefaultConfig(), cm.Errorf(cm.EINVALID, "match config: %v", err)
	}
	return parseConfig(path, b)
}

// configFile is the shape LoadConfig decodes: Config, except that each
// comparison is kept raw so that it replaces the default of its field alone
// instead of the whole map.
type configFile struct {
	*Config
	Comparisons map[string]json.RawMessage `json:"comparisons"`
}

// parseConfig is LoadConfig on the contents data of the file name.
func parseConfig(name string, data []byte) (Config, error) {
	cfg := DefaultConfig()
	s := configScanner{data: data, dec: json.NewDecoder(bytes.NewReader(data)), pos: map[string]int{}}
	s.dec.UseNumber()
	if e := s.scan(); e != nil {
		return cfg, s.errorAt(name, e.off, e.path, e.problem)
	}
	// The scan has checked syntax, keys and types, so decoding fails only
	// on a disagreement between the scan and encoding/json.
	file := configFile{Config: &cfg}
	if err := json.Unmarshal(data, &file); err != nil {
		return cfg, s.decodeError(name, 0, "", err)
	}
	for _, field := range slices.Sorted(maps.Keys(file.Comparisons)) {
		path := "comparisons." + field
		var c Comparison
		if err := json.Unmarshal(file.Comparisons[field], &c); err != nil {
			return cfg, s.decodeError(name, s.pos[path], path, err)
		}
		if cfg.Comparisons == nil {
			cfg.Comparisons = map[string]Comparison{}
		}
		cfg.Comparisons[field] = c
	}
	if fe := cfg.check(); fe != nil {
		return cfg, s.errorAt(name, s.lookup(fe.path), fe.path, fe.problem)
	}
	return cfg, nil
}

// configScanner walks a configuration file token by token along Config's
// type: it records where each value starts (pos, by path) and stops at the
// first syntax error, unknown or duplicate key, or value of the wrong type.
type configScanner struct {
	data []byte
	dec  *json.Decoder
	pos  map[string]int // path → byte offset of its value
}

// scanError is a problem at byte offset off of the file.
type scanError struct {
	off           int
	path, problem string
}

// scan checks the whole file: one JSON object shaped like Config.
func (s *configScanner) scan() *scanError {
	if e := s.value(reflect.TypeFor[Config](), ""); e != nil {
		return e
	}
	if _, err := s.dec.Token(); err != io.EOF {
		// Another value follows (err == nil), or bad JSON does.
		return s.syntax("", err)
	}
	return nil
}

// next returns the offset where the next token starts.
func (s *configScanner) next() int {
	off := int(s.dec.InputOffset())
	for off < len(s.data) && strings.IndexByte(" \t\r\n,:", s.data[off]) >= 0 {
		off++
	}
	return off
}

// value checks the next value against type t; path names it.
func (s *configScanner) value(t reflect.Type, path string) *scanError {
	start := s.next()
	tok, err := s.dec.Token()
	if err != nil {
		return s.syntax(path, err)
	}
	s.pos[path] = start
	wrong := func() *scanError {
		return &scanError{off: start, path: path, problem: fmt.Sprintf("want %s, got %s", wantName(t), tokenName(tok))}
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			if t.Kind() != reflect.Slice {
				return wrong()
			}
			for i := 0; s.dec.More(); i++ {
				if e := s.value(t.Elem(), fmt.Sprintf("%s[%d]", path, i)); e != nil {
					return e
				}
			}
			return s.close(path)
		}
		// v == '{': the decoder returns no other delimiter at a value's start.
		var fields map[string]reflect.Type
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
		default:
			return wrong()
		}
		seen := map[string]int{}
		for s.dec.More() {
			kstart := s.next()
			ktok, err := s.dec.Token()
			if err != nil {
				return s.syntax(path, err)
			}
			key, _ := ktok.(string) // object keys are strings, or Token fails
			kpath := key
			if path != "" {
				kpath = path + "." + key
			}
			if first, dup := seen[key]; dup {
				line, col := lineCol(s.data, first)
				return &scanError{off: kstart, path: kpath, problem: fmt.Sprintf("duplicate key %q (first at %d:%d)", key, line, col)}
			}
			seen[key] = kstart
			var et reflect.Type
			if fields == nil {
				et = t.Elem()
			} else if et = fields[key]; et == nil {
				return &scanError{off: kstart, path: kpath, problem: "unknown field " + strconv.Quote(key) + suggest(key, fields)}
			}
			if e := s.value(et, kpath); e != nil {
				return e
			}
		}
		return s.close(path)
	case string:
		if t.Kind() != reflect.String {
			return wrong()
		}
	case bool:
		if t.Kind() != reflect.Bool {
			return wrong()
		}
	case json.Number:
		var err error
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			_, err = strconv.ParseInt(v.String(), 10, t.Bits())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			_, err = strconv.ParseUint(v.String(), 10, t.Bits())
		case reflect.Float32, reflect.Float64:
			_, err = strconv.ParseFloat(v.String(), t.Bits())
		default:
			return wrong()
		}
		if err != nil {
			return wrong()
		}
	case nil:
		switch t.Kind() {
		case reflect.Slice, reflect.Map:
		default:
			return &scanError{off: start, path: path, problem: fmt.Sprintf("want %s, got null (leave the key out to keep the default)", wantName(t))}
		}
	}
	return nil
}

// close reads the delimiter that ends an object or array.
func (s *configScanner) close(path string) *scanError {
	if _, err := s.dec.Token(); err != nil {
		return s.syntax(path, err)
	}
	return nil
}

// syntax turns an error of the token stream (or, with err nil, a value
// after the top-level object) into a scanError. The decoder's own offsets
// are not reliable, so the position and message come from encoding/json's
// validation of the whole file (its SyntaxError.Offset counts the bytes
// read up to and including the bad one).
func (s *configScanner) syntax(path string, err error) *scanError {
	var raw json.RawMessage
	var se *json.SyntaxError
	switch {
	case errors.As(json.Unmarshal(s.data, &raw), &se):
		off := int(se.Offset) - 1
		if strings.HasPrefix(se.Error(), "unexpected end") {
			off = len(s.data)
		}
		return &scanError{off: max(off, 0), path: path, problem: se.Error()}
	case err == nil:
		return &scanError{off: s.next(), path: path, problem: "unexpected data after the configuration object"}
	case errors.Is(err, io.EOF):
		return &scanError{off: len(s.data), path: path, problem: "unexpected end of JSON input"}
	}
	return &scanError{off: int(s.dec.InputOffset()), path: path, problem: err.Error()}
}

// lookup returns the offset of the value at path or, when the file does
// not set it, of its nearest enclosing value the file sets.
func (s *configScanner) lookup(path string) int {
	for {
		if off, ok := s.pos[path]; ok {
			return off
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return s.pos[""]
		}
		path = path[:i]
	}
}

// errorAt renders a problem as "NAME:LINE:COL: path: problem".
func (s *configScanner) errorAt(name string, off int, path, problem string) error {
	line, col := lineCol(s.data, off)
	fe := fieldError{path: path, problem: problem}
	return cm.Errorf(cm.EINVALID, "%s:%d:%d: %s", name, line, col, fe.Error())
}

// decodeError renders an error of json.Unmarshal on the value at byte
// offset base of the file (path names it): its Offset, counted from base,
// gives the position.
func (s *configScanner) decodeError(name string, base int, path string, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field != "" {
			path = strings.TrimPrefix(path+"."+te.Field, ".")
		}
		return s.errorAt(name, base+max(int(te.Offset)-1, 0), path, fmt.Sprintf("want %s, got %s", wantName(te.Type), te.Value))
	case errors.As(err, &se):
		return s.errorAt(name, base+max(int(se.Offset)-1, 0), path, se.Error())
	}
	return s.errorAt(name, base, path, err.Error())
}

// lineCol returns the 1-based line and byte column of offset off.
func lineCol(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	col = off - (bytes.LastIndexByte(data[:off], '\n') + 1) + 1
	return line, col
}

// jsonFields maps the JSON names of struct type t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// suggest names the known field key was probably meant to be.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		d := DamerauLevenshtein(strings.ToLower(key), strings.ToLower(name))
		if d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// wantName describes the JSON value a field of type t takes.
func wantName(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// tokenName describes a JSON token in an error message.
func tokenName(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return "string " + strconv.Quote(v)
	case json.Number:
		return "number " + v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return "null"
}
