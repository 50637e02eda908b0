package web

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

// The review queue pages through every group of the store in memory: the
// index holds each group's queue columns (store.QueueRows: state,
// confidence, members, divisions, types; no JSON beyond the member ids),
// loaded once at start and kept current by reading the ledger after the
// last row it has seen (every change of a group appends a row naming it).
// A page is one pass over the index (filter, then the Limit smallest keys
// after the cursor), a few milliseconds for 100,000 groups; its groups are
// then read from the store by id. Decisions made through the console update
// the index at once; changes made elsewhere (the engine, the CLI, match)
// within Config.LedgerPoll.

// queueIndex is the in-memory index of the review queue.
type queueIndex struct {
	st store.Store

	mu      sync.RWMutex
	rows    []store.QueueRow // in no order
	at      map[string]int   // id → index in rows
	seq     int64            // the last ledger row applied
	ready   chan struct{}
	loadErr error
}

func newQueueIndex(st store.Store) *queueIndex {
	return &queueIndex{st: st, at: map[string]int{}, ready: make(chan struct{})}
}

// run loads the index, then follows the ledger every poll until ctx ends.
func (q *queueIndex) run(ctx context.Context, poll time.Duration, onErr func(error)) {
	rows, seq, err := store.QueueRows(ctx, q.st, nil)
	q.mu.Lock()
	if err == nil {
		for _, r := range rows {
			q.putLocked(r)
		}
		q.seq = seq
	}
	q.loadErr = err
	q.mu.Unlock()
	close(q.ready)
	if err != nil {
		onErr(fmt.Errorf("loading the review queue: %w", err))
		return
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := q.follow(ctx); err != nil && ctx.Err() == nil {
			onErr(fmt.Errorf("following the ledger: %w", err))
		}
	}
}

// wait blocks until the index is loaded (or ctx ends).
func (q *queueIndex) wait(ctx context.Context) error {
	select {
	case <-q.ready:
		q.mu.RLock()
		defer q.mu.RUnlock()
		return q.loadErr
	case <-ctx.Done():
		return fmt.Errorf("the review queue is still loading (%w): reload in a moment", ctx.Err())
	}
}

// follow applies the ledger rows after the last one seen.
func (q *queueIndex) follow(ctx context.Context) error {
	q.mu.RLock()
	after := q.seq
	q.mu.RUnlock()
	changed := map[string]bool{}
	last := after
	err := q.st.Ledger(ctx, cm.LedgerFilter{AfterSeq: after, Limit: 5000}, func(ev cm.LedgerEvent) error {
		if ev.GroupID != "" {
			changed[ev.GroupID] = true
		}
		last = ev.Seq
		return nil
	})
	if err != nil || last == after {
		return err
	}
	ids := make([]string, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	if err := q.refresh(ctx, ids); err != nil {
		return err
	}
	q.mu.Lock()
	q.seq = max(q.seq, last)
	q.mu.Unlock()
	return nil
}

// refresh re-reads the rows of ids (a group that no longer exists leaves
// the index).
func (q *queueIndex) refresh(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	rows, _, err := store.QueueRows(ctx, q.st, ids)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range ids {
		q.deleteLocked(id)
	}
	for _, r := range rows {
		q.putLocked(r)
	}
	return nil
}

// putLocked adds or replaces r.
func (q *queueIndex) putLocked(r store.QueueRow) {
	if i, ok := q.at[r.ID]; ok {
		q.rows[i] = r
		return
	}
	q.at[r.ID] = len(q.rows)
	q.rows = append(q.rows, r)
}

// deleteLocked removes the row of id, moving the last row into its place.
func (q *queueIndex) deleteLocked(id string) {
	i, ok := q.at[id]
	if !ok {
		return
	}
	last := len(q.rows) - 1
	if i != last {
		q.rows[i] = q.rows[last]
		q.at[q.rows[i].ID] = i
	}
	q.rows[last] = store.QueueRow{}
	q.rows = q.rows[:last]
	delete(q.at, id)
}

// row returns the index's row of a group.
func (q *queueIndex) row(id string) (store.QueueRow, bool) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	i, ok := q.at[id]
	if !ok {
		return store.QueueRow{}, false
	}
	return q.rows[i], true
}

