// Package textutil holds the byte-level text checks that the readers of
// user files (the contact importer, the sandbox's loaders) share.
package textutil

import "unicode/utf8"

// InvalidUTF8 returns the index of the first byte of b that is not part of
// valid UTF-8, or -1.
func InvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
