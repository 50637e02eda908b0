package web

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
)

// ---- overview ----

// overviewData is the overview's live block.
type overviewData struct {
	Now         time.Time
	Contacts    int64
	Groups      int
	States      []stateCount
	Run         *RunStatus
	Runnable    int
	Merged      int
	Quarantined int
	Failed      int
	NeedReview  int
	ETA         string
	Rate        float64
	Charts      []template.HTML
	Sampled     bool
}

type stateCount struct {
	State cm.GroupState
	N     int
	Pct   float64
}

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) error {
	d := s.overview()
	if r.URL.Query().Get("partial") == "1" {
		return s.renderPartial(w, "overview", map[string]any{"Live": d})
	}
	s.render(w, r, "overview", map[string]any{"Title": "Overview", "Live": d})
	return nil
}

func (s *Server) overview() overviewData {
	d := overviewData{Now: s.now()}
	samples := s.series.all()
	if len(samples) > 0 {
		last := samples[len(samples)-1]
		d.Sampled = true
		d.Contacts = last.Contacts
		for _, st := range cm.AllStates {
			d.Groups += last.Counts[st]
		}
		for _, st := range cm.AllStates {
			if n := last.Counts[st]; n > 0 {
				d.States = append(d.States, stateCount{State: st, N: n, Pct: 100 * float64(n) / float64(max(d.Groups, 1))})
			}
		}
		c := last.Counts
		d.Runnable = c[cm.StateApproved] + c[cm.StateReady] + c[cm.StateInFlight] + c[cm.StateUnknown]
		d.Merged, d.Quarantined, d.Failed = c[cm.StateMerged], c[cm.StateQuarantined], c[cm.StateFailed]
	}
	rt := derive(samples)
	d.Rate = rt.RecentMergesRate
	switch {
	case d.Runnable == 0:
		d.ETA = "nothing to merge"
	case d.Rate <= 0:
		d.ETA = "unknown (no merges in the last minutes)"
	default:
		eta := time.Duration(float64(d.Runnable) / d.Rate * float64(time.Minute))
		d.ETA = "about " + eta.Round(time.Second).String() + fmt.Sprintf(" at %.1f merges/min", d.Rate)
	}
	if s.cfg.Run != nil {
		st := s.cfg.Run.Status()
		d.Run = &st
	}
	if s.queue.size() > 0 {
		d.NeedReview = s.queue.page(queueQuery{States: defaultQueueStates(), Limit: 1}, s.cfg.ApproveThreshold).NeedReview
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	pct := func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }
	d.Charts = []template.HTML{
		lineChart("Merges per minute", rt.At, []line{{Name: "merges in the last minute", Values: rt.MergesPerMin, Color: "#2f9e44"}}, 1, num),
		lineChart("Requests per minute", rt.At, []line{
			{Name: "requests in the last minute", Values: rt.RequestsPerMin, Color: "#1c7ed6"},
			{Name: "budget per window", Values: rt.BudgetPerMin, Color: "#e8590c", Dashed: true}}, 10, num),
		lineChart("Throttled share", rt.At, []line{{Name: "429s in the last minute", Values: rt.ThrottledShare, Color: "#e03131"}}, 0.05, pct),
		lineChart("Concurrency", rt.At, []line{
			{Name: "limit", Values: rt.Concurrency, Color: "#7048e8"},
			{Name: "in progress", Values: rt.InUse, Color: "#0ca678"}}, 1, num),
	}
	return d
}

// ---- queue ----

// queuePage is the data of the queue page.
type queuePage struct {
	Q         queueQuery
	QS        string // the view's filters as a query string
	Res       queueResult
	Names     map[string]string
	Survivors map[string]string
	Versions  map[string]int64
	Prev      string // URL of the previous page ("" : none)
	Next      string
	States    []cm.GroupState
	Sorts     []string
	Types     []string
	Threshold float64
	MinStr    string
	MaxStr    string
}

