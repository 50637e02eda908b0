package match

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/fnv"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	cm "github.com/contactmerge/contactmerge"
)

// NormVersion is the first byte of every encoded normalized contact. The
// next 8 bytes are the little-endian NormFingerprint of the config that
// produced it; the normalized fields follow. Run re-normalizes contacts whose
// stored norm has another version or another fingerprint than its own
// config's. Version 1 (before the fingerprint) is never read: such norms are
// re-normalized.
const NormVersion byte = 2

// normHeader is the length of the encoding's header: the version byte and
// the fingerprint.
const normHeader = 1 + 8

// KV is one normalized key/value pair (an external id or a custom field).
type KV struct {
	Key   string
	Value string
}

// Norm is the normalized form of a contact: everything the matcher compares,
// folded to canonical spellings. See Normalize for the rules.
type Norm struct {
	Division  string
	First     string   // folded given name without honorifics, spaces removed
	Middle    string   // folded middle name
	Last      string   // folded family name without suffixes, spaces removed
	Emails    []string // normalized, distinct
	Phones    []string // E.164 ("+15551234567"); unparsable numbers as "#" + digits
	Address1  string   // folded, abbreviated street line
	StreetNum string   // street number found in the street line
	Unit      string   // unit / apartment designator value
	Address2  string
	City      string
	State     string
	Postal    string   // folded, spaces removed
	Country   string   // folded
	ExtIDs    []KV     // Key = folded external source name, Value = trimmed lower-case value
	Custom    []KV     // Key = custom field name, Value = normalized value; sorted by Key
	DateLike  []string // keys of Custom whose values parsed as dates (YYYYMMDD)
}

// normalizer holds the settings of Normalize.
type normalizer struct {
	region     string
	plusTags   map[string]bool // domains that ignore +tags
	dotless    map[string]bool // domains that ignore dots in the local part
	domainEqui map[string]string
	fp         uint64 // fingerprint of the fields above (set by newNormalizer)
}

// newNormalizer builds the normalizer of cfg, with its fingerprint.
func newNormalizer(cfg Config) *normalizer {
	n := newNormalizerRules(cfg.DefaultRegion, cfg.Email)
	n.fp = n.fingerprint()
	return n
}

// newNormalizerRules builds a normalizer from a region and email rules,
// without the fingerprint (survivorship builds one per group and encodes
// nothing).
func newNormalizerRules(region string, rules EmailRules) *normalizer {
	cfg := Config{DefaultRegion: region, Email: rules}
	n := &normalizer{
		region:     strings.ToUpper(cfg.DefaultRegion),
		plusTags:   map[string]bool{},
		dotless:    map[string]bool{},
		domainEqui: map[string]string{},
	}
	if n.region == "" {
		n.region = "US"
	}
	for _, d := range cfg.Email.PlusTagDomains {
		n.plusTags[strings.ToLower(d)] = true
	}
	for _, d := range cfg.Email.DotInsensitiveDomains {
		n.dotless[strings.ToLower(d)] = true
	}
	for from, to := range cfg.Email.DomainAliases {
		n.domainEqui[strings.ToLower(from)] = strings.ToLower(to)
	}
	return n
}

// fingerprint hashes every setting normalize reads (FNV-1a 64 over a
// canonical, sorted rendering of the effective settings, so that configs
// that normalize alike, such as "gb" and "GB", share a fingerprint).
// Nicknames, honorifics, address abbreviations and the rest are either
// resolved at comparison time or fixed by NormVersion.
func (n *normalizer) fingerprint() uint64 {
	h := fnv.New64a()
	put := func(tag string, vals ...string) {
		h.Write([]byte(tag))
		for _, v := range vals {
			h.Write([]byte{0})
			h.Write([]byte(v))
		}
		h.Write([]byte{0xff})
	}
	put("region", n.region)
	put("plusTags", slices.Sorted(maps.Keys(n.plusTags))...)
	put("dotless", slices.Sorted(maps.Keys(n.dotless))...)
	for _, from := range slices.Sorted(maps.Keys(n.domainEqui)) {
		put("alias", from, n.domainEqui[from])
	}
	return h.Sum64()
}

// NormFingerprint returns the fingerprint of cfg's normalization settings
// (DefaultRegion and Email; nothing else in Config changes a norm). Every
// norm that NormalizerFunc(cfg) encodes carries it after the version byte,
// and Run uses a stored norm only when it carries its own config's
// fingerprint.
func NormFingerprint(cfg Config) uint64 { return newNormalizer(cfg).fp }

// NormalizerFunc returns the cm.Normalizer that stores keep beside each
// contact: the versioned binary encoding of Normalize's result (first byte
// NormVersion, then NormFingerprint(cfg)). It is safe for concurrent use.
//
// A store may be opened with the normalizer of any config: Run re-normalizes
// the contacts whose stored norm was made under other normalization settings
// (Stats.Normalized counts them), so a mismatch costs time, never
// correctness.
func NormalizerFunc(cfg Config) cm.Normalizer {
	return newNormalizer(cfg).encoded
}

