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
	// comparison, whose col is the street line.
	postal, city, line2 *column

	// Learned parameters, per level (len(levels)+1, the last is "different").
	m, u, w []float64
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
	for k := 0; k < limit; k++ {
		lv := &c.levels[k]
		ok := false
		switch lv.kind {
		case kindExact:
			ok = x == y
		case kindNickname:
			ok = c.canon != nil && (intersects(c.canon[x], c.canon[y]) || c.nick.sameWithTypo(syms[x], syms[y]) || c.nick.sameWithTypo(syms[y], syms[x]))
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
			ok = JaroWinkler(syms[x], syms[y]) >= lv.threshold
		case kindLev:
			t := int(lv.threshold)
			sx, sy := syms[x], syms[y]
			ok = abs(len(sx)-len(sy)) <= t && editDistance(sx, sy, false, t) <= t
		case kindDamerau:
			sx, sy := syms[x], syms[y]
			ok = len(sx) >= 3 && len(sy) >= 3 && withinDistance(sx, sy, int(lv.threshold))
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
// that one shared address counts once and not four times.
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
	for k := range c.levels {
		lv := &c.levels[k]
		ok := false
		switch lv.kind {
		case kindSameAddress:
			ok = lineEq && !line2Conflict && !(postBoth && !postEq && cityBoth && !cityEq)
		case kindSameStreet:
			if lineBoth && (postEq || cityEq) {
				x, _ := c.col.first(i)
				y, _ := c.col.first(j)
				nx, okx := c.num.first(i)
				ny, oky := c.num.first(j)
				ok = (!okx || !oky || nx == ny) && JaroWinkler(x, y) >= lv.threshold
			}
		case kindSamePostal:
			ok = postEq
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
	best := int32(math.MaxInt32)
	for _, x := range a {
		if slices.Contains(b, x) && c.col.counts[x] < best {
			best = c.col.counts[x]
		}
	}
	if best == math.MaxInt32 || c.col.total == 0 {
		return 0
	}
	return float64(best) / float64(c.col.total)
}

// compileComparators builds the comparators of cfg for the columns of d.
func compileComparators(d *dataset, cfg *Config, nick nicknames) []*comparator {
	var out []*comparator
	add := func(field string, cmp Comparison, col *column) {
		if cmp.Disabled || col == nil || (field != "address" && (col.total < 2 || len(col.vals) == 0)) {
			return
		}
		c := &comparator{field: field, col: col, tf: cmp.TermFrequency, fixed: map[int]float64{}}
		if field == "address" {
			c.postal, c.city, c.num, c.line2 = d.cols[colPostal], d.cols[colCity], d.cols[colStreetNum], d.cols[colAddress2]
		}
		for _, l := range cmp.Levels {
			c.levels = append(c.levels, compiledLevel{name: l.Name, kind: levelKind(l.Kind), threshold: l.Threshold})
			switch levelKind(l.Kind) {
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
		out = append(out, c)
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
				add(name, cfg.CustomFieldComparison, d.cols[name])
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
