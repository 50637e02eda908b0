package web

import (
	"context"
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
