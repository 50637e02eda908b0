package match

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fold lowercases s, removes diacritics (NFKD, combining marks dropped),
// transliterates a few letters that have no decomposition (ß, ø, æ, œ, ł, đ,
// þ), and replaces every other non-alphanumeric rune by a single space. The
// result is trimmed.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFKD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r == '\'' || r == '’' || r == '`':
			// apostrophes join: o'brien -> obrien
			continue
		case r < utf8.RuneSelf:
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Mn, r):
			continue
		default:
			if t := translit(r); t != "" {
				if space {
					b.WriteByte(' ')
					space = false
				}
				b.WriteString(t)
				continue
			}
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				r = unicode.ToLower(r)
			} else {
				space = b.Len() > 0
				continue
			}
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

func translit(r rune) string {
	switch r {
	case 'ß':
		return "ss"
	case 'ø', 'Ø':
		return "o"
	case 'æ', 'Æ':
		return "ae"
	case 'œ', 'Œ':
		return "oe"
	case 'ł', 'Ł':
		return "l"
	case 'đ', 'Đ', 'ð', 'Ð':
		return "d"
	case 'þ', 'Þ':
		return "th"
	case 'ı':
		return "i"
	}
	return ""
}

// isHonorific reports whether a folded token is a salutation or title that
// is no part of a given name.
func isHonorific(t string) bool {
	switch t {
	case "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "fr", "madam", "mme", "mlle", "herr", "frau", "sr", "sra", "srta", "don", "dona":
		return true
	}
	return false
}

// isNameSuffix reports whether a folded token is a generational or academic
// suffix of a family name.
func isNameSuffix(t string) bool {
	switch t {
	case "jr", "sr", "ii", "iii", "iv", "phd", "md", "esq", "jnr", "snr":
		return true
	}
	return false
}

// foldName folds a name and removes honorifics (leading) and suffixes
// (trailing); the remaining tokens are joined without spaces so that
// "Mary Ann" and "Maryann" compare equal.
func foldName(s string) string {
	toks := strings.Fields(fold(s))
	for len(toks) > 1 && isHonorific(toks[0]) {
		toks = toks[1:]
	}
	for len(toks) > 1 && isNameSuffix(toks[len(toks)-1]) {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 1 && isHonorific(toks[0]) {
		return ""
	}
	return strings.Join(toks, "")
}

// addressWord maps folded address words to their standard abbreviation
// (USPS and Australia Post street suffixes, directions, unit designators).
func addressWord(t string) string {
	switch t {
	case "street", "str":
		return "st"
	case "avenue", "av", "aven":
		return "ave"
	case "road":
		return "rd"
	case "drive", "drv":
		return "dr"
	case "court", "crt":
		return "ct"
	case "place":
		return "pl"
	case "lane":
		return "ln"
	case "boulevard", "boul":
		return "blvd"
	case "crescent", "cresc", "cr":
		return "cres"
	case "circuit", "crct":
		return "cct"
	case "circle", "circ":
		return "cir"
	case "terrace", "tce":
		return "ter"
	case "highway", "hwy":
		return "hwy"
	case "parkway", "pkwy":
		return "pkwy"
	case "square":
		return "sq"
	case "close":
		return "cl"
	case "grove":
		return "gr"
	case "parade":
		return "pde"
	case "esplanade":
		return "esp"
	case "way":
		return "way"
	case "north":
		return "n"
	case "south":
		return "s"
	case "east":
		return "e"
	case "west":
		return "w"
	case "northeast":
		return "ne"
	case "northwest":
		return "nw"
	case "southeast":
		return "se"
	case "southwest":
		return "sw"
	case "apartment", "apt", "flat", "unit", "suite", "ste", "no", "number":
		return "#"
	case "floor", "fl":
		return "fl"
	case "building", "bldg":
		return "bldg"
	case "mount", "mt":
		return "mt"
	case "saint":
		return "st"
	}
	return t
}

// normAddressLine folds and abbreviates a street line and returns it with
// its street number (the first token that starts with a digit, "" if none)
// and its unit ("" if none).
func normAddressLine(s string) (line, number, unit string) {
	s = strings.ReplaceAll(s, "#", " apt ")
	toks := strings.Fields(fold(s))
	out := toks[:0]
	for i := 0; i < len(toks); i++ {
		t := addressWord(toks[i])
		if t == "#" {
			if i+1 < len(toks) {
				unit = toks[i+1]
				i++
			}
			continue
		}
		if number == "" && t[0] >= '0' && t[0] <= '9' {
			number = t
		}
		out = append(out, t)
	}
	return strings.Join(out, " "), number, unit
}
