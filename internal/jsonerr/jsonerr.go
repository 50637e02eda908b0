// Package jsonerr explains why a JSON object did not decode, in a person's
// words and naming the field to blame: encoding/json names an unknown field
// only inside its message, a wrong type by its Go type, and a date that does
// not parse not at all. The contact importer and the sandbox's file loaders
// frame the explanation their own way; the diagnosis is shared here.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Kind of problem found by Explain.
type Kind int

// The kinds of problem.
const (
	Other        Kind = iota // Msg is the decoder's own message
	UnknownField             // Field is not a field of the target type
	Syntax                   // not JSON; Offset is the byte of the object where it failed
	Truncated                // the input ends inside the object
	NotAnObject              // a JSON value of another kind (Msg names it)
	WrongType                // Field holds a JSON value of the wrong kind (Msg says which)
	BadTime                  // Field is a date-time that does not parse (Msg quotes it)
)

// Problem is the explanation of one decode error.
type Problem struct {
	Kind   Kind
	Field  string // the field to blame, "" when the whole object is
	Msg    string // what is wrong, without the field name
	Offset int64  // for Syntax: the byte offset within the object
}

// Explain diagnoses err, returned by decoding the JSON object raw into a
// value (json.Unmarshal or a json.Decoder, with DisallowUnknownFields or
// not). timeFields names the fields of the target that are date-times, so
// that one that does not parse is named.
func Explain(err error, raw []byte, timeFields ...string) Problem {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if rest, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f, uerr := strconv.Unquote(rest); uerr == nil {
			return Problem{Kind: UnknownField, Field: f, Msg: "unknown field"}
		}
	}
	switch {
	case errors.As(err, &se):
		return Problem{Kind: Syntax, Msg: se.Error(), Offset: se.Offset}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Problem{Kind: Truncated, Msg: "the input ends inside the JSON object"}
	case errors.As(err, &te) && te.Field == "":
		return Problem{Kind: NotAnObject, Msg: "got a JSON " + te.Value}
	case errors.As(err, &te):
		return Problem{Kind: WrongType, Field: te.Field, Msg: fmt.Sprintf("expected %s, got a JSON %s", KindOf(te.Type), te.Value)}
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) == nil {
		for _, name := range timeFields {
			var t time.Time
			if v, ok := fields[name]; ok && json.Unmarshal(v, &t) != nil {
				return Problem{Kind: BadTime, Field: name, Msg: string(v) + " is not an ISO-8601 date-time such as 2026-01-02T03:04:05.000Z"}
			}
		}
	}
	return Problem{Kind: Other, Msg: err.Error()}
}

// KindOf names the JSON value a Go type decodes from ("a JSON string").
func KindOf(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return KindOf(t.Elem())
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.String:
		return "a JSON string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a JSON number"
	}
	return t.String()
}
