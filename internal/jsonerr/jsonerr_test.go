package jsonerr_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/internal/jsonerr"
)

type target struct {
	Name  string    `json:"name"`
	Count int       `json:"count"`
	Tags  []string  `json:"tags"`
	At    time.Time `json:"at"`
}

func TestExplain(t *testing.T) {
	tests := []struct {
		raw  string
		want jsonerr.Problem
	}{
		{`{"nmae":"x"}`, jsonerr.Problem{Kind: jsonerr.UnknownField, Field: "nmae", Msg: "unknown field"}},
		{`{"name":}`, jsonerr.Problem{Kind: jsonerr.Syntax, Msg: "invalid character '}' looking for beginning of value", Offset: 9}},
		{`{"name":"x"`, jsonerr.Problem{Kind: jsonerr.Truncated, Msg: "the input ends inside the JSON object"}},
		{`[1]`, jsonerr.Problem{Kind: jsonerr.NotAnObject, Msg: "got a JSON array"}},
		{`{"count":"3"}`, jsonerr.Problem{Kind: jsonerr.WrongType, Field: "count", Msg: "expected a JSON number, got a JSON string"}},
		{`{"tags":{}}`, jsonerr.Problem{Kind: jsonerr.WrongType, Field: "tags", Msg: "expected a JSON array, got a JSON object"}},
		{`{"at":"yesterday"}`, jsonerr.Problem{Kind: jsonerr.BadTime, Field: "at",
			Msg: `"yesterday" is not an ISO-8601 date-time such as 2026-01-02T03:04:05.000Z`}},
	}
	for _, tt := range tests {
		dec := json.NewDecoder(bytes.NewReader([]byte(tt.raw)))
		dec.DisallowUnknownFields()
		var v target
		err := dec.Decode(&v)
		if err == nil {
			t.Fatalf("%s decoded", tt.raw)
		}
		if got := jsonerr.Explain(err, []byte(tt.raw), "at"); got != tt.want {
			t.Errorf("Explain(%s) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}