// size returns the number of groups indexed.
func (q *queueIndex) size() int {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return len(q.rows)
}

// withMember returns the ids of the groups that have member id.
func (q *queueIndex) withMember(id string) []string {
	q.mu.RLock()
	defer q.mu.RUnlock()
	var out []string
	for i := range q.rows {
		if r := &q.rows[i]; slices.Contains(r.Members, id) {
			out = append(out, r.ID)
		}
	}
	slices.Sort(out)
	return out
}

// queueQuery is a queue view: filters, order and position.
type queueQuery struct {
	States         []cm.GroupState
	MinConf        *float64
	MaxConf        *float64
	MinSize        int
	MaxSize        int
	Division, Type string
	Sort           string // review.SortKeys; "" is "review"
	After, Before  string // cursors
	Limit          int
}

// defaultQueueStates is the queue's default selection: the groups a person
// decides.
func defaultQueueStates() []cm.GroupState { return []cm.GroupState{cm.StateProposed} }

// parseQueueQuery reads a queue view from URL parameters: state (repeated
// or comma-separated; "all" for every state; default proposed), min, max
// (confidence), minsize, maxsize, division, type, sort, after, before,
// limit. EINVALID names the bad parameter.
func parseQueueQuery(v url.Values) (queueQuery, error) {
	q := queueQuery{Sort: v.Get("sort"), Division: strings.TrimSpace(v.Get("division")), Type: strings.TrimSpace(v.Get("type")),
		After: v.Get("after"), Before: v.Get("before")}
	states := v["state"]
	switch {
	case len(states) == 0:
		q.States = defaultQueueStates()
	case len(states) == 1 && states[0] == "all":
	default:
		for _, s := range states {
			for part := range strings.SplitSeq(s, ",") {
				st := cm.GroupState(strings.TrimSpace(part))
				if st == "" {
					continue
				}
				if !st.Valid() {
					return q, cm.Errorf(cm.EINVALID, "state: %q is not a group state", st)
				}
				if !slices.Contains(q.States, st) {
					q.States = append(q.States, st)
				}
			}
		}
	}
	if err := review.CheckSort(q.Sort); err != nil {
		return q, cm.Errorf(cm.EINVALID, "sort: %q is not one of %s", q.Sort, strings.Join(review.SortKeys, ", "))
	}
	for _, p := range []struct {
		name string
		dst  **float64
	}{{"min", &q.MinConf}, {"max", &q.MaxConf}} {
		if s := strings.TrimSpace(v.Get(p.name)); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f < 0 || f > 1 {
				return q, cm.Errorf(cm.EINVALID, "%s: confidence %q is not a number from 0 to 1", p.name, s)
			}
			*p.dst = &f
		}
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"minsize", &q.MinSize}, {"maxsize", &q.MaxSize}, {"limit", &q.Limit}} {
		if s := strings.TrimSpace(v.Get(p.name)); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return q, cm.Errorf(cm.EINVALID, "%s: %q is not a whole number", p.name, s)
			}
			*p.dst = n
		}
	}
	if q.After != "" && q.Before != "" {
		return q, cm.Errorf(cm.EINVALID, "after and before: give one of them")
	}
	for _, c := range []string{q.After, q.Before} {
		if c != "" {
			if _, _, err := parseCursor(c); err != nil {
				return q, err
			}
		}
	}
	if q.Limit == 0 || q.Limit > 500 {
		q.Limit = 50
	}
	return q, nil
}

