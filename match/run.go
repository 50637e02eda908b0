package match

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Input is where Run reads contacts from. cm.Store satisfies it.
type Input interface {
	// EachNorm calls fn with every contact's id and stored normalized form
	// (nil when it has none).
	EachNorm(ctx context.Context, fn func(id string, norm []byte) error) error
	// Contacts returns the contacts with the given ids. Run calls it from
	// Config.Workers goroutines at once.
	Contacts(ctx context.Context, ids []string) (map[string]cm.Contact, error)
}

// Result is the outcome of a match run.
type Result struct {
	// Groups are the proposed merge groups, ordered by id: State proposed,
	// ID = cm.GroupID(Members), Members sorted, SurvivorID, Merged (the
	// valueOverride), Unkept, Confidence (the weakest joining link's match
	// probability) and Explanation (the joining links with every field's
	// contribution).
	Groups []cm.Group
	Stats  Stats
	// Pairs lists every scored candidate pair when Config.ReportPairs is
	// set (for Evaluate: the loss per stage and the reliability table).
	Pairs []ScoredPair
	// Mode says how Match ran and why (zero for Run).
	Mode Mode
	// Unchanged are the ids of the groups an incremental match kept from
	// the last match (their contacts, links and decisions did not change);
	// Groups holds the others. Nil for a full match, whose Groups are all.
	Unchanged []string
	// Changes counts what an incremental match found changed.
	Changes Changes
}

// Stats describes a match run.
type Stats struct {
	Contacts int `json:"contacts"`
	// Normalized counts the contacts this run normalized from their JSON
	// because they had no usable stored norm: none, an old NormVersion, or
	// one made under other normalization settings (NormFingerprint).
	Normalized     int `json:"normalized"`
	Blocks         int `json:"blocks"`
	SkippedBlocks  int `json:"skippedBlocks"`
	CandidatePairs int `json:"candidatePairs"` // distinct pairs from all blocking rules
	// Comparisons counts every pair comparison: candidates, the random u
	// sample and the cross-cluster checks of clustering.
	Comparisons int `json:"comparisons"`
	Links       int `json:"links"` // candidate pairs at or above MatchThreshold
	Groups      int `json:"groups"`
	// SplitGroups counts connected components of the link graph that
	// anti-chaining, conflicts or MaxGroupSize divided into several groups.
	SplitGroups int `json:"splitGroups"`
	// RefusedJoins counts cluster joins refused, by reason.
	RefusedJoins map[string]int `json:"refusedJoins"`
	Rules        []RuleStats    `json:"rules"`
	// Skipped lists the largest skipped blocks (at most 20).
	Skipped []SkippedBlock `json:"skipped,omitempty"`
	// Durations of the phases: normalize, block, em, score, cluster, survive.
	Durations map[string]time.Duration `json:"durations"`
	// ComparisonsPerSecondPerCore is the candidate comparisons of the score
	// phase divided by its wall time and the workers used.
	ComparisonsPerSecondPerCore float64 `json:"comparisonsPerSecondPerCore"`
	Workers                     int     `json:"workers"`
	Model                       Model   `json:"model"`
}

// String renders the main figures on one line.
func (s Stats) String() string {
	return fmt.Sprintf("%d contacts, %d candidate pairs (%d blocks, %d skipped), %d links, %d groups (%d split), %.0f comparisons/s/core",
		s.Contacts, s.CandidatePairs, s.Blocks, s.SkippedBlocks, s.Links, s.Groups, s.SplitGroups, s.ComparisonsPerSecondPerCore)
}

// Run matches every contact of in: it reads the stored norms (normalizing
// contacts whose norm is missing, of an old version or made under other
// normalization settings than cfg's, see NormFingerprint; Stats.Normalized
// counts them), generates candidate pairs, learns the model, scores,
// clusters and runs survivorship on the groups' members (fetched with
// in.Contacts).
func Run(ctx context.Context, in Input, cfg Config) (*Result, error) {
	res, _, err := runFull(ctx, in, cfg, nil, false)
	return res, err
}

