package review

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Terminal text: the width a string takes on screen, padding, cutting and
// wrapping to a width, and colour only where the Style allows it.

// Style is how the text views are laid out.
type Style struct {
	// Width is the number of terminal columns (default 120).
	Width int
	// Color enables bold and colour (ANSI escapes); callers enable it only
	// on a terminal and when NO_COLOR is not set.
	Color bool
}

// DefaultWidth is the width of the text views when none is known.
const DefaultWidth = 120

// minWidth is the narrowest layout the views attempt.
const minWidth = 40

func (s Style) width() int {
	if s.Width <= 0 {
		return DefaultWidth
	}
	return max(s.Width, minWidth)
}

const (
	ansiBold   = "\x1b[1m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiReset  = "\x1b[0m"
)

// paint wraps s in the given escapes when colour is on.
func (s Style) paint(text string, codes ...string) string {
	if !s.Color || text == "" {
		return text
	}
	return strings.Join(codes, "") + text + ansiReset
}

// DiffMark marks the rows of fields in which members disagree.
const DiffMark = "≠"

// textWidth is the number of terminal columns s takes: wide East Asian
// characters take two, combining marks and other zero-width runes none.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case r == 0, unicode.Is(unicode.Mn, r), unicode.Is(unicode.Me, r), unicode.Is(unicode.Cf, r):
		return 0
	case r < 0x1100:
		return 1
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// pad returns s padded with spaces to w columns.
func pad(s string, w int) string {
	if n := textWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// truncate shortens s to at most w columns, ending in "…" when cut.
func truncate(s string, w int) string {
	if textWidth(s) <= w {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		rw := runeWidth(r)
		if n+rw > w-1 {
			break
		}
		b.WriteRune(r)
		n += rw
	}
	return b.String() + "…"
}

// split breaks s into lines of at most w columns, at spaces where it can.
func split(s string, w int) []string {
	if w < 1 {
		w = 1
	}
	var out []string
	for textWidth(s) > w {
		cut, n, lastSpace := 0, 0, -1
		for i, r := range s {
			rw := runeWidth(r)
			if n+rw > w {
				cut = i
				break
			}
			if r == ' ' {
				lastSpace = i
			}
			n += rw
		}
		if lastSpace > 0 && textWidth(s[:lastSpace]) > w/3 {
			out = append(out, strings.TrimRight(s[:lastSpace], " "))
			s = strings.TrimLeft(s[lastSpace:], " ")
			continue
		}
		if cut == 0 {
			_, size := utf8.DecodeRuneInString(s)
			cut = size
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

// printer writes lines no wider than its width.
type printer struct {
	w     *bufio.Writer
	style Style
	width int
}

func newPrinter(w io.Writer, s Style) *printer {
	return &printer{w: bufio.NewWriter(w), style: s, width: s.width()}
}

// line writes text, wrapped at the width with continuation lines indented
// by indent columns, painted with codes.
func (p *printer) line(indent int, text string, codes ...string) {
	indent = min(indent, p.width/2)
	first := split(text, p.width)
	fmt.Fprintln(p.w, p.style.paint(strings.TrimRight(first[0], " "), codes...))
	if len(first) == 1 {
		return
	}
	rest := strings.TrimLeft(strings.TrimPrefix(text, first[0]), " ")
	for _, l := range split(rest, p.width-indent) {
		fmt.Fprintln(p.w, p.style.paint(strings.Repeat(" ", indent)+strings.TrimRight(l, " "), codes...))
	}
}

func (p *printer) blank() { fmt.Fprintln(p.w) }
