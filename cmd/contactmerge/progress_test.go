package main

import (
	"bytes"
	"testing"
	"time"
)

// TestProgressPlain: without a terminal, progress prints a line at most
// every two seconds.
func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	now := t0
	p := newProgress(IO{ErrOut: &out}, func() time.Time { return now }, 10, "merging")
	for i := range 5 {
		p.Set(int64(i), "detail")
		now = now.Add(time.Second)
	}
	p.Done()
	if want := "merging: 0 (detail)\nmerging: 2 (detail)\nmerging: 4 (detail)\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
