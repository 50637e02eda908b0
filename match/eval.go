package match

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// PairwiseScores compares groups with the true clusters as sets of pairs:
// tp counts pairs inside a group that are inside a true cluster, fp pairs
// inside a group that are not, fn true pairs not inside any group.
// Precision, recall and F1 are 1 when their denominators are 0.
func PairwiseScores(groups [][]string, truth [][]string) (precision, recall, f1 float64, tp, fp, fn int) {
	entity := map[string]int{}
	trueSize := map[int]int{}
	truePairs := 0
	for e, members := range truth {
		for _, id := range members {
			entity[id] = e
		}
		trueSize[e] = len(members)
		truePairs += len(members) * (len(members) - 1) / 2
	}
	predicted := 0
	for _, g := range groups {
		predicted += len(g) * (len(g) - 1) / 2
		counts := map[int]int{}
		for _, id := range g {
			if e, ok := entity[id]; ok {
				counts[e]++
			}
		}
		for _, n := range counts {
			tp += n * (n - 1) / 2
		}
	}
	fp = predicted - tp
	fn = truePairs - tp
	precision, recall = 1, 1
	if predicted > 0 {
		precision = float64(tp) / float64(predicted)
	}
	if truePairs > 0 {
		recall = float64(tp) / float64(truePairs)
	}
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	return precision, recall, f1, tp, fp, fn
}

// pairSet returns the unordered pairs inside each group.
func pairSet(truth [][]string) map[[2]string]bool {
	s := map[[2]string]bool{}
	for _, g := range truth {
		for i := range g {
			for j := i + 1; j < len(g); j++ {
				a, b := g[i], g[j]
				if a > b {
					a, b = b, a
				}
				s[[2]string{a, b}] = true
			}
		}
	}
	return s
}

// BlockingReport measures the blocking of cfg on contacts with known true
// clusters.
type BlockingReport struct {
	Contacts       int `json:"contacts"`
	CandidatePairs int `json:"candidatePairs"`
	TruePairs      int `json:"truePairs"`
	FoundPairs     int `json:"foundPairs"` // true pairs that are candidates
	// PairCompleteness is FoundPairs / TruePairs (blocking recall).
	PairCompleteness float64 `json:"pairCompleteness"`
	// ReductionRatio is 1 - CandidatePairs / all pairs.
	ReductionRatio float64     `json:"reductionRatio"`
	Rules          []RuleStats `json:"rules"`
	SkippedBlocks  int         `json:"skippedBlocks"`
}

// EvaluateBlocking runs only the blocking of cfg on cs and reports pair
// completeness against truth (the true clusters as lists of contact ids).
func EvaluateBlocking(ctx context.Context, cs []cm.Contact, truth [][]string, cfg Config) (BlockingReport, error) {
	var rep BlockingReport
	if err := cfg.Validate(); err != nil {
		return rep, err
	}
	in := NewMemoryInput(cs, cfg)
	d := newDataset()
	for i, id := range in.ids {
		d.addEncoded(id, in.norms[i], in.fp)
	}
	d.finish()
	br, err := block(ctx, d, &cfg, newNicknames(cfg.Nicknames), false)
	if err != nil {
		return rep, err
	}
	cand := make(map[[2]string]bool, len(br.pairs))
	for _, p := range br.pairs {
		a, b := d.ids[p>>32], d.ids[p&0xffffffff]
		if a > b {
			a, b = b, a
		}
		cand[[2]string{a, b}] = true
	}
	tp := pairSet(truth)
	rep.Contacts = d.n
	rep.CandidatePairs = len(br.pairs)
	rep.TruePairs = len(tp)
	for p := range tp {
		if cand[p] {
			rep.FoundPairs++
		}
	}
	rep.PairCompleteness = 1
	if rep.TruePairs > 0 {
		rep.PairCompleteness = float64(rep.FoundPairs) / float64(rep.TruePairs)
	}
	if all := float64(d.n) * float64(d.n-1) / 2; all > 0 {
		rep.ReductionRatio = 1 - float64(rep.CandidatePairs)/all
	}
	rep.Rules = br.stats
	for _, r := range br.stats {
		rep.SkippedBlocks += r.SkippedBlocks
	}
	return rep, nil
}