// values returns the URL parameters of q's filters and order (not its
// position), the inverse of parseQueueQuery.
func (q queueQuery) values() url.Values {
	v := url.Values{}
	switch {
	case len(q.States) == 0:
		v.Set("state", "all")
	case !slices.Equal(q.States, defaultQueueStates()):
		for _, s := range q.States {
			v.Add("state", string(s))
		}
	}
	if q.MinConf != nil {
		v.Set("min", strconv.FormatFloat(*q.MinConf, 'g', -1, 64))
	}
	if q.MaxConf != nil {
		v.Set("max", strconv.FormatFloat(*q.MaxConf, 'g', -1, 64))
	}
	if q.MinSize > 0 {
		v.Set("minsize", strconv.Itoa(q.MinSize))
	}
	if q.MaxSize > 0 {
		v.Set("maxsize", strconv.Itoa(q.MaxSize))
	}
	if q.Division != "" {
		v.Set("division", q.Division)
	}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.Sort != "" && q.Sort != "review" {
		v.Set("sort", q.Sort)
	}
	return v
}

// match reports whether r passes q's filters.
func (q queueQuery) match(r *store.QueueRow) bool {
	switch {
	case len(q.States) > 0 && !slices.Contains(q.States, r.State),
		q.MinConf != nil && r.Confidence < *q.MinConf,
		q.MaxConf != nil && r.Confidence > *q.MaxConf,
		q.MinSize > 0 && len(r.Members) < q.MinSize,
		q.MaxSize > 0 && len(r.Members) > q.MaxSize,
		q.Division != "" && !slices.Contains(r.Divisions, q.Division),
		q.Type != "" && !slices.ContainsFunc(r.Types, func(t string) bool { return strings.EqualFold(t, q.Type) }):
		return false
	}
	return true
}

// sortKey is a row's position in the order of sort (review.List's orders,
// ties on the id): rows are ordered by (key, id).
func sortKey(sort string, threshold float64, r *store.QueueRow) float64 {
	switch sort {
	case "confidence":
		return r.Confidence
	case "-confidence":
		return -r.Confidence
	case "size":
		return float64(len(r.Members))
	case "-size":
		return -float64(len(r.Members))
	case "state":
		if i := slices.Index(cm.AllStates, r.State); i >= 0 {
			return float64(i)
		}
		return float64(len(cm.AllStates))
	case "id":
		return 0
	}
	// "review": proposed groups below the threshold (they need a person)
	// first, least confident first, then every other group by confidence.
	if needsReview(r, threshold) {
		return r.Confidence
	}
	return 2 + r.Confidence
}

// needsReview reports whether a group needs a person: proposed, below the
// approve threshold.
func needsReview(r *store.QueueRow, threshold float64) bool {
	return r.State == cm.StateProposed && r.Confidence < threshold
}

// position is a row's place in an order.
type position struct {
	key float64
	id  string
}

func (p position) compare(b position) int {
	return cmp.Or(cmp.Compare(p.key, b.key), strings.Compare(p.id, b.id))
}

// cursor is the position as a URL parameter.
func (p position) cursor() string { return strconv.FormatFloat(p.key, 'g', -1, 64) + "~" + p.id }

// parseCursor reads a cursor.
func parseCursor(c string) (float64, string, error) {
	k, id, ok := strings.Cut(c, "~")
	key, err := strconv.ParseFloat(k, 64)
	if !ok || err != nil || id == "" {
		return 0, "", cm.Errorf(cm.EINVALID, "queue position %q does not parse", c)
	}
	return key, id, nil
}

// queueResult is one page of the queue.
type queueResult struct {
	Rows []queueRow
	// Total counts the rows q's filters select, NeedReview those of them
	// that need a person.
	Total, NeedReview int
	// HasPrev and HasNext say whether rows come before the first row and
	// after the last.
	HasPrev, HasNext bool
}

// queueRow is a row of a page with its position.
type queueRow struct {
	store.QueueRow
	Pos         position
	NeedsReview bool
}

