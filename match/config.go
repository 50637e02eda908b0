package match

import (
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"

	cm "github.com/contactmerge/contactmerge"
)

// Config controls normalization, blocking, scoring, clustering and
// survivorship. The zero value is not useful: start from DefaultConfig (or
// LoadConfig, which overlays a JSON file on it).
type Config struct {
	// MatchThreshold is the match probability at or above which a scored
	// pair is a link (default 0.99).
	MatchThreshold float64 `json:"matchThreshold"`
	// ApproveThreshold is the default group confidence for auto-approval
	// (`plan approve --min-confidence`; default 0.999). The matcher only
	// carries it; it proposes every group.
	ApproveThreshold float64 `json:"approveThreshold"`
	// MaxGroupSize caps the members of one group (default 25; at most 52,
	// the platform's merge-set limit).
	MaxGroupSize int `json:"maxGroupSize"`
	// MaxBlockSize is the largest block whose pairs are compared (default
	// 100). Larger blocks (a switchboard number, info@ addresses) are skipped
	// and counted in Stats.SkippedBlocks.
	MaxBlockSize int `json:"maxBlockSize"`
	// DefaultRegion parses phone numbers written without a country code when
	// the number has no normalizationCountryCode (default "US").
	DefaultRegion string `json:"defaultRegion"`
	// CrossDivision allows matches across divisions (default false: a
	// contact is only compared with contacts of its own division).
	CrossDivision bool `json:"crossDivision"`
	// Workers is the number of goroutines for scoring (default GOMAXPROCS).
	Workers int `json:"workers"`
	// EMIterations bounds the expectation-maximisation rounds that estimate
	// the m probabilities (default 100; it stops earlier on convergence).
	EMIterations int `json:"emIterations"`
	// USamplePairs is the number of random pairs drawn to estimate the u
	// probabilities (default 300000).
	USamplePairs int `json:"uSamplePairs"`
	// Seed seeds the random pair sample (default 1), so runs are repeatable.
	Seed uint64 `json:"seed"`
	// MinLinkDensity is the anti-chaining rule: two clusters are joined only
	// when at least this fraction of the pairs across them are links
	// (default 0.5).
	MinLinkDensity float64 `json:"minLinkDensity"`
	// CannotLinkWeight: two clusters are never joined when the evidence of
	// any pair across them (the sum of its field weights, prior excluded, in
	// bits) is below this value (default -10: a clear contradiction).
	CannotLinkWeight float64 `json:"cannotLinkWeight"`
	// Labels are pairs a steward decided (approved or rejected groups, see
	// LabelsFromGroups and LabelsFromSplit). They correct the model where
	// they are enough (see "Decisions teach the model" in the package
	// documentation); not part of a configuration file.
	Labels []LabelledPair `json:"-"`
	// LearnFromDecisions adds the stewards' decisions an Input holds (a
	// cm.Store's must-links and cannot-links, see ConstraintSource) to
	// Labels (default false: clustering enforces them either way).
	LearnFromDecisions bool `json:"learnFromDecisions"`
	// ReportPairs keeps every scored candidate pair in Result.Pairs (ids,
	// weight, probability), for Evaluate's loss per stage and reliability
	// table (default false: a million contacts have millions of pairs).
	ReportPairs bool `json:"reportPairs,omitempty"`
	// Blocking lists the blocking rules; a pair is a candidate when any rule
	// puts both contacts in one block.
	Blocking []BlockingRule `json:"blocking"`
	// Comparisons maps a field to its comparison. Fields: firstName,
	// middleName, lastName, email, phone, address (street line, postal code
	// and city together; level kinds sameAddress, sameStreet, samePostal,
	// sameCity), address1, address2, city, state, postalCode, country,
	// "custom.<field>" and "externalId.<source>".
	// A file's entry replaces the default entry of the same field.
	Comparisons map[string]Comparison `json:"comparisons"`
	// CustomFieldComparison is the comparison of every custom field that
	// Comparisons does not name (default: exact, Damerau-Levenshtein <= 1,
	// term-frequency adjusted).
	CustomFieldComparison Comparison `json:"customFieldComparison"`
	// DateFieldComparison is the comparison of every custom field that
	// holds dates (a date of birth: at least 95% of its values are dates,
	// normalized to YYYYMMDD) and that Comparisons does not name (default:
	// exact, one digit off or two adjacent digits swapped, day and month
	// transposed, within 31 days, two edits, within a year; in the style
	// of Splink's DateOfBirthComparison).
	DateFieldComparison Comparison `json:"dateFieldComparison"`
	// ExternalIDComparison is the comparison of every external source that
	// Comparisons does not name (default like CustomFieldComparison).
	ExternalIDComparison Comparison `json:"externalIdComparison"`
	// IgnoreCustomFields names custom fields that take no part in matching.
	IgnoreCustomFields []string `json:"ignoreCustomFields"`
	// IgnoreExternalSources names external sources that take no part.
	IgnoreExternalSources []string `json:"ignoreExternalSources"`
	// Nicknames adds given-name variants to the built-in table: canonical
	// name → variants (e.g. "robert": ["bob", "rob"]).
	Nicknames map[string][]string `json:"nicknames"`
	// Household is the contact-center rule against family false merges.
	Household HouseholdRule `json:"household"`
	// Email holds the provider rules of email normalization.
	Email EmailRules `json:"email"`
	// Survivor is the survivorship policy (survivor choice and merged values).
	Survivor SurvivorPolicy `json:"survivor"`
}

