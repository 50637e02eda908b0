package policy

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
	"github.com/contactmerge/contactmerge/match"
)

// Mode is what the policy does with its verdicts.
type Mode string

// The modes.
const (
	// Shadow records what the policy would approve and approves nothing:
	// the default of a new file.
	Shadow Mode = "shadow"
	// Enforce approves, through the review package, what the policy's
	// guards let through, up to the cap of the cycle.
	Enforce Mode = "enforce"
)

// TypeRule values.
const (
	// TypeAny lets the policy approve groups of any contact types (the
	// default).
	TypeAny = "any"
	// TypeIntoCurated lets it approve only Ephemeral and Identified
	// records merging into one Curated record: exactly one member is
	// Curated, the others Ephemeral or Identified. Two Curated records,
	// or none, are a person's to merge.
	TypeIntoCurated = "intoCurated"
)

// DefaultBirthDateFields are the custom fields holding a date of birth
// when the file names none (match's FEBRL import writes dateOfBirth).
func DefaultBirthDateFields() []string { return []string{"dateOfBirth", "birthDate"} }

// Policy is a guarded auto-approve policy, as Load reads it from a file.
// Evaluate judges one group; Apply judges every proposed group of a store.
type Policy struct {
	// Path is the file the policy was read from ("" when built in code).
	Path string `json:"-"`
	// Mode is Shadow or Enforce (default Shadow).
	Mode Mode `json:"mode"`
	// MinConfidence is the threshold: groups whose confidence (the weakest
	// link's match probability) is below it are held. 0: no threshold,
	// which only AllowEverything permits.
	MinConfidence float64 `json:"minConfidence"`
	// MaxGroupSize holds groups of more members (0: no limit).
	MaxGroupSize int `json:"maxGroupSize"`
	// MaxMergesPerCycle caps the groups the policy approves in one cycle
	// (the blast radius): the most confident first. 0: no cap, which only
	// AllowEverything permits.
	MaxMergesPerCycle int `json:"maxMergesPerCycle"`
	// UniqueCustomFields are custom fields that identify a customer (a
	// loyalty number): members with two different values are held.
	UniqueCustomFields []string `json:"uniqueCustomFields"`
	// BirthDateFields are the custom fields holding a date of birth:
	// members with two different dates are held. Default
	// DefaultBirthDateFields.
	BirthDateFields []string `json:"birthDateFields"`
	// TypeRule is TypeAny (default) or TypeIntoCurated.
	TypeRule string `json:"typeRule"`
	// AllowEverything is the explicit opt-in to a policy without a
	// threshold or without a cap.
	AllowEverything bool `json:"allowEverything"`
}

// Load reads a policy file: one JSON object, the format of the matcher's
// configuration file (match.LoadConfig) with the field names of Policy's
// JSON tags, for example
//
//	{
//	  "mode": "shadow",
//	  "minConfidence": 0.999,
//	  "maxGroupSize": 4,
//	  "maxMergesPerCycle": 200,
//	  "uniqueCustomFields": ["loyaltyId"],
//	  "typeRule": "intoCurated"
//	}
//
// A key left out keeps its default: mode shadow, no group size limit, no
// unique custom field, the birth date fields DefaultBirthDateFields, any
// types. Every problem is an EINVALID error "FILE:LINE:COL: field:
// problem", as the matcher's: bad JSON, an unknown or repeated key, a
// value of the wrong type, a value out of range, and a policy that would
// approve everything (no minConfidence, or no maxMergesPerCycle) without
// "allowEverything": true.
func Load(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cm.Errorf(cm.EINVALID, "policy file: %v", err)
	}
	return Parse(path, b)
}

// Parse is Load on the contents data of the file named name.
func Parse(name string, data []byte) (*Policy, error) {
	p := &Policy{Path: name}
	pos, err := decode(name, data, p)
	if err != nil {
		return nil, err
	}
	if _, set := pos["mode"]; !set {
		p.Mode = Shadow
	}
	if _, set := pos["birthDateFields"]; !set {
		p.BirthDateFields = DefaultBirthDateFields()
	}
	if p.TypeRule == "" {
		p.TypeRule = TypeAny
	}
	if field, problem := p.check(pos); field != "" {
		off, ok := pos[field]
		if !ok {
			off = pos[""]
		}
		return nil, errorAt(name, data, off, field, problem)
	}
	return p, nil
}