func (s *Server) handleQueue(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQueueQuery(r.URL.Query())
	if err != nil {
		return errBadRequest(err.Error())
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if err := s.queue.wait(ctx); err != nil {
		return err
	}
	res := s.queue.page(q, s.cfg.ApproveThreshold)
	p := queuePage{Q: q, QS: q.values().Encode(), Res: res, States: cm.AllStates, Sorts: review.SortKeys,
		Types: []string{cm.TypeCurated, cm.TypeIdentified, cm.TypeEphemeral}, Threshold: s.cfg.ApproveThreshold,
		Names: map[string]string{}, Survivors: map[string]string{}, Versions: map[string]int64{}}
	if q.MinConf != nil {
		p.MinStr = strconv.FormatFloat(*q.MinConf, 'g', -1, 64)
	}
	if q.MaxConf != nil {
		p.MaxStr = strconv.FormatFloat(*q.MaxConf, 'g', -1, 64)
	}
	ids := make([]string, len(res.Rows))
	for i, row := range res.Rows {
		ids[i] = row.ID
	}
	groups, err := s.st.Groups(r.Context(), cm.GroupFilter{IDs: ids})
	if err != nil {
		return err
	}
	for _, g := range groups {
		if g.Merged != nil {
			p.Names[g.ID] = strings.TrimSpace(g.Merged.FirstName + " " + g.Merged.LastName)
		}
		p.Survivors[g.ID], p.Versions[g.ID] = g.SurvivorID, g.Version
	}
	link := func(k, cur string) string {
		v := q.values()
		v.Set(k, cur)
		return "/queue?" + v.Encode()
	}
	if res.HasPrev && len(res.Rows) > 0 {
		p.Prev = link("before", res.Rows[0].Pos.cursor())
	}
	if res.HasNext && len(res.Rows) > 0 {
		p.Next = link("after", res.Rows[len(res.Rows)-1].Pos.cursor())
	}
	s.render(w, r, "queue", map[string]any{"Title": "Review queue", "P": p})
	return nil
}

// handleQueueStep goes to the group after (dir=next) or before (dir=prev)
// the position at in the queue view of the URL, or back to the queue when
// there is none.
func (s *Server) handleQueueStep(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	q, err := parseQueueQuery(v)
	if err != nil {
		return errBadRequest(err.Error())
	}
	key, id, err := parseCursor(v.Get("at"))
	if err != nil {
		return errBadRequest(err.Error())
	}
	if err := s.queue.wait(r.Context()); err != nil {
		return err
	}
	s.redirectStep(w, r, q, position{key, id}, v.Get("dir") != "prev", v.Get("flash"))
	return nil
}

// redirectStep redirects to the neighbour of at in q's order, carrying the
// view and a flash code.
func (s *Server) redirectStep(w http.ResponseWriter, r *http.Request, q queueQuery, at position, next bool, flash string) {
	v := q.values()
	if flash != "" {
		v.Set("flash", flash)
	}
	if row, ok := s.queue.neighbour(q, s.cfg.ApproveThreshold, at, next); ok {
		http.Redirect(w, r, "/groups/"+url.PathEscape(row.ID)+"?"+v.Encode(), http.StatusSeeOther)
		return
	}
	if next {
		v.Set("flash", flash+"|end")
	} else {
		v.Set("flash", flash+"|start")
	}
	http.Redirect(w, r, "/queue?"+v.Encode(), http.StatusSeeOther)
}

// ---- group ----

// groupPage is the data of a group page.
type groupPage struct {
	View        review.GroupView
	G           cm.Group
	Labels      map[string]string
	QS          string
	Prev, Next  string
	CanApprove  bool // proposed or rejected: a steward approves
	CanReject   bool
	CanRelease  bool
	Provenance  []provRow
	Unkept      []match.ValueFate
	Other       []match.ValueFate // duplicates and overridden values
	Charts      []template.HTML
	Notes       []string
	Decisions   []cm.Decision
	Constraints []cm.PairConstraint
	TakeFields  map[string]bool
	Reason      string
	Types       map[string]string
	Divisions   map[string]string
}

// provRow is one field of the merged record and where its value came from.
type provRow struct {
	Field, Value, From, Note string
}

func (s *Server) handleGroup(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	g, err := s.st.Group(r.Context(), id)
	if cm.IsCode(err, cm.ENOTFOUND) {
		return errNotFound("There is no group " + id + ": it never existed, or a later match superseded it (search the ledger for it).")
	}
	if err != nil {
		return err
	}
	q, err := parseQueueQuery(r.URL.Query())
	if err != nil {
		return errBadRequest(err.Error())
	}
	v, err := review.ViewGroup(r.Context(), s.st, g, s.survive)
	if err != nil {
		return err
	}
	p := groupPage{View: v, G: g, Labels: map[string]string{}, QS: q.values().Encode(), TakeFields: map[string]bool{},
		Types: map[string]string{}, Divisions: map[string]string{}}
	for _, m := range v.Members {
		p.Labels[m.ID] = m.Label
		if m.Contact != nil {
			p.Types[m.ID], p.Divisions[m.ID] = m.Contact.Type, m.Contact.DivisionID()
		}
	}
	for _, f := range match.TakeFields() {
		p.TakeFields[f] = true
	}
	p.CanReject = cm.CanTransition(g.State, cm.StateRejected)
	p.CanApprove = g.State == cm.StateProposed || g.State == cm.StateRejected
	p.CanRelease = g.State == cm.StateQuarantined || g.State == cm.StateFailed
	p.Reason = v.Survival.Reason(func(id string) string { return cmp.Or(p.Labels[id], id) })
	for _, f := range v.Survival.Fates {
		switch f.Fate {
		case match.FateKept, match.FateMoved:
			note := ""
			if f.Fate == match.FateMoved {
				note = "moved from " + f.Field
				if f.Why != "" {
					note += ": " + f.Why
				}
			}
			p.Provenance = append(p.Provenance, provRow{Field: f.To, Value: f.Value, From: cmp.Or(p.Labels[f.ContactID], f.ContactID), Note: note})
		case match.FateUnkept:
			p.Unkept = append(p.Unkept, f)
		default:
			p.Other = append(p.Other, f)
		}
	}
	if g.Explanation != nil {
		for _, l := range g.Explanation.Links {
			p.Charts = append(p.Charts, waterfall(l, func(id string) string { return cmp.Or(p.Labels[id], id) }))
		}
		p.Notes = g.Explanation.Notes
	}
	if p.Decisions, err = s.st.Decisions(r.Context(), g.ID); err != nil {
		return err
	}
	if p.Constraints, err = review.ConstraintsFor(r.Context(), s.st, g); err != nil {
		return err
	}
	if err := s.queue.wait(r.Context()); err == nil {
		at := s.position(q, g)
		vals := q.values()
		vals.Set("at", at.cursor())
		if _, ok := s.queue.neighbour(q, s.cfg.ApproveThreshold, at, false); ok {
			vals.Set("dir", "prev")
			p.Prev = "/queue/next?" + vals.Encode()
		}
		if _, ok := s.queue.neighbour(q, s.cfg.ApproveThreshold, at, true); ok {
			vals.Set("dir", "next")
			p.Next = "/queue/next?" + vals.Encode()
		}
	}
	s.render(w, r, "group", map[string]any{"Title": "Group " + g.ID, "P": p})
	return nil
}

// position is g's place in q's order.
func (s *Server) position(q queueQuery, g cm.Group) position {
	row, ok := s.queue.row(g.ID)
	if !ok {
		row.ID, row.State, row.Confidence, row.Members = g.ID, g.State, g.Confidence, g.Members
	}
	return position{sortKey(q.Sort, s.cfg.ApproveThreshold, &row), g.ID}
}

// decisionInput is what every decision form carries.
type decisionInput struct {
	g      cm.Group
	q      queueQuery
	at     position
	reason string
}

// readDecision loads the group of the URL, checks the version the form
// was rendered with against it, and reads the queue view the decision was
// made in. A group that changed since is a 409 that names the change.
func (s *Server) readDecision(r *http.Request) (decisionInput, error) {
	var in decisionInput
	id := r.PathValue("id")
	g, err := s.st.Group(r.Context(), id)
	if cm.IsCode(err, cm.ENOTFOUND) {
		return in, errNotFound("There is no group " + id + ": nothing was changed.")
	}
	if err != nil {
		return in, err
	}
	ver, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil {
		return in, errBadRequest("The form does not say which version of group " + id + " it was made on: reload the page. Nothing was changed.")
	}
	if ver != g.Version {
		return in, errConflict(fmt.Sprintf("Group %s changed since you loaded it: you saw version %d, it is now version %d (%s). "+
			"Nothing was changed: reload the group to see what changed, then decide again.", g.ID, ver, g.Version, g.State))
	}
	qv, _ := url.ParseQuery(r.PostFormValue("view"))
	if in.q, err = parseQueueQuery(qv); err != nil {
		in.q, _ = parseQueueQuery(url.Values{})
	}
	in.g, in.at = g, s.position(in.q, g)
	in.reason = strings.TrimSpace(r.PostFormValue("reason"))
	return in, nil
}

// decided refreshes the queue's row of a decided group and goes on: to the
// next group of the view, or back where the form said.
func (s *Server) decided(w http.ResponseWriter, r *http.Request, in decisionInput, flash string) error {
	if err := s.queue.refresh(r.Context(), []string{in.g.ID}); err != nil {
		s.log.Warn("console: refreshing the queue", "group", in.g.ID, "err", err)
	}
	switch r.PostFormValue("return") {
	case "queue":
		v := in.q.values()
		v.Set("flash", flash)
		if c := r.PostFormValue("pos"); c != "" {
			if _, _, err := parseCursor(c); err == nil {
				v.Set("after", c)
			}
		}
		http.Redirect(w, r, "/queue?"+v.Encode(), http.StatusSeeOther)
	case "group":
		v := in.q.values()
		v.Set("flash", flash)
		http.Redirect(w, r, "/groups/"+url.PathEscape(in.g.ID)+"?"+v.Encode(), http.StatusSeeOther)
	case "quarantine", "failed":
		http.Redirect(w, r, "/"+r.PostFormValue("return")+"?flash="+url.QueryEscape(flash), http.StatusSeeOther)
	default:
		if err := s.queue.wait(r.Context()); err != nil {
			return err
		}
		s.redirectStep(w, r, in.q, in.at, true, flash)
	}
	return nil
}

func (s *Server) decision(r *http.Request, approve bool, reason string) cm.Decision {
	return cm.Decision{Approve: approve, Actor: s.actor(r), Reason: reason, At: s.now()}
}

func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readDecision(r)
	if err != nil {
		return err
	}
	if _, err := review.Decide(r.Context(), s.st, in.g, s.decision(r, true, in.reason)); err != nil {
		return err
	}
	return s.decided(w, r, in, "approved:"+in.g.ID)
}