// HouseholdRule: members of one family share a phone number, an address
// and a family name, but not a given name. When the NameField comparison of
// a pair is at one of ConflictLevels and the FamilyField comparison is not
// "different", the positive contributions of Fields (the shared contact
// points) count zero: they are evidence of one household, not of one
// person. Negative contributions still count. An empty NameField disables
// the rule; an empty FamilyField applies it whatever the family names.
//
// With KeepWithIdentifiers (default true) the rule does not apply when a
// unique identifier agrees exactly: an external id, a custom field that is
// not a date (an account or loyalty number), or a date field (a date of
// birth) together with the address (street line). A family shares a
// mailbox and an address, not a customer id or a birth date at one
// address; a changed or replaced given name then loses against them.
type HouseholdRule struct {
	NameField           string   `json:"nameField"`
	ConflictLevels      []string `json:"conflictLevels"`
	FamilyField         string   `json:"familyField"`
	Fields              []string `json:"fields"`
	KeepWithIdentifiers bool     `json:"keepWithIdentifiers"`
}

// EmailRules are the provider-specific email normalization rules.
type EmailRules struct {
	// PlusTagDomains ignore "+tag" suffixes of the local part.
	PlusTagDomains []string `json:"plusTagDomains"`
	// DotInsensitiveDomains ignore dots in the local part (Gmail).
	DotInsensitiveDomains []string `json:"dotInsensitiveDomains"`
	// DomainAliases maps a domain to the domain it is equivalent to.
	DomainAliases map[string]string `json:"domainAliases"`
}

// BlockingRule is one blocking pass: contacts with the same value of every
// key land in one block. Keys: email, phone, externalId, custom (each custom
// field, separately), customDate (any date-like custom field), firstName,
// firstNameCanon (nickname-resolved), firstSoundex, firstInitial, lastName,
// lastSoundex, postalCode, city, address1, streetNumber, nameSet (given and
// family name as an unordered pair, so that swapped names meet; only for
// contacts whose given name is also a family name and whose family name is
// also a given name in the data). A contact without a value for some key is
// in no block of the rule.
type BlockingRule struct {
	Name string   `json:"name"`
	Keys []string `json:"keys"`
	// MaxBlockSize overrides Config.MaxBlockSize for this rule when it is
	// smaller (name-only rules keep small blocks: a common name is no
	// evidence worth comparing thousands of pairs for).
	MaxBlockSize int `json:"maxBlockSize,omitempty"`
}

// Comparison compares one field of two contacts. The first level whose test
// passes is the pair's level; when none passes the level is "different", and
// when either side has no value it is "missing" (weight 0). Multi-valued
// fields (emails, phones) take the best level over all value pairs.
type Comparison struct {
	Levels []Level `json:"levels"`
	// TermFrequency adjusts the weight of an exact agreement by the value's
	// frequency: a value shared by many contacts is weak evidence.
	TermFrequency bool `json:"termFrequency"`
	// Weights fixes the weight (log2 Bayes factor) of named levels instead of
	// learning it; "different" names the disagreement level.
	Weights map[string]float64 `json:"weights,omitempty"`
	// Disabled removes the comparison.
	Disabled bool `json:"disabled,omitempty"`
}