// page returns the page q selects: one pass over the index keeping the
// Limit nearest rows after (or before) the cursor.
func (q *queueIndex) page(qq queueQuery, threshold float64) queueResult {
	var res queueResult
	limit := qq.Limit
	if limit <= 0 {
		limit = 50
	}
	var from position
	hasFrom, backward := false, false
	for _, c := range []struct {
		s    string
		back bool
	}{{qq.After, false}, {qq.Before, true}} {
		if c.s != "" {
			key, id, err := parseCursor(c.s)
			if err == nil {
				from, hasFrom, backward = position{key, id}, true, c.back
			}
		}
	}
	// h keeps the limit+1 rows nearest the cursor: a heap whose top is the
	// farthest of them, replaced only by a nearer row (a few hundred times
	// in a pass over 100,000 rows).
	h := &candHeap{backward: backward}
	outside := 0 // rows before the cursor (after it, going backward)
	q.mu.RLock()
	for i := range q.rows {
		r := &q.rows[i]
		if !qq.match(r) {
			continue
		}
		res.Total++
		if needsReview(r, threshold) {
			res.NeedReview++
		}
		p := position{sortKey(qq.Sort, threshold, r), r.ID}
		if hasFrom {
			c := p.compare(from)
			if (!backward && c <= 0) || (backward && c >= 0) {
				outside++
				continue
			}
		}
		if h.Len() == limit+1 && !h.nearer(p, h.c[0].pos) {
			continue
		}
		heap.Push(h, cand{pos: p, i: i})
		if h.Len() > limit+1 {
			heap.Pop(h)
		}
	}
	rows := make([]queueRow, len(h.c))
	for k, c := range h.c {
		r := q.rows[c.i]
		rows[k] = queueRow{QueueRow: r, Pos: c.pos, NeedsReview: needsReview(&r, threshold)}
	}
	q.mu.RUnlock()
	slices.SortFunc(rows, func(a, b queueRow) int { return a.Pos.compare(b.Pos) })
	more := len(rows) > limit
	if backward {
		if more {
			rows = rows[1:]
		}
		res.HasPrev, res.HasNext = more, outside > 0
	} else {
		if more {
			rows = rows[:limit]
		}
		res.HasPrev, res.HasNext = outside > 0, more
	}
	res.Rows = rows
	return res
}

// neighbour returns the first row after (next) or before the position of
// group id in qq's order, among the rows qq selects; ok false when there is
// none. The group itself need not be selected any more (it was just
// decided).
func (q *queueIndex) neighbour(qq queueQuery, threshold float64, at position, next bool) (queueRow, bool) {
	qq.After, qq.Before, qq.Limit = "", "", 1
	if next {
		qq.After = at.cursor()
	} else {
		qq.Before = at.cursor()
	}
	res := q.page(qq, threshold)
	if len(res.Rows) == 0 {
		return queueRow{}, false
	}
	return res.Rows[0], true
}

// cand is a row of the index that may be on the page.
type cand struct {
	pos position
	i   int // index in queueIndex.rows
}

// candHeap is a heap of candidates whose top is the one farthest from the
// cursor.
type candHeap struct {
	c        []cand
	backward bool
}

// nearer reports whether a is nearer the cursor than b.
func (h *candHeap) nearer(a, b position) bool {
	if h.backward {
		return a.compare(b) > 0
	}
	return a.compare(b) < 0
}

func (h *candHeap) Len() int           { return len(h.c) }
func (h *candHeap) Less(i, j int) bool { return h.nearer(h.c[j].pos, h.c[i].pos) }
func (h *candHeap) Swap(i, j int)      { h.c[i], h.c[j] = h.c[j], h.c[i] }
func (h *candHeap) Push(x any)         { h.c = append(h.c, x.(cand)) }
func (h *candHeap) Pop() any {
	n := len(h.c)
	x := h.c[n-1]
	h.c = h.c[:n-1]
	return x
}
