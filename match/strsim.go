package match

// JaroWinkler returns the Jaro-Winkler similarity of a and b in [0,1]
// (prefix scale 0.1, prefix up to 4 bytes). It works on bytes: callers pass
// folded ASCII, which is what the normalizers produce.
func JaroWinkler(a, b string) float64 {
	if a == b {
		if a == "" {
			return 0
		}
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	if la > lb {
		a, b = b, a
		la, lb = lb, la
	}
	window := lb/2 - 1
	if window < 0 {
		window = 0
	}
	var am, bm [64]bool
	var aMatch, bMatch []bool
	if lb <= 64 {
		aMatch, bMatch = am[:la], bm[:lb]
	} else {
		aMatch, bMatch = make([]bool, la), make([]bool, lb)
	}
	matches := 0
	for i := 0; i < la; i++ {
		lo := max(0, i-window)
		hi := min(lb-1, i+window)
		for j := lo; j <= hi; j++ {
			if bMatch[j] || a[i] != b[j] {
				continue
			}
			aMatch[i], bMatch[j] = true, true
			matches++
			break
		}
	}
	if matches == 0 {
		return 0
	}
	trans := 0
	k := 0
	for i := 0; i < la; i++ {
		if !aMatch[i] {
			continue
		}
		for !bMatch[k] {
			k++
		}
		if a[i] != b[k] {
			trans++
		}
		k++
	}
	m := float64(matches)
	jaro := (m/float64(la) + m/float64(lb) + (m-float64(trans/2))/m) / 3
	prefix := 0
	for prefix < 4 && prefix < la && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// Levenshtein returns the edit distance (insertions, deletions,
// substitutions) between a and b, counted in bytes.
func Levenshtein(a, b string) int {
	return editDistance(a, b, false, -1)
}

// DamerauLevenshtein returns the optimal-string-alignment distance between a
// and b: Levenshtein plus transpositions of adjacent bytes.
func DamerauLevenshtein(a, b string) int {
	return editDistance(a, b, true, -1)
}

// withinDistance reports whether the optimal-string-alignment distance of a
// and b is at most k; it stops early when the bound is exceeded.
func withinDistance(a, b string, k int) bool {
	if d := len(a) - len(b); d > k || -d > k {
		return false
	}
	if k == 1 {
		return withinOneEdit(a, b)
	}
	return editDistance(a, b, true, k) <= k
}

// withinOneEdit reports whether the optimal-string-alignment distance of a
// and b is at most 1 (one insertion, deletion, substitution or swap of
// neighbours), in one pass.
func withinOneEdit(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	switch len(a) - len(b) {
	case 0:
		if i >= len(a)-1 {
			return true // equal, or the last byte differs
		}
		if a[i+1:] == b[i+1:] {
			return true // one substitution
		}
		return a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		return a[i+1:] == b[i:] // one deletion from a
	}
	return false
}

// editDistance computes the (optionally transposition-aware) edit distance.
// With limit >= 0 it may return any value > limit as soon as the distance is
// known to exceed limit.
func editDistance(a, b string, transpose bool, limit int) int {
	if a == b {
		return 0
	}
	la, lb := len(a), len(b)
	if la == 0 {
		return lb
	}
	if lb == 0 {
		return la
	}
	var buf [3 * 65]int
	var prev2, prev, cur []int
	if lb < 65 {
		prev2, prev, cur = buf[0:lb+1], buf[65:65+lb+1], buf[130:130+lb+1]
	} else {
		prev2, prev, cur = make([]int, lb+1), make([]int, lb+1), make([]int, lb+1)
	}
	for j := 0; j <= lb; j++ {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if transpose && i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if limit >= 0 && rowMin > limit {
			return rowMin
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[lb]
}

// Soundex returns the American Soundex code of a folded ASCII word ("" for a
// word without letters). It is the phonetic key of the name blocking rules.
func Soundex(s string) string {
	var out [4]byte
	n := 0
	var last byte
	for i := 0; i < len(s) && n < 4; i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c < 'a' || c > 'z' {
			continue
		}
		code := soundexCode(c)
		if n == 0 {
			out[0] = c - 'a' + 'A'
			n = 1
			last = code
			continue
		}
		switch {
		case code == 0:
			if c != 'h' && c != 'w' {
				last = 0
			}
		case code != last:
			out[n] = code
			n++
			last = code
		}
	}
	if n == 0 {
		return ""
	}
	for n < 4 {
		out[n] = '0'
		n++
	}
	return string(out[:])
}

func soundexCode(c byte) byte {
	switch c {
	case 'b', 'f', 'p', 'v':
		return '1'
	case 'c', 'g', 'j', 'k', 'q', 's', 'x', 'z':
		return '2'
	case 'd', 't':
		return '3'
	case 'l':
		return '4'
	case 'm', 'n':
		return '5'
	case 'r':
		return '6'
	}
	return 0
}