// Level is one agreement level of a comparison. Kinds: exact; nickname
// (same canonical given name, or a one-edit misspelling of the full name or
// of one of its nicknames); initial (one side is a single letter equal
// to the other's first letter); swapped (given and family names exchanged);
// jaroWinkler (similarity >= Threshold); levenshtein (distance <=
// Threshold); damerau (optimal-string-alignment distance <= Threshold,
// both values at least 2·Threshold+1 characters long (3 at least), when
// one of the two values is rare beside the other: held by at most two
// contacts or by a tenth as many, so that two common names one edit apart,
// john and joan, are two names and not a typo); localPart (emails with the
// same local part); suffix (the last Threshold characters agree, e.g.
// phone digits); sameNumber (jaroWinkler >= Threshold and the same street
// number); transposedDate (YYYYMMDD dates with day and month exchanged);
// withinDays (dates at most Threshold days apart).
//
// The kinds of the composite "address" comparison look at the street line,
// the street number, the postal code and the city together: sameAddress
// (the same street line, the postal codes equal or one missing, the cities
// equal or close or one missing, at least one of postal code and city
// equal, no other apartment); sameStreet (street lines equal, or at
// Jaro-Winkler >= Threshold with no other street number, and the postal
// code or the city equal or close: a postal code one edit away, a city at
// Jaro-Winkler >= 0.9; street lines are also compared without their
// street numbers; close street lines and cities start with the same
// letter); sameLine (the street line as for sameStreet, whatever
// the area); sameStreetName (the street lines without their numbers at
// Jaro-Winkler >= Threshold, whatever the numbers, and the postal code or
// the city equal or close: the same street); samePostal; postalPrefix (the first Threshold
// characters of the postal codes agree); sameCity; exact (the street line).
type Level struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Threshold float64 `json:"threshold,omitempty"`
}

// SurvivorPolicy decides which member survives and how the merged record is
// built.
type SurvivorPolicy struct {
	// Order lists the survivor criteria, most important first: "type"
	// (TypeOrder), "complete" (most non-empty fields), "oldest" (earliest
	// createDate), "newest" (latest modifyDate). Ties end on the smallest id.
	// Default: type, complete, oldest.
	Order []string `json:"order"`
	// TypeOrder ranks contact types, best first (default Curated,
	// Identified, Ephemeral).
	TypeOrder []string `json:"typeOrder"`
	// FillFrom orders the other members when filling the survivor's empty
	// fields: "newest" (default, most recently modified first) or "oldest".
	FillFrom string `json:"fillFrom"`
	// PackContacts moves the other members' distinct emails and phone
	// numbers into free slots (default true); values that fit nowhere are
	// reported as unkept.
	PackContacts bool `json:"packContacts"`
}

