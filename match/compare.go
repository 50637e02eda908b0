package match

import (
	"math"
	"slices"
	"strings"
)

const (
	levelMissing = 255
	kindExact    = iota
	kindNickname
	kindInitial
	kindSwapped
	kindJW
	kindLev
	kindDamerau
	kindLocalPart
	kindSuffix
	kindSameNumber
	kindSameAddress
	kindSameStreet
	kindSamePostal
	kindSameCity
	kindSameLine
	kindPostalPrefix
	kindTransposedDate
	kindWithinDays
	kindSameStreetName
)

func levelKind(k string) int {
	switch k {
	case "exact":
		return kindExact
	case "nickname":
		return kindNickname
	case "initial":
		return kindInitial
	case "swapped":
		return kindSwapped
	case "jaroWinkler":
		return kindJW
	case "levenshtein":
		return kindLev
	case "damerau":
		return kindDamerau
	case "localPart":
		return kindLocalPart
	case "suffix":
		return kindSuffix
	case "sameNumber":
		return kindSameNumber
	case "sameAddress":
		return kindSameAddress
	case "sameStreet":
		return kindSameStreet
	case "samePostal":
		return kindSamePostal
	case "sameCity":
		return kindSameCity
	case "sameLine":
		return kindSameLine
	case "postalPrefix":
		return kindPostalPrefix
	case "transposedDate":
		return kindTransposedDate
	case "withinDays":
		return kindWithinDays
	case "sameStreetName":
		return kindSameStreetName
	}
	return -1
}

type compiledLevel struct {
	name      string
	kind      int
	threshold float64
}

// comparator is a compiled comparison bound to its column.
type comparator struct {
	field  string
	col    *column
	levels []compiledLevel
	tf     bool
	fixed  map[int]float64 // level index -> fixed weight
	// canon maps a symbol of col to its canonical given names.
	canon [][]string
	nick  nicknames
	// other is the paired name column for the "swapped" kind.
	other *column
	// num is the street-number column for the "sameNumber" kind.
	num *column
	// postal, city and line2 are set for the composite "address"
	// comparison, whose col is the street line; street holds each street
	// line's symbol without its leading street number.
	postal, city, line2 *column
	street              []string
	// maxDamerau is the largest threshold of the damerau levels.
	maxDamerau int

	// Learned parameters, per level (len(levels)+1, the last is "different").
	m, u, w []float64
	// shift and hhShift are corrections (bits) of each level's weight
	// learned from labelled pairs (labels.go), hhShift where the household
	// rule applies to the comparator; nil without labels.
	shift, hhShift []float64
	// tfU is the corrected term frequency of each symbol: the share of
	// records holding it that are other customers (termfreq.go); nil
	// before the correction, when counts/total is used.
	tfU []float32
	// tfFloor is the term frequency of a value held by one customer (the
	// tfU of a value the correction saw on one customer only).
	tfFloor float32
	// date tells whether the comparator compares a date field (its column
	// holds dates, see dateColumn).
	date bool
}

// numLevels returns the number of levels including "different".
func (c *comparator) numLevels() int { return len(c.levels) + 1 }

// levelName returns the display name of level l.
func (c *comparator) levelName(l uint8) string {
	switch {
	case l == levelMissing:
		return "missing"
	case int(l) == len(c.levels):
		return "different"
	}
	return c.levels[l].name
}

// level returns the comparison level of records i and j.
func (c *comparator) level(i, j int32) uint8 {
	if c.postal != nil {
		return c.addressLevel(i, j)
	}
	a, b := c.col.values(i), c.col.values(j)
	if len(a) == 0 || len(b) == 0 {
		return levelMissing
	}
	best := len(c.levels)
	for _, x := range a {
		for _, y := range b {
			if l := c.levelOf(x, y, i, j, best); l < best {
				best = l
				if best == 0 {
					return 0
				}
			}
		}
	}
	return uint8(best)
}

