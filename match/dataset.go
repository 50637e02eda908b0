package match

import (
	"encoding/binary"
	"hash/crc64"
	"slices"
	"strings"
)

// column is one field of all contacts, interned: record r has the values
// vals[off[r]:off[r+1]], each an index into syms.
type column struct {
	name   string
	off    []int32
	vals   []int32
	syms   []string
	index  map[string]int32
	counts []int32 // records holding each symbol
	total  int     // records with at least one value
}

func newColumn(name string) *column {
	return &column{name: name, off: []int32{0}, index: map[string]int32{}}
}

func (c *column) intern(b []byte) int32 {
	if id, ok := c.index[string(b)]; ok {
		return id
	}
	s := string(b)
	id := int32(len(c.syms))
	c.syms = append(c.syms, s)
	c.counts = append(c.counts, 0)
	c.index[s] = id
	return id
}

// pad extends off so that records before r have no values.
func (c *column) pad(r int) {
	for len(c.off) < r+1 {
		c.off = append(c.off, int32(len(c.vals)))
	}
}

// add appends one value of record r (records are added in order; values of
// one record are consecutive).
func (c *column) add(r int, b []byte) {
	if len(b) == 0 {
		return
	}
	c.pad(r)
	id := c.intern(b)
	start := c.off[r]
	for _, v := range c.vals[start:] {
		if v == id {
			return
		}
	}
	c.vals = append(c.vals, id)
}

// finish closes record r-1 of the column (padding to n records).
func (c *column) finish(n int) {
	c.pad(n)
	c.off = c.off[:n+1]
	c.off[n] = int32(len(c.vals))
	// Every record's slice ends where the next starts; fix trailing offsets
	// of records that got values after the last pad.
	for r := n - 1; r >= 0 && c.off[r] > c.off[r+1]; r-- {
		c.off[r] = c.off[r+1]
	}
	// The index is only needed while interning.
	c.index = nil
	for i := range c.counts {
		c.counts[i] = 0
	}
	for _, v := range c.vals {
		c.counts[v]++
	}
	c.total = 0
	for r := 0; r < n; r++ {
		if c.off[r+1] > c.off[r] {
			c.total++
		}
	}
}

func (c *column) values(r int32) []int32 { return c.vals[c.off[r]:c.off[r+1]] }

func (c *column) first(r int32) (string, bool) {
	v := c.vals[c.off[r]:c.off[r+1]]
	if len(v) == 0 {
		return "", false
	}
	return c.syms[v[0]], true
}

// The built-in column names (custom fields are "custom.<key>", external ids
// "externalId.<source>").
const (
	colFirst     = "firstName"
	colMiddle    = "middleName"
	colLast      = "lastName"
	colEmail     = "email"
	colPhone     = "phone"
	colAddress1  = "address1"
	colStreetNum = "streetNumber"
	colUnit      = "unit"
	colAddress2  = "address2"
	colCity      = "city"
	colState     = "state"
	colPostal    = "postalCode"
	colCountry   = "country"
	colDate      = "customDate"
)

// dataset is every contact of a run in columnar, interned form.
type dataset struct {
	n       int
	ids     []string
	div     []int32
	divs    *column
	cols    map[string]*column
	order   []string // column names in creation order
	scratch [][]byte
	key     []byte
	// fixed are the single-valued columns in encoding order (part 0);
	// email, phone and date are part 1's fixed columns.
	fixed              []*column
	email, phone, date *column
	// pc are the stewards' decisions between records (nil: none); see
	// constraints.go.
	pc *pairConstraints
	// rank[r] is record r's position in the id order of the records (set
	// by clusterOrder).
	rank []int32
	// hash[r] is the normHash of the encoding record r was read from.
	hash []uint64
}

// normHash identifies a stored norm (the match state keeps it for each
// contact, to tell the contacts whose norm changed). MakeTable returns the
// package's precomputed ECMA table.
func normHash(b []byte) uint64 { return crc64.Checksum(b, crc64.MakeTable(crc64.ECMA)) }

// presize reserves room for about n records.
func (d *dataset) presize(n int) {
	if n <= 0 || n > 1<<28 {
		return
	}
	d.ids = make([]string, 0, n)
	d.hash = make([]uint64, 0, n)
	d.div = make([]int32, 0, n)
	for _, c := range d.cols {
		c.off = make([]int32, 1, n+1)
		c.vals = make([]int32, 0, n)
	}
	for _, c := range []*column{d.email, d.phone, d.cols[colAddress1]} {
		c.index = make(map[string]int32, n)
	}
}

func newDataset() *dataset {
	d := &dataset{cols: map[string]*column{}, divs: newColumn("division")}
	for _, name := range []string{colFirst, colMiddle, colLast, colEmail, colPhone, colAddress1, colStreetNum, colUnit, colAddress2, colCity, colState, colPostal, colCountry, colDate} {
		d.col(name)
	}
	for _, name := range []string{colFirst, colMiddle, colLast, colAddress1, colStreetNum, colUnit, colAddress2, colCity, colState, colPostal, colCountry} {
		d.fixed = append(d.fixed, d.cols[name])
	}
	d.email, d.phone, d.date = d.cols[colEmail], d.cols[colPhone], d.cols[colDate]
	return d
}

func (d *dataset) col(name string) *column {
	c, ok := d.cols[name]
	if ok {
		return c
	}
	if !ok {
		c = newColumn(name)
		d.cols[name] = c
		d.order = append(d.order, name)
	}
	return c
}

// colBytes is col for a name held in bytes (no allocation when the column
// exists).
func (d *dataset) colBytes(name []byte) *column {
	if c, ok := d.cols[string(name)]; ok {
		return c
	}
	return d.col(string(name))
}