// DefaultConfig returns the default configuration described on each field.
func DefaultConfig() Config {
	cf := Comparison{
		Levels:        []Level{{Name: "exact", Kind: "exact"}, {Name: "typo", Kind: "damerau", Threshold: 1}, {Name: "typo2", Kind: "damerau", Threshold: 2}},
		TermFrequency: true,
	}
	return Config{
		MatchThreshold:   0.99,
		ApproveThreshold: 0.999,
		MaxGroupSize:     25,
		MaxBlockSize:     100,
		DefaultRegion:    "US",
		Workers:          runtime.GOMAXPROCS(0),
		EMIterations:     100,
		USamplePairs:     300000,
		Seed:             1,
		MinLinkDensity:   0.5,
		CannotLinkWeight: -10,
		Blocking: []BlockingRule{
			{Name: "email", Keys: []string{"email"}},
			{Name: "phone", Keys: []string{"phone"}},
			{Name: "externalId", Keys: []string{"externalId"}},
			{Name: "custom", Keys: []string{"custom"}},
			{Name: "name", Keys: []string{"firstNameCanon", "lastName"}, MaxBlockSize: 12},
			{Name: "soundex+postal", Keys: []string{"firstSoundex", "lastSoundex", "postalCode"}},
			{Name: "last+initial+city", Keys: []string{"lastName", "firstInitial", "city"}, MaxBlockSize: 12},
			{Name: "last+date", Keys: []string{"lastSoundex", "customDate"}},
			{Name: "first+date", Keys: []string{"firstSoundex", "customDate"}},
			{Name: "address", Keys: []string{"address1", "postalCode"}},
			{Name: "last+postal", Keys: []string{"lastName", "postalCode"}},
			{Name: "first+postal", Keys: []string{"firstNameCanon", "postalCode"}},
			{Name: "swapped", Keys: []string{"nameSet"}, MaxBlockSize: 12},
			{Name: "address+city", Keys: []string{"address1", "city"}},
		},
		Comparisons: map[string]Comparison{
			"firstName": {
				Levels: []Level{
					{Name: "exact", Kind: "exact"},
					{Name: "nickname", Kind: "nickname"},
					{Name: "typo", Kind: "damerau", Threshold: 1},
					{Name: "typo2", Kind: "damerau", Threshold: 2},
					{Name: "swapped", Kind: "swapped"},
					{Name: "jw>=0.92", Kind: "jaroWinkler", Threshold: 0.92},
					{Name: "initial", Kind: "initial"},
					{Name: "jw>=0.80", Kind: "jaroWinkler", Threshold: 0.80},
				},
				TermFrequency: true,
			},
			// A swap of given and family names is one event, which the
			// given name's "swapped" level weighs: the family name's is
			// fixed at 0, so that it does not count twice.
			"lastName": {
				Levels: []Level{
					{Name: "exact", Kind: "exact"},
					{Name: "swapped", Kind: "swapped"},
					{Name: "jw>=0.92", Kind: "jaroWinkler", Threshold: 0.92},
					{Name: "jw>=0.80", Kind: "jaroWinkler", Threshold: 0.80},
				},
				TermFrequency: true,
				Weights:       map[string]float64{"swapped": 0},
			},
			"middleName": {
				Levels: []Level{{Name: "exact", Kind: "exact"}, {Name: "initial", Kind: "initial"}, {Name: "jw>=0.88", Kind: "jaroWinkler", Threshold: 0.88}},
			},
			// The local part of an address is made of the names: namesakes
			// share it at other providers far more often than random pairs
			// do, so it counts nothing (a fixed weight of 0).
			"email": {
				Levels:        []Level{{Name: "exact", Kind: "exact"}, {Name: "localPart", Kind: "localPart"}},
				TermFrequency: true,
				Weights:       map[string]float64{"localPart": 0},
			},
			"phone": {
				Levels:        []Level{{Name: "exact", Kind: "exact"}, {Name: "last7", Kind: "suffix", Threshold: 7}},
				TermFrequency: true,
			},
			// One comparison for street line, postal code and city: a shared
			// address is one piece of evidence, not four.
			"address": {
				Levels: []Level{
					{Name: "exact", Kind: "sameAddress"},
					{Name: "street", Kind: "sameStreet", Threshold: 0.90},
					{Name: "line", Kind: "sameLine", Threshold: 0.90},
					{Name: "streetName", Kind: "sameStreetName", Threshold: 0.92},
					{Name: "postalCode", Kind: "samePostal"},
					{Name: "city", Kind: "sameCity"},
					{Name: "postalPrefix", Kind: "postalPrefix", Threshold: 3},
				},
				TermFrequency: true,
			},
		},
		CustomFieldComparison: cf,
		ExternalIDComparison:  cf,
		DateFieldComparison: Comparison{
			Levels: []Level{
				{Name: "exact", Kind: "exact"},
				{Name: "typo", Kind: "damerau", Threshold: 1},
				{Name: "dayMonth", Kind: "transposedDate"},
				{Name: "month", Kind: "withinDays", Threshold: 31},
				{Name: "typo2", Kind: "damerau", Threshold: 2},
				{Name: "year", Kind: "withinDays", Threshold: 366},
			},
			TermFrequency: true,
		},
		Household: HouseholdRule{
			NameField:           "firstName",
			ConflictLevels:      []string{"jw>=0.92", "jw>=0.80", "different"},
			FamilyField:         "lastName",
			Fields:              []string{"phone", "address", "address1", "address2", "city", "postalCode", "state"},
			KeepWithIdentifiers: true,
		},
		Email: defaultEmailRules(),
		Survivor: SurvivorPolicy{
			Order:        []string{"type", "complete", "oldest"},
			TypeOrder:    []string{cm.TypeCurated, cm.TypeIdentified, cm.TypeEphemeral},
			FillFrom:     "newest",
			PackContacts: true,
		},
	}
}