// levelOf returns the first level (below limit) whose test passes for the
// symbols x and y, or limit.
func (c *comparator) levelOf(x, y, i, j int32, limit int) int {
	syms := c.col.syms
	// The similarity and the edit distance of x and y serve several levels;
	// each is computed once, when a level first needs it.
	jw, dl := -1.0, -1
	for k := 0; k < limit; k++ {
		lv := &c.levels[k]
		ok := false
		switch lv.kind {
		case kindExact:
			ok = x == y
		case kindNickname:
			ok = c.canon != nil && (intersects(c.canon[x], c.canon[y]) ||
				c.rareSide(x, y) && (c.nick.sameWithTypo(syms[x], syms[y]) || c.nick.sameWithTypo(syms[y], syms[x])))
		case kindInitial:
			sx, sy := syms[x], syms[y]
			ok = (len(sx) == 1 && sy[0] == sx[0]) || (len(sy) == 1 && sx[0] == sy[0])
		case kindSwapped:
			if c.other != nil {
				ox, okx := c.other.first(i)
				oy, oky := c.other.first(j)
				ok = okx && oky && x != y && JaroWinkler(syms[x], oy) >= 0.92 && JaroWinkler(ox, syms[y]) >= 0.92
			}
		case kindJW:
			if jw < 0 {
				jw = JaroWinkler(syms[x], syms[y])
			}
			ok = jw >= lv.threshold
		case kindLev:
			t := int(lv.threshold)
			sx, sy := syms[x], syms[y]
			ok = abs(len(sx)-len(sy)) <= t && editDistance(sx, sy, false, t) <= t
		case kindDamerau:
			sx, sy := syms[x], syms[y]
			// Two edits are only a typo in values of 5 characters or more.
			t := int(lv.threshold)
			minLen := max(3, 2*t+1)
			if len(sx) >= minLen && len(sy) >= minLen && abs(len(sx)-len(sy)) <= t && c.rareSide(x, y) {
				if dl < 0 {
					dl = editDistance(sx, sy, true, c.maxDamerau)
				}
				ok = dl <= t
			}
		case kindTransposedDate:
			sx, sy := syms[x], syms[y]
			ok = len(sx) == 8 && len(sy) == 8 && sx != sy && sx[:4] == sy[:4] && sx[4:6] == sy[6:8] && sx[6:8] == sy[4:6]
		case kindWithinDays:
			dx, okx := dayNumber(syms[x])
			dy, oky := dayNumber(syms[y])
			ok = okx && oky && abs(dx-dy) <= int(lv.threshold)
		case kindLocalPart:
			sx, sy := syms[x], syms[y]
			ax, ay := strings.IndexByte(sx, '@'), strings.IndexByte(sy, '@')
			ok = ax > 0 && ay > 0 && sx[:ax] == sy[:ay]
		case kindSuffix:
			t := int(lv.threshold)
			sx, sy := syms[x], syms[y]
			ok = t > 0 && len(sx) >= t && len(sy) >= t && sx[len(sx)-t:] == sy[len(sy)-t:]
		case kindSameNumber:
			if c.num != nil {
				nx, okx := c.num.first(i)
				ny, oky := c.num.first(j)
				ok = (!okx || !oky || nx == ny) && JaroWinkler(syms[x], syms[y]) >= lv.threshold
			}
		}
		if ok {
			return k
		}
	}
	return limit
}

// eq reports whether records i and j both have a value in col and share one.
func eq(col *column, i, j int32) (equal, both bool) {
	a, b := col.values(i), col.values(j)
	if len(a) == 0 || len(b) == 0 {
		return false, false
	}
	for _, x := range a {
		if slices.Contains(b, x) {
			return true, true
		}
	}
	return false, true
}

