package match

import (
	"math"
	"slices"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

const (
	probFloor = 1e-6
	// maxFieldWeight bounds one field's contribution (in bits) so that a
	// single degenerate estimate cannot decide a pair alone.
	maxFieldWeight = 30
)

// LevelModel is the learned model of one comparison level.
type LevelModel struct {
	Name   string  `json:"name"`
	M      float64 `json:"m"`      // P(level | match), from EM
	U      float64 `json:"u"`      // P(level | non-match), from random pairs
	Weight float64 `json:"weight"` // log2(m/u), or the fixed weight
	Fixed  bool    `json:"fixed,omitempty"`
	// LabelShift is added to Weight, and HouseholdShift to the weight the
	// household rule leaves (0 or less), as labelled pairs taught.
	LabelShift     float64 `json:"labelShift,omitempty"`
	HouseholdShift float64 `json:"householdShift,omitempty"`
}

// FieldModel is the learned model of one comparison.
type FieldModel struct {
	Field         string       `json:"field"`
	TermFrequency bool         `json:"termFrequency"`
	Levels        []LevelModel `json:"levels"`
}

// Model is what scoring learned: the prior and each field's m/u.
type Model struct {
	// Lambda is the estimated probability that two random contacts (of one
	// division) are the same customer.
	Lambda float64 `json:"lambda"`
	// CandidateLambda is the match share among candidate pairs (EM).
	CandidateLambda float64 `json:"candidateLambda"`
	// PriorWeight is log2(Lambda/(1-Lambda)), the start of every waterfall.
	PriorWeight float64 `json:"priorWeight"`
	// ThresholdWeight is the weight at MatchThreshold.
	ThresholdWeight float64 `json:"thresholdWeight"`
	// EMIterations is the number of EM rounds run; Converged tells whether
	// the parameters stopped changing.
	EMIterations int          `json:"emIterations"`
	Converged    bool         `json:"converged"`
	Fields       []FieldModel `json:"fields"`
	USample      int          `json:"uSample"`  // random pairs used for u
	Patterns     int          `json:"patterns"` // distinct comparison vectors among candidates
	// Labels is the number of labelled pairs (Config.Labels) between
	// contacts of the run, and LabelShift the prior shift (bits) they
	// taught, included in PriorWeight.
	Labels     int            `json:"labels,omitempty"`
	LabelShift float64        `json:"labelShift,omitempty"`
	Extra      map[string]any `json:"extra,omitempty"`
}

// scorer holds the comparators and the learned weights.
type scorer struct {
	d     *dataset
	comps []*comparator
	prior float64
	// The household rule: when comparator hhName is at a level in
	// hhLevels, positive contributions of the comparators in hhField count
	// zero.
	hhName   int
	hhLevels []bool
	hhField  []bool
	// hhFamily is the family-name comparator: the rule does not apply when
	// it is at its "different" level (-1: no such comparator).
	hhFamily int
	// hhIDs are the identifier comparators (external ids, custom fields
	// that are not dates) and hhDates the date comparators (a date of
	// birth): an exact identifier, or an exact date with the same address
	// (hhAddr at a level in hhAddrLevels), lifts the household rule.
	hhIDs, hhDates []int
	hhAddr         int
	hhAddrLevels   []bool
	// reported holds every scored candidate pair (Config.ReportPairs).
	reported []link
	// labelShift is the prior correction (bits) learned from labels, and
	// labelled the labelled pairs found among the contacts.
	labelShift float64
	labelled   int
	// uPats are the comparison patterns of the random pairs that estimated
	// u, with their counts.
	uPats *patternTable
}

// reportedPairs returns the scored candidate pairs kept for
// Config.ReportPairs, by contact id.
func (s *scorer) reportedPairs() []ScoredPair {
	if s == nil || len(s.reported) == 0 {
		return nil
	}
	out := make([]ScoredPair, len(s.reported))
	for k, l := range s.reported {
		out[k] = ScoredPair{A: s.d.ids[l.a], B: s.d.ids[l.b], Weight: l.w, Probability: probability(l.w)}
	}
	return out
}

// newScorer compiles the comparators and the household rule.
func newScorer(d *dataset, cfg *Config, nick nicknames) *scorer {
	comps := compileComparators(d, cfg, nick)
	for _, c := range comps {
		c.date = strings.HasPrefix(c.field, "custom.") && dateColumn(c.col)
	}
	return newScorerWith(d, cfg, comps)
}

// newScorerWith compiles the household rule over comps (whose date flags
// are set).
func newScorerWith(d *dataset, cfg *Config, comps []*comparator) *scorer {
	s := &scorer{d: d, comps: comps, hhName: -1, hhFamily: -1, hhAddr: -1}
	s.hhField = make([]bool, len(s.comps))
	for k, c := range s.comps {
		switch {
		case cfg.Household.KeepWithIdentifiers && strings.HasPrefix(c.field, "externalId."):
			s.hhIDs = append(s.hhIDs, k)
		case cfg.Household.KeepWithIdentifiers && strings.HasPrefix(c.field, "custom."):
			if c.date {
				s.hhDates = append(s.hhDates, k)
			} else {
				s.hhIDs = append(s.hhIDs, k)
			}
		case c.field == "address":
			s.hhAddr = k
			s.hhAddrLevels = make([]bool, c.numLevels())
			for l, lv := range c.levels {
				switch lv.kind {
				case kindSameAddress, kindSameStreet, kindSameLine, kindExact:
					s.hhAddrLevels[l] = true
				}
			}
		}
		if c.field == cfg.Household.NameField {
			s.hhName = k
			s.hhLevels = make([]bool, c.numLevels())
			for l := range s.hhLevels {
				s.hhLevels[l] = slices.Contains(cfg.Household.ConflictLevels, c.levelName(uint8(l)))
			}
		}
		s.hhField[k] = slices.Contains(cfg.Household.Fields, c.field)
		if cfg.Household.FamilyField != "" && c.field == cfg.Household.FamilyField {
			s.hhFamily = k
		}
	}
	return s
}

// suppressed reports whether the household rule applies to a comparison
// vector.
func (s *scorer) suppressed(lv []uint8) bool {
	if s.hhName < 0 {
		return false
	}
	l := lv[s.hhName]
	if l == levelMissing || !s.hhLevels[l] {
		return false
	}
	if s.hhFamily >= 0 && int(lv[s.hhFamily]) == len(s.comps[s.hhFamily].levels) {
		return false
	}
	for _, k := range s.hhIDs {
		if lv[k] == 0 {
			return false
		}
	}
	if len(s.hhDates) > 0 && s.hhAddr >= 0 {
		if a := lv[s.hhAddr]; a != levelMissing && s.hhAddrLevels[a] {
			for _, k := range s.hhDates {
				if lv[k] == 0 {
					return false
				}
			}
		}
	}
	return true
}

// patternWeight returns the weight of a comparison vector without term
// frequencies (prior excluded).
func (s *scorer) patternWeight(lv []uint8) float64 {
	sup := s.suppressed(lv)
	var w float64
	for k, c := range s.comps {
		l := lv[k]
		if l == levelMissing {
			continue
		}
		w += c.contribution(c.w[l], l, sup && s.hhField[k])
	}
	return w
}

// contribution is the weight fw of level l as it counts in a pair: with
// the household rule applying to the comparator (hh), a positive weight
// counts zero; then the correction labelled pairs taught, if any.
func (c *comparator) contribution(fw float64, l uint8, hh bool) float64 {
	if hh {
		if fw > 0 {
			fw = 0
		}
		if c.hhShift != nil {
			fw += c.hhShift[l]
		}
		return fw
	}
	if c.shift != nil {
		fw += c.shift[l]
	}
	return fw
}

// levels writes the comparison vector of (i, j) into buf.
func (s *scorer) levels(i, j int32, buf []uint8) {
	for k, c := range s.comps {
		buf[k] = c.level(i, j)
	}
}

// weight returns the total match weight of a pair with comparison vector lv.
func (s *scorer) weight(i, j int32, lv []uint8) float64 {
	w := s.prior
	sup := s.suppressed(lv)
	for k, c := range s.comps {
		if l := lv[k]; l != levelMissing {
			w += c.contribution(c.fieldWeight(i, j, l), l, sup && s.hhField[k])
		}
	}
	return w
}

// fieldWeight returns one comparator's contribution for level l.
func (c *comparator) fieldWeight(i, j int32, l uint8) float64 {
	if l == levelMissing {
		return 0
	}
	if _, fixed := c.fixed[int(l)]; !fixed && l == 0 && c.tf && tfable(c.levels[0].kind) {
		if p := c.tfProbability(i, j); p > 0 {
			return clampWeight(math.Log2(c.m[0] / math.Max(p, probFloor)))
		}
	}
	return c.w[l]
}

func clampWeight(w float64) float64 {
	return math.Max(-maxFieldWeight, math.Min(maxFieldWeight, w))
}

// score returns the weight of (i, j).
func (s *scorer) score(i, j int32) float64 {
	var buf [64]uint8
	lv := buf[:len(s.comps)]
	if len(s.comps) > len(buf) {
		lv = make([]uint8, len(s.comps))
	}
	s.levels(i, j, lv)
	return s.weight(i, j, lv)
}

// evidence returns the explained score of (i, j).
func (s *scorer) evidence(i, j int32) cm.PairEvidence {
	lv := make([]uint8, len(s.comps))
	s.levels(i, j, lv)
	total := s.weight(i, j, lv)
	ev := cm.PairEvidence{A: s.d.ids[i], B: s.d.ids[j], Weight: total, Probability: probability(total)}
	ev.Fields = append(ev.Fields, cm.FieldEvidence{Field: "prior", Level: "prior", Weight: s.prior})
	sup := s.suppressed(lv)
	for k, c := range s.comps {
		a, b := c.display(i), c.display(j)
		if lv[k] == levelMissing && a == "" && b == "" {
			continue
		}
		fe := cm.FieldEvidence{Field: c.field, Level: c.levelName(lv[k]), A: a, B: b}
		if l := lv[k]; l != levelMissing {
			hh := sup && s.hhField[k]
			fw := c.fieldWeight(i, j, l)
			if hh && fw > 0 {
				fe.Level += " (household: names differ)"
			}
			fe.Weight = c.contribution(fw, l, hh)
		}
		ev.Fields = append(ev.Fields, fe)
	}
	return ev
}

func (c *comparator) display(r int32) string {
	if c.postal != nil {
		parts := []string{}
		for _, col := range []*column{c.col, c.postal, c.city} {
			if v, ok := col.first(r); ok {
				parts = append(parts, v)
			}
		}
		return strings.Join(parts, ", ")
	}
	vs := c.col.values(r)
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return c.col.syms[vs[0]]
	}
	s := c.col.syms[vs[0]]
	for _, v := range vs[1:] {
		s += ", " + c.col.syms[v]
	}
	return s
}

func probability(w float64) float64 {
	if w > 60 {
		return 1
	}
	p := math.Exp2(w)
	return p / (1 + p)
}

// weightAt returns the weight whose probability is p.
func weightAt(p float64) float64 { return math.Log2(p / (1 - p)) }