// isKnownField reports whether f names a comparison field.
func isKnownField(f string) bool {
	switch f {
	case "firstName", "middleName", "lastName", "email", "phone", "address", "address1", "address2", "city", "state", "postalCode", "country":
		return true
	}
	return strings.HasPrefix(f, "custom.") || strings.HasPrefix(f, "externalId.")
}

func isKnownBlockKey(k string) bool {
	switch k {
	case "email", "phone", "externalId", "custom", "customDate", "firstName", "firstNameCanon", "firstSoundex", "firstInitial", "lastName", "lastSoundex", "postalCode", "city", "address1", "streetNumber", "nameSet":
		return true
	}
	return false
}

func isKnownLevelKind(k string) bool {
	switch k {
	case "exact", "nickname", "initial", "swapped", "jaroWinkler", "levenshtein", "damerau", "localPart", "suffix", "sameNumber", "sameAddress", "sameStreet", "samePostal", "sameCity",
		"sameLine", "sameStreetName", "postalPrefix", "transposedDate", "withinDays":
		return true
	}
	return false
}

// Validate reports the first invalid field of c as an EINVALID error
// "path: problem", where path uses the JSON names of the configuration file
// (e.g. "comparisons.phone.levels[1].kind"). Fields are checked in a fixed
// order, so the same config always reports the same field.
func (c *Config) Validate() error {
	if fe := c.check(); fe != nil {
		return cm.Errorf(cm.EINVALID, "%s", fe.Error())
	}
	return nil
}

// fieldError is an invalid config value: path names it with JSON field
// names, "a.b[2].c".
type fieldError struct {
	path, problem string
}

func (e *fieldError) Error() string {
	if e.path == "" {
		return e.problem
	}
	return e.path + ": " + e.problem
}

