package main

import (
	"strings"
	"testing"
)

func TestMemTotal(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"MemTotal:       24684032 kB\nMemFree:          2318376 kB\n", 24684032 << 10, true},
		{"MemFree:          2318376 kB\nMemTotal:  1024 kB\n", 1024 << 10, true},
		{"MemFree: 1 kB\n", 0, false},
		{"MemTotal: lots\n", 0, false},
		{"MemTotal: 1024 MB\n", 0, false},
		{"", 0, false},
	} {
		got, ok := memTotal(strings.NewReader(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("memTotal(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if got := memoryLimit(24 << 30); got < 19<<30 || got > 20<<30 {
		t.Errorf("memoryLimit(24 GiB) = %d, want 80%%", got)
	}
}