// encoded returns the encoding of c's normalized form.
func (n *normalizer) encoded(c *cm.Contact) []byte {
	nm := n.normalize(c)
	return nm.encode(nil, n.fp)
}

// Normalize returns the normalized form of c under cfg's normalization
// settings (default region, email provider rules).
func Normalize(c *cm.Contact, cfg Config) Norm {
	return newNormalizerRules(cfg.DefaultRegion, cfg.Email).normalize(c)
}

func (n *normalizer) normalize(c *cm.Contact) Norm {
	var nm Norm
	nm.Division = c.DivisionID()
	nm.First = foldName(c.FirstName)
	nm.Middle = foldName(c.MiddleName)
	nm.Last = foldName(c.LastName)
	for _, e := range c.Emails() {
		if v := n.email(e); v != "" && !slices.Contains(nm.Emails, v) {
			nm.Emails = append(nm.Emails, v)
		}
	}
	for _, p := range c.Phones() {
		if v := n.phone(p); v != "" && !slices.Contains(nm.Phones, v) {
			nm.Phones = append(nm.Phones, v)
		}
	}
	if a := c.Address; !a.IsZero() {
		nm.Address1, nm.StreetNum, nm.Unit = normAddressLine(a.Address1)
		nm.Address2 = fold(a.Address2)
		nm.City = fold(a.City)
		nm.State = fold(a.State)
		nm.Postal = strings.ReplaceAll(fold(a.PostalCode), " ", "")
		nm.Country = fold(a.CountryCode)
	}
	for _, e := range c.ExternalIDs {
		v := strings.ToLower(strings.TrimSpace(e.Value))
		if v == "" {
			continue
		}
		kv := KV{Key: fold(e.SourceName()), Value: v}
		if !slices.Contains(nm.ExtIDs, kv) {
			nm.ExtIDs = append(nm.ExtIDs, kv)
		}
	}
	slices.SortFunc(nm.ExtIDs, func(a, b KV) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	for k, v := range c.CustomFields {
		s, date := customValue(v)
		if s == "" {
			continue
		}
		nm.Custom = append(nm.Custom, KV{Key: k, Value: s})
		if date {
			nm.DateLike = append(nm.DateLike, k)
		}
	}
	slices.SortFunc(nm.Custom, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
	slices.Sort(nm.DateLike)
	return nm
}

// email normalizes an address: trimmed, lower case, and for providers that
// ignore them, +tags and dots in the local part removed and domain aliases
// (googlemail.com → gmail.com) resolved. Strings without a single "@" and a
// non-empty local part and domain return "".
func (n *normalizer) email(e string) string {
	e = strings.ToLower(strings.TrimSpace(e))
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 {
		return ""
	}
	local, domain := e[:at], strings.TrimSuffix(e[at+1:], ".")
	if to, ok := n.domainEqui[domain]; ok {
		domain = to
	}
	if n.plusTags[domain] {
		if i := strings.IndexByte(local, '+'); i > 0 {
			local = local[:i]
		}
	}
	if n.dotless[domain] {
		local = strings.ReplaceAll(local, ".", "")
	}
	if local == "" {
		return ""
	}
	return local + "@" + domain
}

// isE164 reports whether s is "+" followed by 7 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// phone returns the E.164 form of p: its e164 field when set, else its
// display parsed with its normalizationCountryCode or the default region.
// Numbers that do not parse keep their digits, prefixed by "#".
func (n *normalizer) phone(p *cm.PhoneNumber) string {
	if p == nil {
		return ""
	}
	if isE164(p.E164) {
		return p.E164
	}
	raw := p.Display
	if raw == "" {
		raw = p.UserInput
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	// Fast path: an international number written with separators.
	var digits strings.Builder
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c >= '0' && c <= '9' {
			digits.WriteByte(c)
		}
	}
	d := digits.String()
	if len(d) < 5 {
		return ""
	}
	if raw[0] == '+' && isPlainNumber(raw) && isE164("+"+d) {
		return "+" + d
	}
	region := strings.ToUpper(p.NormalizationCountryCode)
	if len(region) != 2 {
		region = n.region
	}
	num, err := phonenumbers.Parse(raw, region)
	if err == nil && phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE {
		if e := phonenumbers.Format(num, phonenumbers.E164); isE164(e) {
			return e
		}
	}
	return "#" + d
}

// isPlainNumber reports whether s holds only digits and the separators
// people write in phone numbers (no letters, no extension marker).
func isPlainNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '+', c == ' ', c == '-', c == '.', c == '(', c == ')', c == '/':
		default:
			return false
		}
	}
	return true
}

