package match

// keyPart is one part of a blocking key resolved against a dataset
// (compilePart), so that computing a record's keys looks nothing up by
// name.
type keyPart struct {
	kind    int
	col     *column
	derived []string // the keys of col's symbols (Soundex), or nil for the symbols
}

// The kinds of key parts.
const (
	partNone     = iota // an unknown part: no values
	partSyms            // col's symbols, or their derived keys
	partExternal        // every external-id column's values, "column\x00value"
	partCustom          // every custom-field column's values, "column\x00value"
	partCanon           // the nickname canonicals of the first names
	partInitial         // the first names' initials
	partNameSet         // given and family name as an unordered pair
)

// compilePart resolves the key part named part (see BlockingRule.Keys).
func (b *blocker) compilePart(part string) keyPart {
	d := b.d
	syms := func(col string, derived []string) keyPart {
		return keyPart{kind: partSyms, col: d.cols[col], derived: derived}
	}
	switch part {
	case "email":
		return syms(colEmail, nil)
	case "phone":
		return syms(colPhone, nil)
	case "externalId":
		return keyPart{kind: partExternal}
	case "custom":
		return keyPart{kind: partCustom}
	case "customDate":
		return syms(colDate, nil)
	case "firstName":
		return syms(colFirst, nil)
	case "firstNameCanon":
		return keyPart{kind: partCanon, col: d.cols[colFirst]}
	case "firstSoundex":
		return syms(colFirst, b.firstSdx)
	case "firstInitial":
		return keyPart{kind: partInitial, col: d.cols[colFirst]}
	case "lastName":
		return syms(colLast, nil)
	case "lastSoundex":
		return syms(colLast, b.lastSdx)
	case "postalCode":
		return syms(colPostal, nil)
	case "city":
		return syms(colCity, nil)
	case "address1":
		return syms(colAddress1, nil)
	case "streetNumber":
		return syms(colStreetNum, nil)
	case "nameSet":
		return keyPart{kind: partNameSet}
	}
	return keyPart{}
}

// values appends the values of part p of record r to buf.
func (p *keyPart) values(b *blocker, r int32, buf []string) []string {
	switch p.kind {
	case partSyms:
		c := p.col
		for _, v := range c.values(r) {
			s := c.syms[v]
			if p.derived != nil {
				s = p.derived[v]
			}
			if s != "" {
				buf = append(buf, s)
			}
		}
	case partExternal, partCustom:
		cols := b.extCols
		if p.kind == partCustom {
			cols = b.customCols
		}
		for _, c := range cols {
			for _, v := range c.values(r) {
				buf = append(buf, c.name+"\x00"+c.syms[v])
			}
		}
	case partCanon:
		for _, v := range p.col.values(r) {
			buf = append(buf, b.firstCanon[v]...)
		}
	case partInitial:
		c := p.col
		for _, v := range c.values(r) {
			buf = append(buf, c.syms[v][:1])
		}
	case partNameSet:
		// Given and family name as an unordered pair: a record with the
		// two exchanged lands in the same block. Every record with both
		// names has a key, a function of the record alone (no key depends
		// on the other records, so that an incremental match computes the
		// blocks of changed records alone; see incremental.go).
		f, l := b.d.cols[colFirst], b.d.cols[colLast]
		for _, x := range f.values(r) {
			for _, y := range l.values(r) {
				a, c := f.syms[x], l.syms[y]
				if a > c {
					a, c = c, a
				}
				buf = append(buf, a+"\x00"+c)
			}
		}
	}
	return buf
}

// compiledRule is one blocking rule resolved against a dataset: its parts and
// the hash every key of a record starts from (a function of the rule and,
// unless CrossDivision, of the record's division).
type compiledRule struct {
	parts []keyPart
	seed  uint64
	// divSeed[v] is the seed of division symbol v (nil: computed per
	// record; with CrossDivision, seed is every record's).
	divSeed []uint64
}

// compileRule resolves rule ruleIdx with keys; with perDivision, the
// division seeds are computed once (worth it for many records).
func (b *blocker) compileRule(ruleIdx int, keys []string, perDivision bool) *compiledRule {
	rk := &compiledRule{parts: make([]keyPart, len(keys))}
	for i, k := range keys {
		rk.parts[i] = b.compilePart(k)
	}
	h := uint64(fnvOffset)
	h ^= uint64(ruleIdx + 1)
	h *= fnvPrime
	rk.seed = h
	if perDivision && !b.cross {
		rk.divSeed = make([]uint64, len(b.d.divs.syms))
		for v, s := range b.d.divs.syms {
			rk.divSeed[v] = hashString(h, s)
		}
	}
	return rk
}

// keysOf appends the hashed keys of record r under rk to out (parts is
// scratch space, returned for reuse).
func (b *blocker) keysOf(rk *compiledRule, r int32, out []uint64, parts [][]string) ([]uint64, [][]string) {
	for len(parts) < len(rk.parts) {
		parts = append(parts, nil)
	}
	parts = parts[:len(rk.parts)]
	for i := range rk.parts {
		parts[i] = rk.parts[i].values(b, r, parts[i][:0])
		if len(parts[i]) == 0 {
			return out, parts
		}
	}
	h0 := rk.seed
	switch {
	case b.cross:
	case rk.divSeed != nil:
		h0 = rk.divSeed[b.d.div[r]]
	default:
		h0 = hashString(h0, b.d.divs.syms[b.d.div[r]])
	}
	return appendKeyHashes(out, parts, h0), parts
}

// appendKeyHashes appends the hash of every combination of one value of
// each of parts, continuing h.
func appendKeyHashes(out []uint64, parts [][]string, h uint64) []uint64 {
	if len(parts) == 0 {
		return append(out, h)
	}
	for _, v := range parts[0] {
		out = appendKeyHashes(out, parts[1:], hashString(h, v))
	}
	return out
}

// maxKeys returns an upper bound of the number of keys of record r under
// rk (the product of its parts' value counts), for presizing.
func (b *blocker) maxKeys(rk *compiledRule, r int32) int {
	n := 1
	for i := range rk.parts {
		p := &rk.parts[i]
		k := 0
		switch p.kind {
		case partSyms, partInitial:
			k = len(p.col.values(r))
		case partCanon:
			for _, v := range p.col.values(r) {
				k += len(b.firstCanon[v])
			}
		case partExternal, partCustom:
			cols := b.extCols
			if p.kind == partCustom {
				cols = b.customCols
			}
			for _, c := range cols {
				k += len(c.values(r))
			}
		case partNameSet:
			k = len(b.d.cols[colFirst].values(r)) * len(b.d.cols[colLast].values(r))
		}
		if k == 0 {
			return 0
		}
		n *= k
	}
	return n
}