// runFull is a full match: every contact is read, blocked and compared.
// With km, the kept model scores (no estimation); without, the model is
// estimated on the contacts. With keep, it also returns the match state
// of the result (in must then be a StateInput).
func runFull(ctx context.Context, in Input, cfg Config, km *keptModel, keep bool) (*Result, *State, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	var mark *writeMark
	var stamps []stamp
	if keep {
		si, ok := in.(StateInput)
		if !ok {
			return nil, nil, fmt.Errorf("match: keeping a match state needs a StateInput")
		}
		var err error
		if mark, err = readWriteMark(ctx, si); err != nil {
			return nil, nil, err
		}
		// The stamps are read before the norms, not beside them: a contact
		// edited after its norm was read must not get its new modifyDate
		// with the old norm in the state (the next match would keep the
		// old norm); fullState relies on this order.
		if stamps, _, err = readStamps(ctx, si, 0); err != nil {
			return nil, nil, err
		}
	}
	stats := Stats{Durations: map[string]time.Duration{}, RefusedJoins: map[string]int{}, Workers: cfg.workers()}
	t0 := time.Now()
	normer := newNormalizer(cfg)
	fp := normer.fp // stored norms made under other settings are re-normalized
	d := newDataset()
	var missing []string
	// Reading (the store's I/O and decoding) and interning overlap: the
	// callback copies norms into batches that another goroutine interns.
	type batch struct {
		ids   []string
		arena []byte
		off   []int
		users atomic.Int32 // interning goroutines not done with it
	}
	// Batches are reused once both goroutines are done with them (the
	// reading allocated ~0.9 GB of batches at 1M contacts otherwise).
	free := make(chan *batch, 16)
	newBatch := func() *batch {
		select {
		case b := <-free:
			b.ids, b.arena, b.off = b.ids[:0], b.arena[:0], b.off[:1]
			return b
		default:
			return &batch{ids: make([]string, 0, batchSize), arena: make([]byte, 0, 256*batchSize), off: append(make([]int, 0, batchSize+1), 0)}
		}
	}
	release := func(b *batch) {
		if b.users.Add(-1) == 0 {
			select {
			case free <- b:
			default:
			}
		}
	}
	if cc, ok := in.(interface {
		CountContacts(context.Context) (int64, error)
	}); ok {
		if n, err := cc.CountContacts(ctx); err == nil {
			d.presize(int(n))
		}
	}
	// Two goroutines intern disjoint columns of every batch.
	var batches [2]chan *batch
	interned := make(chan []string)
	n1 := make(chan int)
	for part := range 2 {
		batches[part] = make(chan *batch, 4)
		go func() {
			var miss []string
			r := 0
			for b := range batches[part] {
				for k, id := range b.ids {
					norm := b.arena[b.off[k]:b.off[k+1]]
					if !usableNorm(norm, fp) {
						if part == 0 {
							miss = append(miss, id)
						}
						continue
					}
					d.addPart(r, norm, part)
					if part == 0 {
						d.ids = append(d.ids, id)
						d.hash = append(d.hash, normHash(norm))
					}
					r++
				}
				release(b)
			}
			if part == 0 {
				interned <- miss
			} else {
				n1 <- r
			}
		}()
	}
	send := func(b *batch) error {
		b.users.Store(int32(len(batches)))
		for _, ch := range batches {
			select {
			case ch <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	cur := newBatch()
	err := in.EachNorm(ctx, func(id string, norm []byte) error {
		cur.ids = append(cur.ids, id)
		cur.arena = append(cur.arena, norm...)
		cur.off = append(cur.off, len(cur.arena))
		if len(cur.ids) == batchSize {
			if err := send(cur); err != nil {
				return err
			}
			cur = newBatch()
		}
		return nil
	})
	if err == nil {
		err = send(cur)
	}
	close(batches[0])
	close(batches[1])
	missing = <-interned
	<-n1
	d.n = len(d.ids)
	if err != nil {
		return nil, nil, fmt.Errorf("match: read norms: %w", err)
	}
	if len(missing) > 0 {
		if err := normalizeMissing(ctx, in, normer, d, missing, cfg.workers()); err != nil {
			return nil, nil, err
		}
		stats.Normalized = len(missing)
	}
	d.finish()
	d.clusterOrder()
	var cons []cm.PairConstraint
	if d.pc, cons, err = loadConstraints(ctx, in, d); err != nil {
		return nil, nil, err
	}
	stats.Durations["normalize"] = time.Since(t0)
	md, err := matchDataset(ctx, d, &cfg, &stats, km, keep)
	if err != nil {
		return nil, nil, err
	}
	clusters, sc := md.clusters, md.s
	t1 := time.Now()
	groups, err := buildGroups(ctx, d, sc, clusters, &cfg, func(ctx context.Context, ids []string) (map[string]cm.Contact, error) {
		return in.Contacts(ctx, ids)
	})
	if err != nil {
		return nil, nil, err
	}
	d.pc.annotate(groups)
	stats.Durations["survive"] = time.Since(t1)
	stats.Groups = len(groups)
	res := &Result{Groups: groups, Stats: stats, Pairs: sc.reportedPairs()}
	if !keep {
		return res, nil, nil
	}
	if km == nil {
		km = keepModel(sc, stats.Model)
	}
	st := fullState(d, &cfg, km, md, cons, mark, stamps)
	return res, st, nil
}

// batchSize is the number of norms runFull reads into one batch.
const batchSize = 8192

// normalizeMissing fetches the contacts without a usable stored norm from
// in, normalizes them with n and adds them to d in the order of missing.
// Workers goroutines fetch and normalize batches of 1000 at once (all the
// norms of a store written under another config can be missing).
func normalizeMissing(ctx context.Context, in Input, n *normalizer, d *dataset, missing []string, workers int) error {
	const size = 1000
	batches := (len(missing) + size - 1) / size
	workers = max(1, min(workers, batches))
	for lo := 0; lo < batches; lo += workers {
		hi := min(batches, lo+workers)
		norms := make([][][]byte, hi-lo)
		errs := make([]error, hi-lo)
		var wg sync.WaitGroup
		for k := lo; k < hi; k++ {
			wg.Go(func() {
				ids := missing[k*size : min(len(missing), (k+1)*size)]
				cs, err := in.Contacts(ctx, ids)
				if err != nil {
					errs[k-lo] = err
					return
				}
				out := make([][]byte, len(ids))
				for i, id := range ids {
					if c, ok := cs[id]; ok {
						out[i] = n.encoded(&c)
					}
				}
				norms[k-lo] = out
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("match: read contacts: %w", err)
			}
		}
		for k := lo; k < hi; k++ {
			for i, b := range norms[k-lo] {
				if b != nil {
					d.addEncoded(missing[k*size+i], b, n.fp)
				}
			}
		}
	}
	return nil
}

// matched is what matchDataset found.
type matched struct {
	clusters []*cluster
	s        *scorer
	// links are the candidate pairs at or above the threshold, and entries
	// each rule's sorted keys (with keep).
	links   []link
	entries [][]blockEntry
}

// matchDataset runs blocking, u estimation, comparison, EM, scoring and
// clustering; with km, the kept model scores and nothing is estimated.
// With keep, the result holds the blocking keys.
func matchDataset(ctx context.Context, d *dataset, cfg *Config, stats *Stats, km *keptModel, keep bool) (*matched, error) {
	stats.Contacts = d.n
	nick := newNicknames(cfg.Nicknames)
	workers := cfg.workers()

	t := time.Now()
	br, err := block(ctx, d, cfg, nick, keep)
	if err != nil {
		return nil, err
	}
	stats.Durations["block"] = time.Since(t)
	stats.CandidatePairs = len(br.pairs)
	stats.Blocks = br.blocks
	stats.Rules = br.stats
	for _, r := range br.stats {
		stats.SkippedBlocks += r.SkippedBlocks
	}
	if len(br.skipped) > 20 {
		br.skipped = br.skipped[:20]
	}
	stats.Skipped = br.skipped

	var s *scorer
	t = time.Now()
	if km == nil {
		s = newScorer(d, cfg, nick)
		stats.Model.USample = s.estimateU(ctx, cfg)
	} else {
		s = km.scorer(d, cfg, nick)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pids, pt, err := s.compareCandidates(ctx, br.pairs, workers)
	if err != nil {
		return nil, err
	}
	scoreTime := time.Since(t)
	t = time.Now()
	if km == nil {
		s.estimate(ctx, d, cfg, stats, pt, pids, br)
	} else {
		stats.Model = km.Model
		stats.Model.Patterns = len(pt.pats)
	}
	br.perRule = nil // free the training samples
	thr := weightAt(cfg.MatchThreshold)
	stats.Model.ThresholdWeight = thr
	stats.Durations["em"] = time.Since(t)

	t = time.Now()
	patW := make([]float64, len(pt.pats))
	needsTF := make([]bool, len(pt.pats))
	for pi, p := range pt.pats {
		needsTF[pi] = s.needsTF(p)
		patW[pi] = s.prior + s.patternWeight(p)
	}
	linksPer := make([][]link, workers)
	reported := make([][]link, workers)
	var wg sync.WaitGroup
	chunk := (len(br.pairs) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min(len(br.pairs), (w+1)*chunk)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lv []uint8
			for q := lo; q < hi; q++ {
				pi := pids[q]
				wt := patW[pi]
				i, j := int32(br.pairs[q]>>32), int32(br.pairs[q]&0xffffffff)
				if needsTF[pi] {
					lv = pt.pats[pi]
					wt = s.weight(i, j, lv)
				}
				if wt >= thr {
					linksPer[w] = append(linksPer[w], link{i, j, wt})
				}
				if cfg.ReportPairs {
					reported[w] = append(reported[w], link{i, j, wt})
				}
			}
		}()
	}
	wg.Wait()
	var links []link
	for _, l := range linksPer {
		links = append(links, l...)
	}
	for _, r := range reported {
		s.reported = append(s.reported, r...)
	}
	scoreTime += time.Since(t)
	stats.Durations["score"] = scoreTime
	stats.Links = len(links)
	if sec := scoreTime.Seconds(); sec > 0 {
		stats.ComparisonsPerSecondPerCore = float64(len(br.pairs)+stats.Model.USample) / sec / float64(workers)
	}
	// Only the links are needed from here on.
	br.pairs, pids = nil, nil

	t = time.Now()
	cannot := math.Inf(-1)
	if cfg.CannotLinkWeight < 0 {
		cannot = s.prior + cfg.CannotLinkWeight
	}
	clusters, cst, err := clusterLinks(ctx, s.score, slices.Clone(links), d.rank, cfg.MaxGroupSize, cfg.MinLinkDensity, thr, cannot, d.pc)
	if err != nil {
		return nil, err
	}
	stats.Durations["cluster"] = time.Since(t)
	cst.record(stats)
	stats.Comparisons = stats.CandidatePairs + stats.Model.USample + cst.crossComparisons
	return &matched{clusters: clusters, s: s, links: links, entries: br.entries}, nil
}

// needsTF reports whether the weight of a pair with comparison vector lv
// depends on the values compared (a term-frequency comparator agrees
// exactly).
func (s *scorer) needsTF(lv []uint8) bool {
	for k, c := range s.comps {
		l := lv[k]
		if _, fixed := c.fixed[int(l)]; l == 0 && c.tf && !fixed && tfable(c.levels[0].kind) {
			return true
		}
	}
	return false
}

// pairWeight returns the weight of (i, j) as matchDataset computes a
// candidate's (lv is scratch space).
func (s *scorer) pairWeight(i, j int32, lv []uint8) float64 {
	s.levels(i, j, lv)
	if s.needsTF(lv) {
		return s.weight(i, j, lv)
	}
	return s.prior + s.patternWeight(lv)
}

// estimate learns the model on the candidate pairs' patterns: m and the
// prior by EM, the u and term-frequency corrections and the labels.
func (s *scorer) estimate(ctx context.Context, d *dataset, cfg *Config, stats *Stats, pt *patternTable, pids []uint32, br *blockResult) {
	iters, conv := s.train(pt, pids, br.pairs, br.perRule, cfg.Blocking, cfg.EMIterations)
	s.finishWeights()
	// Global prior: expected matches among candidates over all pairs that
	// could match (pairs within a division unless CrossDivision).
	var allPairs float64
	if cfg.CrossDivision {
		allPairs = float64(d.n) * float64(d.n-1) / 2
	} else {
		for _, c := range d.divs.counts {
			allPairs += float64(c) * float64(c-1) / 2
		}
	}
	lambda, lambdaC := s.refine(ctx, pt, pids, br.pairs, allPairs, cfg)
	stats.Model.Lambda = lambda
	stats.Model.CandidateLambda = lambdaC
	stats.Model.PriorWeight = s.prior
	stats.Model.EMIterations = iters
	stats.Model.Converged = conv
	stats.Model.Patterns = len(pt.pats)
	stats.Model.Fields = s.model()
	stats.Model.Labels, stats.Model.LabelShift = s.labelled, s.labelShift
}