func (s *Server) handleReject(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readDecision(r)
	if err != nil {
		return err
	}
	if _, err := review.Decide(r.Context(), s.st, in.g, s.decision(r, false, in.reason)); err != nil {
		return err
	}
	return s.decided(w, r, in, "rejected:"+in.g.ID)
}

func (s *Server) handleSplit(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readDecision(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return errBadRequest(err.Error())
	}
	split := r.PostForm["member"]
	if len(split) == 0 {
		return errBadRequest("Tick the members to split off the group first. Nothing was changed.")
	}
	if _, err := review.Split(r.Context(), s.st, in.g, split, s.decision(r, false, in.reason)); err != nil {
		return err
	}
	return s.decided(w, r, in, "split:"+in.g.ID)
}

func (s *Server) handleChoose(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readDecision(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return errBadRequest(err.Error())
	}
	d := s.decision(r, true, in.reason)
	d.Survivor = r.PostFormValue("survivor")
	if d.Survivor == in.g.SurvivorID {
		d.Survivor = ""
	}
	for k, vs := range r.PostForm {
		field, ok := strings.CutPrefix(k, "take.")
		if !ok || len(vs) == 0 || vs[0] == "" {
			continue
		}
		if d.Take == nil {
			d.Take = map[string]string{}
		}
		d.Take[field] = vs[0]
	}
	if _, err := review.Choose(r.Context(), s.st, in.g, d, s.survive); err != nil {
		return err
	}
	return s.decided(w, r, in, "approved:"+in.g.ID)
}