// ScoredPair is one compared candidate pair with its match weight (bits,
// prior included) and match probability. Result.Pairs lists every candidate
// pair when Config.ReportPairs is set.
type ScoredPair struct {
	A           string  `json:"a"`
	B           string  `json:"b"`
	Weight      float64 `json:"weight"`
	Probability float64 `json:"probability"`
}

// ReliabilityBin is one row of a reliability table: the pairs whose
// predicted match probability is in [Lo, Hi) (the last bin includes 1),
// their mean predicted probability and the share of them that are true
// pairs.
type ReliabilityBin struct {
	Lo            float64 `json:"lo"`
	Hi            float64 `json:"hi"`
	Pairs         int     `json:"pairs"`
	TruePairs     int     `json:"truePairs"`
	MeanPredicted float64 `json:"meanPredicted"`
	Observed      float64 `json:"observed"`
}

// StageLoss places every missed true pair and every false pair at the
// pipeline stage that caused it.
type StageLoss struct {
	// CandidateTruePairs counts true pairs that blocking made candidates;
	// PairCompleteness is their share of all true pairs.
	CandidateTruePairs int     `json:"candidateTruePairs"`
	PairCompleteness   float64 `json:"pairCompleteness"`
	// Missed true pairs (false negatives) by stage: never compared
	// (Blocking), compared but scored below the match threshold and not
	// grouped through other links (Scoring), or a link that clustering kept
	// apart (Clustering: group size, link density, a contradiction or a
	// cannot-link).
	Blocking   int `json:"blocking"`
	Scoring    int `json:"scoring"`
	Clustering int `json:"clustering"`
	// False pairs by stage: a link of their own (Scoring), or put together
	// through other links without being one (Clustering).
	FalseLinks   int `json:"falseLinks"`
	FalseChained int `json:"falseChained"`
}

