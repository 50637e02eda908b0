package match

import (
	"encoding/json"
	"hash/fnv"
	"strings"
)

// keptModel is everything a match learned from the data that scoring
// needs, kept between runs (see "Incremental matching" in the package
// documentation): with it, the weight of a pair is a function of the two
// contacts alone, which is what lets an incremental match score only the
// pairs that touch changed contacts and still agree with a full match.
//
// Besides the weights, it keeps the data's frequencies that scoring reads:
// each term-frequency comparator's corrected frequencies (the values held
// by more than one customer; any other value has TFFloor) and the number
// of records holding each value of a comparator's column (values on three
// or more records; the typo rule, rareSide, treats a value on two or fewer
// as rare, whatever its exact count).
type keptModel struct {
	Prior  float64                     `json:"prior"`
	Comps  []keptComp                  `json:"comps"`
	Counts map[string]map[string]int32 `json:"counts"`
	// Model is the learned model as the statistics show it.
	Model Model `json:"model"`
}

// keptComp is one comparator's learned parameters.
type keptComp struct {
	Field          string             `json:"field"`
	Date           bool               `json:"date,omitempty"`
	M, U, W        []float64          `json:"-"`
	Shift, HHShift []float64          `json:"-"`
	TFFloor        float32            `json:"tfFloor"`
	TF             map[string]float32 `json:"-"`
	HasTF          bool               `json:"hasTF"`
}

// minKeptCount is the smallest count keptModel.Counts holds.
const minKeptCount = 3

// keepModel extracts the kept model of a scorer that learned on its
// dataset.
func keepModel(s *scorer, m Model) *keptModel {
	km := &keptModel{Prior: s.prior, Counts: map[string]map[string]int32{}, Model: m}
	for _, c := range s.comps {
		kc := keptComp{Field: c.field, Date: c.date, M: c.m, U: c.u, W: c.w, Shift: c.shift, HHShift: c.hhShift, TFFloor: c.tfFloor}
		if c.tfU != nil {
			kc.HasTF = true
			kc.TF = map[string]float32{}
			for v, f := range c.tfU {
				if f != c.tfFloor {
					kc.TF[c.col.syms[v]] = f
				}
			}
		}
		km.Comps = append(km.Comps, kc)
		if _, done := km.Counts[c.col.name]; done {
			continue
		}
		counts := map[string]int32{}
		for v, n := range c.col.counts {
			if n >= minKeptCount {
				counts[c.col.syms[v]] = n
			}
		}
		km.Counts[c.col.name] = counts
	}
	return km
}

// comparison returns the comparison cfg gives field (custom fields: the
// date comparison when date).
func (kc *keptComp) comparison(cfg *Config) Comparison {
	if cmp, ok := cfg.Comparisons[kc.Field]; ok {
		return cmp
	}
	switch {
	case strings.HasPrefix(kc.Field, "custom."):
		if kc.Date {
			return cfg.DateFieldComparison
		}
		return cfg.CustomFieldComparison
	}
	return cfg.ExternalIDComparison
}

// scorer returns a scorer over d with the kept parameters: the
// comparators the model has (whatever columns d holds), their weights, and
// the kept frequencies in place of d's (d's columns' counts are replaced).
func (km *keptModel) scorer(d *dataset, cfg *Config, nick nicknames) *scorer {
	column := func(name string) *column {
		if c, ok := d.cols[name]; ok {
			return c
		}
		c := newColumn(name)
		c.finish(d.n)
		d.cols[name] = c
		d.order = append(d.order, name)
		return c
	}
	for name, counts := range km.Counts {
		c := column(name)
		for v, s := range c.syms {
			c.counts[v] = counts[s]
		}
	}
	comps := make([]*comparator, 0, len(km.Comps))
	for i := range km.Comps {
		kc := &km.Comps[i]
		name := kc.Field
		if name == "address" {
			name = colAddress1
		}
		c := newComparator(d, kc.Field, kc.comparison(cfg), column(name), nick)
		c.date, c.m, c.u, c.w, c.shift, c.hhShift, c.tfFloor = kc.Date, kc.M, kc.U, kc.W, kc.Shift, kc.HHShift, kc.TFFloor
		if kc.HasTF {
			c.tfU = make([]float32, len(c.col.syms))
			for v, s := range c.col.syms {
				if f, ok := kc.TF[s]; ok {
					c.tfU[v] = f
				} else {
					c.tfU[v] = kc.TFFloor
				}
			}
		}
		comps = append(comps, c)
	}
	s := newScorerWith(d, cfg, comps)
	s.prior = km.Prior
	return s
}

// ConfigFingerprint identifies the matching settings of cfg: two configs
// with one fingerprint block, score, cluster and survive alike (Workers,
// ReportPairs and ApproveThreshold, which the matcher only carries, aside).
// A kept model is only used under the config it was learned with.
func ConfigFingerprint(cfg Config) uint64 {
	cfg.Workers, cfg.ReportPairs, cfg.ApproveThreshold = 0, false, 0
	b, _ := json.Marshal(cfg)
	h := fnv.New64a()
	h.Write(b)
	lb, _ := json.Marshal(cfg.Labels)
	h.Write(lb)
	return h.Sum64() ^ NormFingerprint(cfg)
}