// addressLevel compares the street line, postal code and city together, so
// that one shared address counts once and not four times. Each component
// agrees exactly, closely (a street line within the level's Jaro-Winkler
// threshold with no other street number, a postal code one edit away, a
// city name at Jaro-Winkler 0.9 or more), differs, or is missing on a side;
// the levels combine them (see Level).
func (c *comparator) addressLevel(i, j int32) uint8 {
	has := func(r int32) bool {
		return c.col.off[r+1] > c.col.off[r] || c.postal.off[r+1] > c.postal.off[r] || c.city.off[r+1] > c.city.off[r]
	}
	if !has(i) || !has(j) {
		return levelMissing
	}
	lineEq, lineBoth := eq(c.col, i, j)
	postEq, postBoth := eq(c.postal, i, j)
	cityEq, cityBoth := eq(c.city, i, j)
	line2Eq, line2Both := eq(c.line2, i, j)
	line2Conflict := line2Both && !line2Eq
	numConflict := false
	if nx, okx := c.num.first(i); okx {
		if ny, oky := c.num.first(j); oky {
			numConflict = nx != ny
		}
	}
	// Close components are computed once, when a level needs them. The
	// street lines are compared whole and without their street numbers
	// ("bradfield st" is "764 bradfield st" without its number).
	jw, sjw := -1.0, -1.0
	lineJW := func() (whole, street float64) {
		if jw < 0 {
			jw, sjw = 0, 0
			if lineBoth {
				x, y := c.col.vals[c.col.off[i]], c.col.vals[c.col.off[j]]
				jw = closeJW(c.col.syms[x], c.col.syms[y])
				sjw = jw
				if c.street != nil && c.street[x] != "" && c.street[y] != "" {
					sjw = closeJW(c.street[x], c.street[y])
				}
			}
		}
		return jw, sjw
	}
	lineClose := func(t float64) bool {
		if lineEq {
			return true
		}
		if !lineBoth || numConflict {
			return false
		}
		whole, street := lineJW()
		return whole >= t || street >= t
	}
	pc, cc := int8(-1), int8(-1) // closeness, computed when first needed
	postClose := func() bool {
		if pc < 0 {
			pc = 0
			if postEq {
				pc = 1
			} else if postBoth {
				x, _ := c.postal.first(i)
				y, _ := c.postal.first(j)
				if len(x) >= 4 && len(y) >= 4 && withinDistance(x, y, 1) {
					pc = 1
				}
			}
		}
		return pc == 1
	}
	cityClose := func() bool {
		if cc < 0 {
			cc = 0
			if cityEq {
				cc = 1
			} else if cityBoth {
				x, _ := c.city.first(i)
				y, _ := c.city.first(j)
				if closeJW(x, y) >= 0.9 {
					cc = 1
				}
			}
		}
		return cc == 1
	}
	for k := range c.levels {
		lv := &c.levels[k]
		ok := false
		switch lv.kind {
		case kindSameAddress:
			ok = lineEq && !line2Conflict && (postEq || !postBoth) && (postEq || cityEq) && (!cityBoth || cityClose())
		case kindSameStreet:
			ok = lineClose(lv.threshold) && (postClose() || cityClose())
		case kindSameLine:
			ok = lineClose(lv.threshold)
		case kindSameStreetName:
			if lineBoth && (postClose() || cityClose()) {
				_, street := lineJW()
				ok = street >= lv.threshold
			}
		case kindSamePostal:
			ok = postEq
		case kindPostalPrefix:
			if postBoth {
				x, _ := c.postal.first(i)
				y, _ := c.postal.first(j)
				n := int(lv.threshold)
				ok = n > 0 && len(x) >= n && len(y) >= n && x[:n] == y[:n]
			}
		case kindSameCity:
			ok = cityEq
		case kindExact:
			ok = lineEq
		}
		if ok {
			return uint8(k)
		}
	}
	return uint8(len(c.levels))
}

// closeJW is JaroWinkler for the "close" address components, 0 for two
// values with different first letters: two spellings of one street or city
// start alike, and most random pairs of addresses do not.
func closeJW(a, b string) float64 {
	if a == "" || b == "" || a[0] != b[0] {
		return 0
	}
	return JaroWinkler(a, b)
}

// rareSide reports whether one of two distinct values of the comparator's
// column is rare beside the other: a typo is rare, while two common values
// one edit apart are two real values (john and joan, mary and mark).
func (c *comparator) rareSide(x, y int32) bool {
	cx, cy := c.col.counts[x], c.col.counts[y]
	lo, hi := min(cx, cy), max(cx, cy)
	return lo <= 2 || float64(lo) <= 0.1*float64(hi)
}

// dayNumber returns the days since 0000-03-01 of a YYYYMMDD date, and
// false when s is not a valid date.
func dayNumber(s string) (int, bool) {
	if len(s) != 8 || !isDigits(s) {
		return 0, false
	}
	y := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	m := int(s[4]-'0')*10 + int(s[5]-'0')
	d := int(s[6]-'0')*10 + int(s[7]-'0')
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, false
	}
	if m <= 2 {
		y--
		m += 12
	}
	return 365*y + y/4 - y/100 + y/400 + (153*(m-3)+2)/5 + d - 1, true
}

// tfable reports whether a level kind is an exact agreement on the
// comparator's column, so that term frequencies apply.
func tfable(kind int) bool { return kind == kindExact || kind == kindSameAddress }

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// tfProbability returns the term frequency of the rarest value records i
// and j share (the u probability of an exact agreement on that value), or 0
// when they share none.
func (c *comparator) tfProbability(i, j int32) float64 {
	a, b := c.col.values(i), c.col.values(j)
	if c.col.total == 0 {
		return 0
	}
	if c.tfU != nil {
		best := float32(math.MaxFloat32)
		for _, x := range a {
			if slices.Contains(b, x) && c.tfU[x] < best {
				best = c.tfU[x]
			}
		}
		if best == math.MaxFloat32 {
			return 0
		}
		return float64(best)
	}
	best := int32(math.MaxInt32)
	for _, x := range a {
		if slices.Contains(b, x) && c.col.counts[x] < best {
			best = c.col.counts[x]
		}
	}
	if best == math.MaxInt32 {
		return 0
	}
	return float64(best) / float64(c.col.total)
}