// handleRelease approves a quarantined group again now (its retry time
// need not have come) or a failed one for another try: a steward's
// approval through review.Decide, the edges quarantined → approved and
// failed → approved.
func (s *Server) handleRelease(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readDecision(r)
	if err != nil {
		return err
	}
	if in.g.State != cm.StateQuarantined && in.g.State != cm.StateFailed {
		return errBadRequest(fmt.Sprintf("Group %s is %s: only a quarantined or failed group is released. Nothing was changed.", in.g.ID, in.g.State))
	}
	why := in.reason
	if why == "" {
		why = "released from quarantine in the console"
		if in.g.State == cm.StateFailed {
			why = "approved again after failing, in the console"
		}
	}
	if _, err := review.Decide(r.Context(), s.st, in.g, s.decision(r, true, why)); err != nil {
		return err
	}
	return s.decided(w, r, in, "released:"+in.g.ID)
}

// flashText is the message of a flash code VERB:GROUP[|end|start].
func flashText(code string) string {
	code, tail, _ := strings.Cut(code, "|")
	verb, id, _ := strings.Cut(code, ":")
	var msg string
	switch verb {
	case "approved":
		msg = "Approved group " + id + "."
	case "rejected":
		msg = "Rejected group " + id + "."
	case "split":
		msg = "Split group " + id + ": the members you ticked are recorded as other people than the rest."
	case "released":
		msg = "Approved group " + id + " again: preflight checks it at the next cycle."
	case "bulk":
		msg = "Approved " + id + " groups."
	case "started", "paused", "resumed":
		msg = "Workers " + verb + "."
	}
	switch tail {
	case "end":
		msg += " That was the last group of this view."
	case "start":
		msg += " That was the first group of this view."
	}
	return strings.TrimSpace(msg)
}

