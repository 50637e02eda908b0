package web

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
)

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
	Restorable  []string // merged: the members a restore may give back (restore.go)
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
	if p.Restorable, err = s.restorable(r.Context(), g); err != nil {
		return err
	}
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