// addEncoded adds one contact from its NormalizerFunc encoding without
// building a Norm. It reports false when the encoding is unusable under the
// normalization settings with fingerprint fp.
func (d *dataset) addEncoded(id string, b []byte, fp uint64) bool {
	if !usableNorm(b, fp) {
		return false
	}
	d.addPart(d.n, b, 0)
	d.addPart(d.n, b, 1)
	d.ids = append(d.ids, id)
	d.hash = append(d.hash, normHash(b))
	d.n++
	return true
}

// usableNorm reports whether b is a complete encoding of this version made
// under the normalization settings with fingerprint fp.
func usableNorm(b []byte, fp uint64) bool {
	return len(b) >= normHeader && b[0] == NormVersion &&
		binary.LittleEndian.Uint64(b[1:normHeader]) == fp && validEncoding(b[normHeader:])
}

// addPart adds part of record r from its encoding: part 0 the division,
// names and address; part 1 emails, phones, external ids and custom
// fields. The two parts touch disjoint columns, so two goroutines may add
// them concurrently (only part 1 creates columns).
func (d *dataset) addPart(r int, b []byte, part int) {
	p := b[normHeader:]
	next := func() []byte {
		l, k := binary.Uvarint(p)
		s := p[k : k+int(l)]
		p = p[k+int(l):]
		return s
	}
	count := func() int {
		l, k := binary.Uvarint(p)
		p = p[k:]
		return int(l)
	}
	div := next()
	if part == 0 {
		d.div = append(d.div, d.divs.intern(div))
		for _, c := range d.fixed {
			c.add(r, next())
		}
		return
	}
	for range d.fixed {
		next()
	}
	for range count() {
		d.email.add(r, next())
	}
	for range count() {
		d.phone.add(r, next())
	}
	key := d.key[:0]
	for range count() {
		k := next()
		v := next()
		key = append(append(key[:0], "externalId."...), k...)
		d.colBytes(key).add(r, v)
	}
	custom := d.scratch[:0]
	for range count() {
		k := next()
		v := next()
		key = append(append(key[:0], "custom."...), k...)
		d.colBytes(key).add(r, v)
		custom = append(custom, k, v)
	}
	for range count() {
		k := next()
		for i := 0; i+1 < len(custom); i += 2 {
			if string(custom[i]) == string(k) {
				key = append(append(append(key[:0], k...), '='), custom[i+1]...)
				d.date.add(r, key)
			}
		}
	}
	d.scratch = custom[:0]
	d.key = key[:0]
}

// validEncoding checks that an encoding (after its header) is
// complete, so that addEncoded can walk it without bounds errors.
func validEncoding(b []byte) bool {
	skip := func() bool {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return false
		}
		b = b[k+int(l):]
		return true
	}
	count := func() (int, bool) {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)) {
			return 0, false
		}
		b = b[k:]
		return int(l), true
	}
	for range 12 {
		if !skip() {
			return false
		}
	}
	for _, per := range []int{1, 1, 2, 2, 1} {
		n, ok := count()
		if !ok {
			return false
		}
		for range n * per {
			if !skip() {
				return false
			}
		}
	}
	return true
}

func (d *dataset) finish() {
	for _, c := range d.cols {
		c.finish(d.n)
	}
	d.divs.counts = make([]int32, len(d.divs.syms))
	for _, v := range d.div {
		d.divs.counts[v]++
	}
}

// extraColumns returns the names of custom-field and external-id columns,
// sorted.
func (d *dataset) extraColumns() []string {
	var out []string
	for _, name := range d.order {
		if strings.HasPrefix(name, "custom.") || strings.HasPrefix(name, "externalId.") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// clusterOrder reorders the records so that records with the same division,
// family name and given name are adjacent: most candidate pairs share a
// family name, so comparing them then touches nearby memory. It must run
// after finish.
func (d *dataset) clusterOrder() {
	inIDOrder := slices.IsSorted(d.ids)
	last, first := d.cols[colLast], d.cols[colFirst]
	type rk struct {
		key uint64
		r   int32
	}
	keys := make([]rk, d.n)
	symOf := func(c *column, r int) uint64 {
		if c.off[r+1] > c.off[r] {
			return uint64(c.vals[c.off[r]]) + 1
		}
		return 0
	}
	for r := 0; r < d.n; r++ {
		keys[r] = rk{uint64(d.div[r])<<48 | symOf(last, r)<<24 | symOf(first, r)&0xffffff, int32(r)}
	}
	slices.SortFunc(keys, func(a, b rk) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return int(a.r - b.r)
	})
	ids := make([]string, d.n)
	div := make([]int32, d.n)
	d.rank = make([]int32, d.n)
	var hash []uint64
	if len(d.hash) == d.n {
		hash = make([]uint64, d.n)
	}
	for nr, k := range keys {
		ids[nr] = d.ids[k.r]
		div[nr] = d.div[k.r]
		d.rank[nr] = k.r
		if hash != nil {
			hash[nr] = d.hash[k.r]
		}
	}
	d.ids, d.div, d.hash = ids, div, hash
	if !inIDOrder {
		byID := make([]int32, d.n)
		for r := range byID {
			byID[r] = int32(r)
		}
		slices.SortFunc(byID, func(a, b int32) int { return strings.Compare(d.ids[a], d.ids[b]) })
		for pos, r := range byID {
			d.rank[r] = int32(pos)
		}
	}
	for _, c := range d.cols {
		off := make([]int32, 1, d.n+1)
		vals := make([]int32, 0, len(c.vals))
		for _, k := range keys {
			vals = append(vals, c.vals[c.off[k.r]:c.off[k.r+1]]...)
			off = append(off, int32(len(vals)))
		}
		c.off, c.vals = off, vals
	}
}