// ---- bulk approve ----

// bulkSet is the set a bulk approval applies to.
type bulkSet struct {
	Threshold   float64
	Groups      []cm.Group
	Contacts    int
	Fingerprint string
}

// bulkGroups reads the proposed groups at or above threshold from the store.
func (s *Server) bulkGroups(ctx context.Context, threshold float64) (bulkSet, error) {
	gs, err := s.st.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}, MinConfidence: threshold})
	if err != nil {
		return bulkSet{}, err
	}
	gs = slices.DeleteFunc(gs, func(g cm.Group) bool { return g.Confidence < threshold })
	h := sha256.New()
	b := bulkSet{Threshold: threshold, Groups: gs}
	for _, g := range gs {
		b.Contacts += len(g.Members)
		fmt.Fprintf(h, "%s@%d\n", g.ID, g.Version)
	}
	b.Fingerprint = hex.EncodeToString(h.Sum(nil)[:16])
	return b, nil
}

func parseThreshold(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1 {
		return 0, errBadRequest(fmt.Sprintf("The threshold %q is not a confidence from 0 to 1. Nothing was changed.", v))
	}
	return f, nil
}

func (s *Server) handleBulkForm(w http.ResponseWriter, r *http.Request) error {
	th := s.cfg.ApproveThreshold
	if v := r.URL.Query().Get("threshold"); v != "" {
		if f, err := parseThreshold(v); err == nil {
			th = f
		}
	}
	s.render(w, r, "bulk", map[string]any{"Title": "Bulk approve", "Threshold": th})
	return nil
}

func (s *Server) handleBulkPreview(w http.ResponseWriter, r *http.Request) error {
	th, err := parseThreshold(r.PostFormValue("threshold"))
	if err != nil {
		return err
	}
	b, err := s.bulkGroups(r.Context(), th)
	if err != nil {
		return err
	}
	shown := b.Groups[:min(len(b.Groups), 25)]
	s.render(w, r, "bulk", map[string]any{"Title": "Bulk approve", "Threshold": th, "Preview": b, "Shown": shown, "More": len(b.Groups) - len(shown)})
	return nil
}

func (s *Server) handleBulkApprove(w http.ResponseWriter, r *http.Request) error {
	th, err := parseThreshold(r.PostFormValue("threshold"))
	if err != nil {
		return err
	}
	b, err := s.bulkGroups(r.Context(), th)
	if err != nil {
		return err
	}
	if b.Fingerprint != r.PostFormValue("fingerprint") {
		return errConflict(fmt.Sprintf("The proposed groups at or above %g changed since the preview (now %d groups, %d contacts). "+
			"Nothing was changed: preview again.", th, len(b.Groups), b.Contacts))
	}
	ids := make([]string, len(b.Groups))
	for i, g := range b.Groups {
		ids[i] = g.ID
	}
	reason := fmt.Sprintf("bulk approval at confidence ≥ %g in the console", th)
	out, err := review.DecideWhere(r.Context(), s.st, cm.GroupFilter{IDs: ids, States: []cm.GroupState{cm.StateProposed}, MinConfidence: th},
		true, s.actor(r), reason, s.now)
	if rerr := s.queue.refresh(r.Context(), ids); rerr != nil {
		s.log.Warn("console: refreshing the queue", "err", rerr)
	}
	if err != nil {
		return fmt.Errorf("bulk approval stopped after %d groups: %w", out.Decided, err)
	}
	s.render(w, r, "bulk", map[string]any{"Title": "Bulk approve", "Threshold": th, "Done": out, "Of": len(ids)})
	return nil
}