// customValue normalizes one custom field value; date reports whether it
// parsed as a calendar date (returned as YYYYMMDD).
func customValue(v any) (s string, date bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		x = strings.TrimSpace(x)
		if d, ok := parseDate(x); ok {
			return d, true
		}
		return strings.ReplaceAll(fold(x), " ", ""), false
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), false
	case int:
		return strconv.Itoa(x), false
	case int64:
		return strconv.FormatInt(x, 10), false
	case json.Number:
		return x.String(), false
	case bool:
		return strconv.FormatBool(x), false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), false
}

// parseDate recognizes YYYYMMDD, YYYY-MM-DD (optionally with a time),
// YYYY/MM/DD and MM/DD/YYYY and returns YYYYMMDD. An 8-digit string is taken
// as a date even when a component is out of range (a typo in a birth date
// must still compare as a date).
func parseDate(s string) (string, bool) {
	if len(s) == 8 && isDigits(s) {
		y, _ := strconv.Atoi(s[:4])
		if y >= 1800 && y <= 2200 {
			return s, true
		}
		return "", false
	}
	if len(s) < 8 || len(s) > 35 {
		return "", false
	}
	for _, layout := range []string{"2006-01-02", time.RFC3339, time.RFC3339Nano, "2006-01-02T15:04:05", "2006/01/02", "01/02/2006", "1/2/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("20060102"), true
		}
	}
	return "", false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// encode appends the versioned binary form of nm, made under the settings
// with fingerprint fp, to b.
func (nm *Norm) encode(b []byte, fp uint64) []byte {
	b = slices.Grow(b, nm.encodedLen())
	b = append(b, NormVersion)
	b = binary.LittleEndian.AppendUint64(b, fp)
	for _, s := range []string{nm.Division, nm.First, nm.Middle, nm.Last, nm.Address1, nm.StreetNum, nm.Unit, nm.Address2, nm.City, nm.State, nm.Postal, nm.Country} {
		b = appendString(b, s)
	}
	b = appendStrings(b, nm.Emails)
	b = appendStrings(b, nm.Phones)
	b = appendKVs(b, nm.ExtIDs)
	b = appendKVs(b, nm.Custom)
	b = appendStrings(b, nm.DateLike)
	return b
}

// encodedLen returns the length of nm's encoding.
func (nm *Norm) encodedLen() int {
	n := normHeader
	for _, s := range []string{nm.Division, nm.First, nm.Middle, nm.Last, nm.Address1, nm.StreetNum, nm.Unit, nm.Address2, nm.City, nm.State, nm.Postal, nm.Country} {
		n += stringLen(s)
	}
	for _, ss := range [][]string{nm.Emails, nm.Phones, nm.DateLike} {
		n += uvarintLen(len(ss))
		for _, s := range ss {
			n += stringLen(s)
		}
	}
	for _, kvs := range [][]KV{nm.ExtIDs, nm.Custom} {
		n += uvarintLen(len(kvs))
		for _, kv := range kvs {
			n += stringLen(kv.Key) + stringLen(kv.Value)
		}
	}
	return n
}

func stringLen(s string) int { return uvarintLen(len(s)) + len(s) }

// uvarintLen is the length of binary.AppendUvarint's encoding of x.
func uvarintLen(x int) int { return (bits.Len64(uint64(x)|1) + 6) / 7 }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func appendKVs(b []byte, kvs []KV) []byte {
	b = binary.AppendUvarint(b, uint64(len(kvs)))
	for _, kv := range kvs {
		b = appendString(b, kv.Key)
		b = appendString(b, kv.Value)
	}
	return b
}

// errNormFormat reports an encoded norm that is truncated or of another version.
func errNormFormat() error {
	return errors.New("match: bad normalized contact encoding (truncated or another version)")
}

// DecodeNorm decodes an encoding produced by NormalizerFunc, whatever its
// fingerprint. It fails when the version byte is not NormVersion or the data
// is truncated.
func DecodeNorm(b []byte) (Norm, error) {
	var nm Norm
	if len(b) < normHeader || b[0] != NormVersion {
		return nm, errNormFormat()
	}
	d := decoder{b: b[normHeader:]}
	for _, p := range []*string{&nm.Division, &nm.First, &nm.Middle, &nm.Last, &nm.Address1, &nm.StreetNum, &nm.Unit, &nm.Address2, &nm.City, &nm.State, &nm.Postal, &nm.Country} {
		*p = d.str()
	}
	nm.Emails = d.strs()
	nm.Phones = d.strs()
	nm.ExtIDs = d.kvs()
	nm.Custom = d.kvs()
	nm.DateLike = d.strs()
	if d.err {
		return Norm{}, errNormFormat()
	}
	return nm, nil
}

type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() int {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(len(d.b)) {
		d.err = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err || n > len(d.b) {
		d.err = true
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strs() []string {
	n := d.uvarint()
	if n == 0 || d.err {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.str())
	}
	return out
}

func (d *decoder) kvs() []KV {
	n := d.uvarint()
	if n == 0 || d.err {
		return nil
	}
	out := make([]KV, 0, n)
	for range n {
		k := d.str()
		out = append(out, KV{Key: k, Value: d.str()})
	}
	return out
}