// check returns the first invalid field of c, or nil.
func (c *Config) check() *fieldError {
	bad := func(path, format string, args ...any) *fieldError {
		return &fieldError{path: path, problem: fmt.Sprintf(format, args...)}
	}
	region := strings.ToUpper(c.DefaultRegion)
	switch {
	case c.MatchThreshold <= 0 || c.MatchThreshold >= 1:
		return bad("matchThreshold", "%v must be in (0,1)", c.MatchThreshold)
	case c.ApproveThreshold < 0 || c.ApproveThreshold > 1:
		return bad("approveThreshold", "%v must be in [0,1]", c.ApproveThreshold)
	case c.MaxGroupSize < 2 || c.MaxGroupSize > 52:
		return bad("maxGroupSize", "%d must be in [2,52] (52 is the platform's merge-set limit)", c.MaxGroupSize)
	case c.MaxBlockSize < 2:
		return bad("maxBlockSize", "%d must be at least 2", c.MaxBlockSize)
	case region != "" && !phonenumbers.GetSupportedRegions()[region]:
		return bad("defaultRegion", "%q is not a region phone numbers are known for (a two-letter ISO 3166 code such as \"US\" or \"GB\")", c.DefaultRegion)
	case c.Workers < 0:
		return bad("workers", "%d must not be negative", c.Workers)
	case c.EMIterations < 0:
		return bad("emIterations", "%d must not be negative", c.EMIterations)
	case c.USamplePairs < 0:
		return bad("uSamplePairs", "%d must not be negative", c.USamplePairs)
	case c.MinLinkDensity < 0 || c.MinLinkDensity > 1:
		return bad("minLinkDensity", "%v must be in [0,1]", c.MinLinkDensity)
	case c.CannotLinkWeight > 0:
		return bad("cannotLinkWeight", "%v must not be positive", c.CannotLinkWeight)
	case len(c.Blocking) == 0:
		return bad("blocking", "at least one rule is needed")
	}
	for i, r := range c.Blocking {
		p := fmt.Sprintf("blocking[%d]", i)
		if len(r.Keys) == 0 {
			return bad(p+".keys", "rule %q has no keys", r.Name)
		}
		if r.MaxBlockSize < 0 || r.MaxBlockSize == 1 {
			return bad(p+".maxBlockSize", "%d must be 0 (the global limit) or at least 2", r.MaxBlockSize)
		}
		for k, key := range r.Keys {
			if !isKnownBlockKey(key) {
				return bad(fmt.Sprintf("%s.keys[%d]", p, k), "unknown key %q", key)
			}
		}
	}
	check := func(path string, cmp Comparison) *fieldError {
		if len(cmp.Levels) == 0 && !cmp.Disabled {
			return bad(path+".levels", `no levels (give at least one, or "disabled": true)`)
		}
		if len(cmp.Levels) > 30 {
			return bad(path+".levels", "%d levels, at most 30", len(cmp.Levels))
		}
		names := map[string]bool{"different": true}
		for i, l := range cmp.Levels {
			p := fmt.Sprintf("%s.levels[%d]", path, i)
			if !isKnownLevelKind(l.Kind) {
				return bad(p+".kind", "unknown kind %q", l.Kind)
			}
			if l.Name == "" || l.Name == "missing" || l.Name == "different" {
				return bad(p+".name", "%q is empty or reserved", l.Name)
			}
			if names[l.Name] {
				return bad(p+".name", "%q names two levels", l.Name)
			}
			names[l.Name] = true
			switch l.Kind {
			case "jaroWinkler", "sameNumber", "sameStreet", "sameLine", "sameStreetName":
				if l.Threshold <= 0 || l.Threshold > 1 {
					return bad(p+".threshold", "%v must be in (0,1] for kind %s", l.Threshold, l.Kind)
				}
			case "levenshtein", "damerau":
				if l.Threshold < 0 || l.Threshold != math.Trunc(l.Threshold) {
					return bad(p+".threshold", "%v must be a whole number of edits, 0 or more, for kind %s", l.Threshold, l.Kind)
				}
			case "suffix", "postalPrefix":
				if l.Threshold < 1 || l.Threshold != math.Trunc(l.Threshold) {
					return bad(p+".threshold", "%v must be a whole number of characters, 1 or more, for kind %s", l.Threshold, l.Kind)
				}
			case "withinDays":
				if l.Threshold < 0 || l.Threshold != math.Trunc(l.Threshold) {
					return bad(p+".threshold", "%v must be a whole number of days, 0 or more, for kind withinDays", l.Threshold)
				}
			}
		}
		for _, w := range slices.Sorted(maps.Keys(cmp.Weights)) {
			if !names[w] {
				return bad(path+".weights", "no level named %q", w)
			}
		}
		return nil
	}
	for _, f := range slices.Sorted(maps.Keys(c.Comparisons)) {
		if !isKnownField(f) {
			return bad("comparisons."+f, "unknown field %q (known: firstName, middleName, lastName, email, phone, address, address1, address2, city, state, postalCode, country, custom.<field>, externalId.<source>)", f)
		}
		if fe := check("comparisons."+f, c.Comparisons[f]); fe != nil {
			return fe
		}
	}
	if fe := check("customFieldComparison", c.CustomFieldComparison); fe != nil {
		return fe
	}
	if fe := check("externalIdComparison", c.ExternalIDComparison); fe != nil {
		return fe
	}
	if fe := check("dateFieldComparison", c.DateFieldComparison); fe != nil {
		return fe
	}
	for i, o := range c.Survivor.Order {
		p := fmt.Sprintf("survivor.order[%d]", i)
		switch o {
		case "type", "complete", "oldest", "newest":
		default:
			return bad(p, "unknown criterion %q (type, complete, oldest or newest)", o)
		}
		if slices.Index(c.Survivor.Order, o) < i {
			return bad(p, "%q is listed twice", o)
		}
	}
	switch c.Survivor.FillFrom {
	case "", "newest", "oldest":
	default:
		return bad("survivor.fillFrom", "%q must be newest or oldest", c.Survivor.FillFrom)
	}
	return nil
}

// workers returns the effective worker count.
func (c *Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// String summarises the thresholds (for logs).
func (c Config) String() string {
	return fmt.Sprintf("match threshold %.4g, max group %d, max block %d, %d blocking rules, %d comparisons",
		c.MatchThreshold, c.MaxGroupSize, c.MaxBlockSize, len(c.Blocking), len(c.Comparisons))
}

// defaultEmailRules are the provider rules of DefaultConfig.
func defaultEmailRules() EmailRules {
	return EmailRules{
		PlusTagDomains:        []string{"gmail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "fastmail.com", "protonmail.com", "proton.me", "yandex.com", "yandex.ru"},
		DotInsensitiveDomains: []string{"gmail.com"},
		DomainAliases:         map[string]string{"googlemail.com": "gmail.com"},
	}
}
