package match

import (
	"math/rand/v2"
	"testing"
)

// TestWithinOneEdit checks the one-pass test against the full edit
// distance on random short strings over a small alphabet (many near
// misses).
func TestWithinOneEdit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() string {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = "abc"[r.IntN(3)]
		}
		return string(b)
	}
	for range 100000 {
		a, b := gen(), gen()
		if got, want := withinOneEdit(a, b), editDistance(a, b, true, -1) <= 1; got != want {
			t.Fatalf("withinOneEdit(%q, %q) = %v, want %v", a, b, got, want)
		}
	}
}

func TestTransposed(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"treri", "terri", true}, {"babr", "barb", true}, {"emma", "emmy", false}, {"ab", "ab", false}, {"abc", "ab", false}} {
		if got := transposed(tc.a, tc.b); got != tc.want {
			t.Errorf("transposed(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