// ---- quarantined and failed groups ----

func (s *Server) handleStateList(state cm.GroupState) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		after := r.URL.Query().Get("after")
		gs, err := s.st.Groups(r.Context(), cm.GroupFilter{States: []cm.GroupState{state}, AfterID: after, Limit: 101})
		if err != nil {
			return err
		}
		next := ""
		if len(gs) > 100 {
			gs = gs[:100]
			next = gs[len(gs)-1].ID
		}
		if state == cm.StateQuarantined {
			slices.SortStableFunc(gs, func(a, b cm.Group) int { return a.RetryAt.Compare(b.RetryAt) })
		}
		title := map[cm.GroupState]string{cm.StateQuarantined: "Quarantined groups", cm.StateFailed: "Failed groups"}[state]
		s.render(w, r, "groups", map[string]any{"Title": title, "State": string(state), "Groups": gs, "NextAfter": next, "Now": s.now(),
			"Nav": map[cm.GroupState]string{cm.StateQuarantined: "quarantine", cm.StateFailed: "failed"}[state]})
		return nil
	}
}

// ---- ledger ----

// ledgerSearch returns the ledger filter and the groups of a search for a
// group or contact id ("" : the whole ledger).
func (s *Server) ledgerSearch(q string) []string {
	if q == "" {
		return nil
	}
	if _, ok := s.queue.row(q); ok || strings.HasPrefix(q, "g_") {
		return []string{q}
	}
	return s.queue.withMember(q)
}