// newComparator compiles the comparison cmp of field over col (the street
// line column for "address").
func newComparator(d *dataset, field string, cmp Comparison, col *column, nick nicknames) *comparator {
	c := &comparator{field: field, col: col, tf: cmp.TermFrequency, fixed: map[int]float64{}}
	if field == "address" {
		c.postal, c.city, c.num, c.line2 = d.cols[colPostal], d.cols[colCity], d.cols[colStreetNum], d.cols[colAddress2]
		c.street = make([]string, len(col.syms))
		for v, line := range col.syms {
			c.street[v] = streetName(line)
		}
	}
	for _, l := range cmp.Levels {
		c.levels = append(c.levels, compiledLevel{name: l.Name, kind: levelKind(l.Kind), threshold: l.Threshold})
		switch levelKind(l.Kind) {
		case kindDamerau:
			c.maxDamerau = max(c.maxDamerau, int(l.Threshold))
		case kindNickname:
			c.nick = nick
			if c.canon == nil {
				c.canon = make([][]string, len(col.syms))
				for i, s := range col.syms {
					c.canon[i] = nick.canonical(s)
				}
			}
		case kindSwapped:
			switch field {
			case colFirst:
				c.other = d.cols[colLast]
			case colLast:
				c.other = d.cols[colFirst]
			}
		case kindSameNumber:
			c.num = d.cols[colStreetNum]
		}
	}
	for name, w := range cmp.Weights {
		if name == "different" {
			c.fixed[len(c.levels)] = w
			continue
		}
		for i, l := range cmp.Levels {
			if l.Name == name {
				c.fixed[i] = w
			}
		}
	}
	return c
}

// compileComparators builds the comparators of cfg for the columns of d.
func compileComparators(d *dataset, cfg *Config, nick nicknames) []*comparator {
	var out []*comparator
	add := func(field string, cmp Comparison, col *column) {
		if cmp.Disabled || col == nil || (field != "address" && (col.total < 2 || len(col.vals) == 0)) {
			return
		}
		out = append(out, newComparator(d, field, cmp, col, nick))
	}
	for _, f := range []string{colFirst, colMiddle, colLast, colEmail, colPhone, "address", colAddress1, colAddress2, colCity, colState, colPostal, colCountry} {
		if cmp, ok := cfg.Comparisons[f]; ok {
			col := d.cols[f]
			if f == "address" {
				col = d.cols[colAddress1]
				if d.cols[colPostal].total+d.cols[colCity].total+col.total < 2 {
					continue
				}
			}
			add(f, cmp, col)
		}
	}
	for _, name := range d.extraColumns() {
		if cmp, ok := cfg.Comparisons[name]; ok {
			add(name, cmp, d.cols[name])
			continue
		}
		if k, ok := strings.CutPrefix(name, "custom."); ok {
			if !slices.Contains(cfg.IgnoreCustomFields, k) {
				cmp := cfg.CustomFieldComparison
				if dateColumn(d.cols[name]) && len(cfg.DateFieldComparison.Levels) > 0 {
					cmp = cfg.DateFieldComparison
				}
				add(name, cmp, d.cols[name])
			}
			continue
		}
		if k, ok := strings.CutPrefix(name, "externalId."); ok {
			if !slices.ContainsFunc(cfg.IgnoreExternalSources, func(s string) bool { return fold(s) == k }) {
				add(name, cfg.ExternalIDComparison, d.cols[name])
			}
		}
	}
	return out
}

// dateColumn reports whether at least 95% of a column's values are dates
// (YYYYMMDD, as normalization writes date-like custom values).
func dateColumn(c *column) bool {
	if c == nil || len(c.syms) == 0 {
		return false
	}
	var dates, all int
	for v, s := range c.syms {
		n := int(c.counts[v])
		all += n
		if len(s) == 8 && isDigits(s) && s[0] >= '1' && s[0] <= '2' {
			dates += n
		}
	}
	return all > 0 && float64(dates) >= 0.95*float64(all)
}

// streetName returns a folded street line without its leading street
// number ("12 tenison woods cct" → "tenison woods cct"), or the line when
// it does not start with one.
func streetName(line string) string {
	if line == "" || line[0] < '0' || line[0] > '9' {
		return line
	}
	if _, rest, ok := strings.Cut(line, " "); ok {
		return rest
	}
	return ""
}