// check returns the first invalid field of p and what is wrong with it;
// pos says which fields the file set.
func (p *Policy) check(pos map[string]int) (field, problem string) {
	_, hasThreshold := pos["minConfidence"]
	_, hasCap := pos["maxMergesPerCycle"]
	switch {
	case p.Mode != Shadow && p.Mode != Enforce:
		return "mode", fmt.Sprintf("%q is not %q or %q", p.Mode, Shadow, Enforce)
	case hasThreshold && (p.MinConfidence <= 0 || p.MinConfidence > 1):
		return "minConfidence", fmt.Sprintf("%v must be in (0,1]", p.MinConfidence)
	case p.MaxGroupSize < 0 || p.MaxGroupSize == 1:
		return "maxGroupSize", fmt.Sprintf("%d must be at least 2 (or 0: no limit)", p.MaxGroupSize)
	case hasCap && p.MaxMergesPerCycle < 1:
		return "maxMergesPerCycle", fmt.Sprintf("%d must be at least 1 (leave the key out, with \"allowEverything\": true, for no cap)", p.MaxMergesPerCycle)
	case p.TypeRule != TypeAny && p.TypeRule != TypeIntoCurated:
		return "typeRule", fmt.Sprintf("%q is not %q or %q", p.TypeRule, TypeAny, TypeIntoCurated)
	case !hasThreshold && !p.AllowEverything:
		return "minConfidence", "missing: without a threshold the policy approves every group; set it, or set \"allowEverything\": true to mean it"
	case !hasCap && !p.AllowEverything:
		return "maxMergesPerCycle", "missing: without a cap one cycle may approve every group; set it, or set \"allowEverything\": true to mean it"
	}
	for _, f := range []struct {
		name string
		vs   []string
	}{{"uniqueCustomFields", p.UniqueCustomFields}, {"birthDateFields", p.BirthDateFields}} {
		for i, v := range f.vs {
			if strings.TrimSpace(v) == "" {
				return f.name, fmt.Sprintf("entry %d is empty: name a custom field", i)
			}
		}
	}
	return "", ""
}

// decode reads data, one JSON object, into p, key by key, and returns the
// byte offset of each key's value ("" the object's). Unknown and repeated
// keys, bad JSON and values of the wrong type are errors naming the key.
func decode(name string, data []byte, p *Policy) (map[string]int, error) {
	fields := jsonFields(reflect.TypeFor[Policy]())
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	pos := map[string]int{}
	fail := func(off int, field, problem string) (map[string]int, error) {
		return nil, errorAt(name, data, off, field, problem)
	}
	start := next(dec, data)
	tok, err := dec.Token()
	if err != nil {
		return fail(syntaxOffset(data, start), "", syntaxProblem(data, err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fail(start, "", "want an object, got "+tokenName(tok))
	}
	pos[""] = start
	v := reflect.ValueOf(p).Elem()
	for dec.More() {
		kstart := next(dec, data)
		ktok, err := dec.Token()
		if err != nil {
			return fail(syntaxOffset(data, kstart), "", syntaxProblem(data, err))
		}
		key, _ := ktok.(string) // object keys are strings, or Token fails
		if first, dup := pos[key]; dup {
			line, col := lineCol(data, first)
			return fail(kstart, key, fmt.Sprintf("given twice (first at %d:%d)", line, col))
		}
		i, known := fields[key]
		if !known {
			return fail(kstart, key, "unknown field "+strconv.Quote(key)+suggest(key, fields))
		}
		vstart := next(dec, data)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail(syntaxOffset(data, vstart), key, syntaxProblem(data, err))
		}
		pos[key] = vstart
		f := v.Field(i)
		if bytes.Equal(raw, []byte("null")) {
			return fail(vstart, key, "want "+wantName(f.Type())+", got null (leave the key out to keep the default)")
		}
		if err := json.Unmarshal(raw, f.Addr().Interface()); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return fail(vstart, key, "want "+wantName(f.Type())+", got "+te.Value)
			}
			return fail(vstart, key, err.Error())
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail(syntaxOffset(data, len(data)), "", syntaxProblem(data, err))
	}
	if off := next(dec, data); off < len(data) {
		return fail(off, "", "unexpected data after the policy object")
	}
	return pos, nil
}

// next returns the offset where the decoder's next token starts.
func next(dec *json.Decoder, data []byte) int {
	off := int(dec.InputOffset())
	for off < len(data) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
		off++
	}
	return off
}

// syntaxOffset is where encoding/json's validation of the whole file finds
// its first syntax error (its offsets are reliable, the token stream's are
// not), or fallback when it finds none.
func syntaxOffset(data []byte, fallback int) int {
	var raw json.RawMessage
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(data, &raw), &se) {
		if strings.HasPrefix(se.Error(), "unexpected end") {
			return len(data)
		}
		return max(int(se.Offset)-1, 0)
	}
	return fallback
}

// syntaxProblem describes a syntax error of the file.
func syntaxProblem(data []byte, err error) string {
	var raw json.RawMessage
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(data, &raw), &se) {
		return se.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of JSON input"
	}
	return err.Error()
}

// errorAt renders a problem as the EINVALID error "NAME:LINE:COL: field:
// problem" (no field: "NAME:LINE:COL: problem").
func errorAt(name string, data []byte, off int, field, problem string) error {
	line, col := lineCol(data, off)
	if field != "" {
		problem = field + ": " + problem
	}
	return cm.Errorf(cm.EINVALID, "%s:%d:%d: %s", name, line, col, problem)
}

// lineCol returns the 1-based line and byte column of offset off.
func lineCol(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	col = off - (bytes.LastIndexByte(data[:off], '\n') + 1) + 1
	return line, col
}

// jsonFields maps the JSON names of struct type t's fields to their index.
func jsonFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" && name != "" {
			out[name] = i
		}
	}
	return out
}

// suggest names the known field key was probably meant to be.
func suggest(key string, fields map[string]int) string {
	best, bestD := "", 3
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if d := match.DamerauLevenshtein(strings.ToLower(key), strings.ToLower(name)); d < bestD {
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
	switch t.Kind() {
	case reflect.Slice:
		return "an array of strings"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	}
	return t.String()
}

// tokenName describes a JSON token in an error message.
func tokenName(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return "an array"
	case string:
		return "string " + strconv.Quote(v)
	case json.Number:
		return "number " + v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return "null"
}