// Evaluation measures a match result against known true clusters.
type Evaluation struct {
	Contacts       int     `json:"contacts"`
	Groups         int     `json:"groups"`
	TruePairs      int     `json:"truePairs"`
	PredictedPairs int     `json:"predictedPairs"`
	TP             int     `json:"tp"`
	FP             int     `json:"fp"`
	FN             int     `json:"fn"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
	// Stages is the loss per stage; it needs Result.Pairs (nil without).
	Stages *StageLoss `json:"stages,omitempty"`
	// Reliability and ECE describe the calibration of the pair
	// probabilities of Result.Pairs: ten bins of width 0.1, and the expected
	// calibration error Σ (pairs in bin / pairs) · |mean predicted -
	// observed|. ECEReported is the same over the pairs predicted at 0.5
	// or more (the pairs a review would show), and ScoredPairs the number
	// of pairs the table covers.
	Reliability []ReliabilityBin `json:"reliability,omitempty"`
	ECE         float64          `json:"ece"`
	ECEReported float64          `json:"eceReported"`
	ScoredPairs int              `json:"scoredPairs"`
	// GroupReliability bins the groups by Confidence against the share of
	// groups that are entirely one true cluster; GroupECE is its
	// calibration error.
	GroupReliability []ReliabilityBin `json:"groupReliability,omitempty"`
	GroupECE         float64          `json:"groupEce"`
	// HighReliability splits the pairs at 0.5 or more finer, where a match
	// threshold sits: [0.5,0.9), [0.9,0.99), [0.99,0.999), [0.999,0.9999),
	// [0.9999,1].
	HighReliability []ReliabilityBin `json:"highReliability,omitempty"`
}

// String renders the main figures on one line.
func (e Evaluation) String() string {
	s := fmt.Sprintf("P %.4f R %.4f F1 %.4f (tp %d fp %d fn %d)", e.Precision, e.Recall, e.F1, e.TP, e.FP, e.FN)
	if st := e.Stages; st != nil {
		s += fmt.Sprintf("; pair completeness %.4f; missed by blocking %d, scoring %d, clustering %d; false links %d, chained %d",
			st.PairCompleteness, st.Blocking, st.Scoring, st.Clustering, st.FalseLinks, st.FalseChained)
	}
	if e.ScoredPairs > 0 {
		s += fmt.Sprintf("; ECE %.4f (p>=0.5: %.4f) over %d pairs", e.ECE, e.ECEReported, e.ScoredPairs)
	}
	return s
}

// ReliabilityTable renders bins as text, one line a bin.
func ReliabilityTable(bins []ReliabilityBin) string {
	var b strings.Builder
	b.WriteString("band               pairs    true   predicted  observed\n")
	for _, r := range bins {
		if r.Pairs == 0 {
			continue
		}
		closing := ")"
		if r.Hi == 1 {
			closing = "]"
		}
		fmt.Fprintf(&b, "%-16s %7d %7d   %.4f     %.4f\n", "["+band(r.Lo)+","+band(r.Hi)+closing, r.Pairs, r.TruePairs, r.MeanPredicted, r.Observed)
	}
	return b.String()
}

// band renders a band edge with one decimal, or as many as it needs.
func band(x float64) string {
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// Evaluate compares a match result with the true clusters (lists of
// contact ids; contacts in no list are singletons): pairwise precision,
// recall and F1 of the groups, the reliability of group confidences, and,
// when res.Pairs holds the scored pairs (Config.ReportPairs), the loss per
// stage and the reliability table of the pair probabilities.
func Evaluate(res *Result, truth [][]string) Evaluation {
	var ev Evaluation
	groups := make([][]string, 0, len(res.Groups))
	for _, g := range res.Groups {
		groups = append(groups, g.Members)
	}
	ev.Contacts = res.Stats.Contacts
	ev.Groups = len(groups)
	ev.Precision, ev.Recall, ev.F1, ev.TP, ev.FP, ev.FN = PairwiseScores(groups, truth)
	ev.TruePairs = ev.TP + ev.FN
	ev.PredictedPairs = ev.TP + ev.FP
	entity := make(map[string]int, len(truth)*3)
	for e, members := range truth {
		for _, id := range members {
			entity[id] = e + 1
		}
	}
	same := func(a, b string) bool { return entity[a] != 0 && entity[a] == entity[b] }
	// Group reliability: a group is right when all its members are one
	// true cluster.
	gb := newBins()
	for _, g := range res.Groups {
		right := len(g.Members) > 1
		for _, id := range g.Members[1:] {
			if !same(g.Members[0], id) {
				right = false
				break
			}
		}
		gb.add(g.Confidence, right)
	}
	ev.GroupReliability, ev.GroupECE, _ = gb.finish()
	if len(res.Pairs) == 0 {
		return ev
	}
	group := make(map[string]int, len(groups)*3)
	for i, g := range groups {
		for _, id := range g {
			group[id] = i + 1
		}
	}
	grouped := func(a, b string) bool { return group[a] != 0 && group[a] == group[b] }
	thr := res.Stats.Model.ThresholdWeight
	st := &StageLoss{}
	pb := newBins()
	hb := newEdgeBins([]float64{0.5, 0.9, 0.99, 0.999, 0.9999, 1})
	type key [2]string
	order := func(a, b string) key {
		if a > b {
			a, b = b, a
		}
		return key{a, b}
	}
	scored := make(map[key]float64, len(res.Pairs))
	for _, p := range res.Pairs {
		t := same(p.A, p.B)
		pb.add(p.Probability, t)
		hb.add(p.Probability, t)
		scored[order(p.A, p.B)] = p.Weight
		if !t && grouped(p.A, p.B) && p.Weight >= thr {
			st.FalseLinks++
		}
	}
	ev.Reliability, ev.ECE, ev.ECEReported = pb.finish()
	ev.HighReliability = hb.finish()
	ev.ScoredPairs = len(res.Pairs)
	st.FalseChained = ev.FP - st.FalseLinks
	for _, members := range truth {
		for i := range members {
			for j := i + 1; j < len(members); j++ {
				a, b := members[i], members[j]
				w, cand := scored[order(a, b)]
				if cand {
					st.CandidateTruePairs++
				}
				if grouped(a, b) {
					continue
				}
				switch {
				case !cand:
					st.Blocking++
				case w < thr:
					st.Scoring++
				default:
					st.Clustering++
				}
			}
		}
	}
	st.PairCompleteness = 1
	if ev.TruePairs > 0 {
		st.PairCompleteness = float64(st.CandidateTruePairs) / float64(ev.TruePairs)
	}
	ev.Stages = st
	return ev
}

// bins accumulates a reliability table of ten bins of width 0.1.
type bins struct {
	n, t []int
	sum  []float64
}

func newBins() *bins { return &bins{n: make([]int, 10), t: make([]int, 10), sum: make([]float64, 10)} }

func (b *bins) add(p float64, truth bool) {
	k := min(9, max(0, int(p*10)))
	b.n[k]++
	b.sum[k] += p
	if truth {
		b.t[k]++
	}
}

// finish returns the table, the expected calibration error over all pairs
// and over the pairs at 0.5 or more.
func (b *bins) finish() (out []ReliabilityBin, ece, eceHigh float64) {
	var total, high int
	for k := range b.n {
		total += b.n[k]
		if k >= 5 {
			high += b.n[k]
		}
	}
	for k := range b.n {
		r := ReliabilityBin{Lo: float64(k) / 10, Hi: float64(k+1) / 10, Pairs: b.n[k], TruePairs: b.t[k]}
		if r.Pairs > 0 {
			r.MeanPredicted = b.sum[k] / float64(r.Pairs)
			r.Observed = float64(r.TruePairs) / float64(r.Pairs)
			gap := math.Abs(r.MeanPredicted - r.Observed)
			ece += gap * float64(r.Pairs) / float64(total)
			if k >= 5 {
				eceHigh += gap * float64(r.Pairs) / float64(high)
			}
		}
		out = append(out, r)
	}
	return out, ece, eceHigh
}

// edgeBins accumulates a reliability table over the bands between edges
// (pairs below the first edge are left out; the last band includes 1).
type edgeBins struct {
	edges []float64
	n, t  []int
	sum   []float64
}

func newEdgeBins(edges []float64) *edgeBins {
	k := len(edges) - 1
	return &edgeBins{edges: edges, n: make([]int, k), t: make([]int, k), sum: make([]float64, k)}
}

func (b *edgeBins) add(p float64, truth bool) {
	if p < b.edges[0] {
		return
	}
	k := len(b.n) - 1
	for i := range b.n {
		if p < b.edges[i+1] {
			k = i
			break
		}
	}
	b.n[k]++
	b.sum[k] += p
	if truth {
		b.t[k]++
	}
}

func (b *edgeBins) finish() []ReliabilityBin {
	out := make([]ReliabilityBin, len(b.n))
	for k := range b.n {
		r := ReliabilityBin{Lo: b.edges[k], Hi: b.edges[k+1], Pairs: b.n[k], TruePairs: b.t[k]}
		if r.Pairs > 0 {
			r.MeanPredicted = b.sum[k] / float64(r.Pairs)
			r.Observed = float64(r.TruePairs) / float64(r.Pairs)
		}
		out[k] = r
	}
	return out
}

// ReadTruth reads true clusters for Evaluate: either JSON (an array of
// arrays of contact ids, as sandbox.Org.Truth) or lines "contactId,entity"
// (CSV; an optional header line "id,entity" or any header whose first
// field is not an id in the rest is skipped only when it is literally
// "id" or "contactId"). Contacts of one entity form one cluster; blank
// lines are ignored.
func ReadTruth(r io.Reader) ([][]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("match: read truth: %w", err)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var truth [][]string
		if err := json.Unmarshal(trimmed, &truth); err != nil {
			return nil, cm.Errorf(cm.EINVALID, "match: truth JSON: %v", err)
		}
		return truth, nil
	}
	byEntity := map[string][]string{}
	var order []string
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" {
			continue
		}
		id, entity, ok := strings.Cut(line, ",")
		id, entity = strings.TrimSpace(id), strings.TrimSpace(entity)
		if n == 0 && (id == "id" || id == "contactId") {
			continue
		}
		if !ok || id == "" || entity == "" {
			return nil, cm.Errorf(cm.EINVALID, "match: truth line %d: want contactId,entity", n+1)
		}
		if _, seen := byEntity[entity]; !seen {
			order = append(order, entity)
		}
		byEntity[entity] = append(byEntity[entity], id)
	}
	truth := make([][]string, 0, len(order))
	for _, e := range order {
		truth = append(truth, byEntity[e])
	}
	return truth, nil
}