func (s *Server) handleLedger(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err := s.queue.wait(r.Context()); err != nil {
		return err
	}
	const limit = 200
	var rows []cm.LedgerEvent
	groups := s.ledgerSearch(q)
	collect := func(f cm.LedgerFilter) error {
		return s.st.Ledger(r.Context(), f, func(ev cm.LedgerEvent) error {
			if len(rows) <= limit {
				rows = append(rows, ev)
			}
			return nil
		})
	}
	switch {
	case q == "":
		if after == 0 {
			s.queue.mu.RLock()
			after = max(s.queue.seq-limit, 0)
			s.queue.mu.RUnlock()
		}
		if err := collect(cm.LedgerFilter{AfterSeq: after, Limit: limit + 1}); err != nil {
			return err
		}
	default:
		for _, g := range groups {
			if err := collect(cm.LedgerFilter{GroupID: g, AfterSeq: after}); err != nil {
				return err
			}
		}
		slices.SortFunc(rows, func(a, b cm.LedgerEvent) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		v := url.Values{"q": {q}, "after": {strconv.FormatInt(rows[len(rows)-1].Seq, 10)}}
		next = "/ledger?" + v.Encode()
	}
	s.render(w, r, "ledger", map[string]any{"Title": "Ledger", "Q": q, "Rows": rows, "Groups": groups, "Next": next,
		"CSV": "/ledger.csv?" + url.Values{"q": {q}}.Encode()})
	return nil
}

// ledgerCSVHeader is the header of `report --format csv`, which the
// download repeats.
func ledgerCSVHeader() []string {
	return []string{"seq", "at", "kind", "groupId", "from", "to", "actor", "attempt", "idempotencyKey", "request", "status", "correlationId", "canonicalId", "unkept", "detail"}
}

func (s *Server) handleLedgerCSV(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if err := s.queue.wait(r.Context()); err != nil {
		return err
	}
	name := "ledger.csv"
	if q != "" {
		name = "ledger-" + safeFileName(q) + ".csv"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(ledgerCSVHeader())
	write := func(ev cm.LedgerEvent) error {
		var unkept []byte
		if ev.Unkept != nil {
			unkept, _ = json.Marshal(ev.Unkept)
		}
		return cw.Write([]string{strconv.FormatInt(ev.Seq, 10), ev.At.UTC().Format(time.RFC3339Nano), string(ev.Kind), ev.GroupID,
			string(ev.From), string(ev.To), ev.Actor, strconv.Itoa(ev.Attempt), ev.IdempotencyKey, ev.Request,
			strconv.Itoa(ev.Status), ev.CorrelationID, ev.CanonicalID, string(unkept), ev.Detail})
	}
	var err error
	if q == "" {
		err = s.st.Ledger(r.Context(), cm.LedgerFilter{}, write)
	} else {
		var rows []cm.LedgerEvent
		for _, g := range s.ledgerSearch(q) {
			if err = s.st.Ledger(r.Context(), cm.LedgerFilter{GroupID: g}, func(ev cm.LedgerEvent) error { rows = append(rows, ev); return nil }); err != nil {
				break
			}
		}
		slices.SortFunc(rows, func(a, b cm.LedgerEvent) int { return cmp.Compare(a.Seq, b.Seq) })
		for _, ev := range rows {
			if err == nil {
				err = write(ev)
			}
		}
	}
	cw.Flush()
	if err != nil {
		s.log.Error("console: ledger download", "err", err)
	}
	return nil
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, truncate(s, 60))
}

// handleIDMap downloads the id map of every merge the ledger records as
// applied, as `report --id-map` writes it: engine.AppliedMerges, then
// review.IDMap; CSV (oldId, canonicalId, groupId) or, with format=json,
// JSON lines.
func (s *Server) handleIDMap(w http.ResponseWriter, r *http.Request) error {
	applied, err := engine.AppliedMerges(r.Context(), s.st)
	if err != nil {
		return err
	}
	merges := make([]review.Merge, len(applied))
	for i, m := range applied {
		merges[i] = review.Merge{GroupID: m.GroupID, Inputs: m.Inputs, Result: m.Result}
	}
	rows := review.IDMap(merges)
	if r.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="idmap.jsonl"`)
		enc := json.NewEncoder(w)
		for _, m := range rows {
			if err := enc.Encode(m); err != nil {
				return nil
			}
		}
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="idmap.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"oldId", "canonicalId", "groupId"})
	for _, m := range rows {
		_ = cw.Write([]string{m.OldID, m.CanonicalID, m.GroupID})
	}
	cw.Flush()
	return nil
}

// ---- run control ----

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) error {
	data := map[string]any{"Title": "Run"}
	if s.cfg.Run == nil {
		s.render(w, r, "run", data)
		return nil
	}
	st := s.cfg.Run.Status()
	data["Status"] = st
	data["HasRun"] = true
	if st.State == "idle" || r.URL.Query().Get("plan") == "1" {
		plan, err := s.cfg.Run.Plan(r.Context())
		if err != nil {
			data["PlanErr"] = err.Error()
		} else {
			data["Plan"] = plan
		}
	}
	s.render(w, r, "run", data)
	return nil
}

func (s *Server) runAction(w http.ResponseWriter, r *http.Request, flash string, do func(RunControl) error) error {
	if s.cfg.Run == nil {
		return errBadRequest("This console runs no workers.")
	}
	if err := do(s.cfg.Run); err != nil {
		return err
	}
	http.Redirect(w, r, "/run?flash="+flash, http.StatusSeeOther)
	return nil
}

func (s *Server) handleRunStart(w http.ResponseWriter, r *http.Request) error {
	if r.PostFormValue("confirm") != "yes" {
		return errBadRequest("Tick the box that says merges are permanent, then start. Nothing was started.")
	}
	return s.runAction(w, r, "started", func(rc RunControl) error { return rc.Start(r.Context(), s.actor(r), r.PostFormValue("key")) })
}

func (s *Server) handleRunPause(w http.ResponseWriter, r *http.Request) error {
	return s.runAction(w, r, "paused", func(rc RunControl) error { return rc.Pause(r.Context(), s.actor(r)) })
}

func (s *Server) handleRunResume(w http.ResponseWriter, r *http.Request) error {
	return s.runAction(w, r, "resumed", func(rc RunControl) error { return rc.Resume(r.Context(), s.actor(r)) })
}

// ---- health ----

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	out := map[string]string{}
	ok := true
	for _, c := range s.cfg.Checks {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		err := c.Run(ctx)
		cancel()
		if err != nil {
			ok = false
			out[c.Name] = "error: " + err.Error()
			continue
		}
		out[c.Name] = "ok"
	}
	status := "ok"
	code := http.StatusOK
	if !ok {
		status, code = "unavailable", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "checks": out})
}
