package textutil_test

import (
	"testing"

	"github.com/contactmerge/contactmerge/internal/textutil"
)

func TestInvalidUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{{"", -1}, {"plain", -1}, {"Zoë", -1}, {"ab\xe9cd", 2}, {"\xff", 0}, {"é\xc3", 2}, {"日本\x80", 6}} {
		if got := textutil.InvalidUTF8([]byte(c.in)); got != c.want {
			t.Errorf("InvalidUTF8(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
