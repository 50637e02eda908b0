package web

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/contactmerge/contactmerge/store"
)

// CycleControl is what the cycles page drives: the scheduled cycles of the
// process (cmd/contactmerge's serve implements it over cycle.Scheduler).
type CycleControl interface {
	// CycleStatus says when the next cycle is due, whether one runs now
	// and whether the next scheduled one is skipped.
	CycleStatus(ctx context.Context) (CycleStatus, error)
	// RunCycleNow starts a cycle now, as actor (ECONFLICT when one runs).
	RunCycleNow(ctx context.Context, actor string) error
	// SkipNextCycle skips the next scheduled cycle; WithdrawCycleSkip
	// withdraws that (ENOTFOUND when none is pending).
	SkipNextCycle(ctx context.Context, actor, reason string) error
	WithdrawCycleSkip(ctx context.Context, actor string) error
}

// CycleStatus is the state of the scheduled cycles.
type CycleStatus struct {
	// Schedule describes the schedule ("" when cycles run only on demand)
	// and Next is the next scheduled start.
	Schedule string
	Next     time.Time
	Running  bool
	// Skip is the pending request to skip the next scheduled cycle.
	Skip *store.CycleSkip
	// LastErr is why this process's last cycle failed.
	LastErr string
	// Merges says what the cycles may merge (the policy's mode).
	Merges string
}

// cycleRow is a cycle as the page lists it.
type cycleRow struct {
	store.Cycle
	Merged string
	// Discovered is the discover step's: the contacts found (by type),
	// the conversations read and the requests spent, or why it was skipped.
	Discovered string
	Note       string
}

// handleCycles lists the latest cycles with their steps, and the controls.
func (s *Server) handleCycles(w http.ResponseWriter, r *http.Request) error {
	data := map[string]any{"Title": "Cycles", "Now": s.now(), "Notice": cycleFlash(r.URL.Query().Get("flash"))}
	cs, ok := s.st.(store.CycleStore)
	if !ok {
		return errNotFound("this store keeps no cycles")
	}
	list, err := cs.Cycles(r.Context(), 50)
	if err != nil {
		return err
	}
	rows := make([]cycleRow, len(list))
	for i, c := range list {
		rows[i] = cycleRow{Cycle: c, Merged: "–", Discovered: "–", Note: c.Error}
		if n, ok := mergedOf(c); ok {
			rows[i].Merged = n
		}
		if d, ok := discoveredOf(c); ok {
			rows[i].Discovered = d
		}
	}
	data["Cycles"] = rows
	if s.cfg.Cycles != nil {
		st, err := s.cfg.Cycles.CycleStatus(r.Context())
		if err != nil {
			return err
		}
		data["Status"], data["HasCycles"] = st, true
	}
	s.render(w, r, "cycles", data)
	return nil
}

// mergedOf reads the merges of a cycle's run step.
func mergedOf(c store.Cycle) (string, bool) {
	st, ok := c.StepDone("run")
	if !ok || len(st.Result) == 0 {
		return "", false
	}
	var res struct {
		Skipped       string `json:"skipped"`
		MergedThisRun int    `json:"mergedThisRun"`
	}
	if err := json.Unmarshal(st.Result, &res); err != nil {
		return "", false
	}
	if res.Skipped != "" {
		return "none (" + strings.SplitN(res.Skipped, ":", 2)[0] + ")", true
	}
	return strconv.Itoa(res.MergedThisRun), true
}

// discoveredOf reads the discover step's result (cycle.DiscoverResult's
// JSON): "12 (Ephemeral 3, Identified 9) of 501 conversations, 9
// requests", or "skipped: …".
func discoveredOf(c store.Cycle) (string, bool) {
	st, ok := c.StepDone("discover")
	if !ok || len(st.Result) == 0 {
		return "", false
	}
	var res struct {
		Skipped       string         `json:"skipped"`
		Conversations int            `json:"conversations"`
		Found         int            `json:"found"`
		FoundByType   map[string]int `json:"foundByType"`
		Requests      int            `json:"requests"`
	}
	if err := json.Unmarshal(st.Result, &res); err != nil {
		return "", false
	}
	if res.Skipped != "" {
		return res.Skipped, true
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(res.Found))
	if len(res.FoundByType) > 0 {
		types := slices.Sorted(maps.Keys(res.FoundByType))
		parts := make([]string, len(types))
		for i, t := range types {
			parts[i] = t + " " + strconv.Itoa(res.FoundByType[t])
		}
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	fmt.Fprintf(&b, " of %d conversations, %d requests", res.Conversations, res.Requests)
	return b.String(), true
}

func (s *Server) cycleAction(w http.ResponseWriter, r *http.Request, flash string, do func(CycleControl) error) error {
	if s.cfg.Cycles == nil {
		return errBadRequest("This console runs no cycles.")
	}
	if err := do(s.cfg.Cycles); err != nil {
		return err
	}
	http.Redirect(w, r, "/cycles?flash="+flash, http.StatusSeeOther)
	return nil
}

func (s *Server) handleCycleRun(w http.ResponseWriter, r *http.Request) error {
	return s.cycleAction(w, r, "cycle-started", func(c CycleControl) error { return c.RunCycleNow(r.Context(), s.actor(r)) })
}

func (s *Server) handleCycleSkip(w http.ResponseWriter, r *http.Request) error {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if len(reason) > 500 {
		return errBadRequest("The reason is longer than 500 characters. Nothing was recorded.")
	}
	return s.cycleAction(w, r, "cycle-skipped", func(c CycleControl) error { return c.SkipNextCycle(r.Context(), s.actor(r), reason) })
}

func (s *Server) handleCycleUnskip(w http.ResponseWriter, r *http.Request) error {
	return s.cycleAction(w, r, "cycle-unskipped", func(c CycleControl) error { return c.WithdrawCycleSkip(r.Context(), s.actor(r)) })
}

// cycleFlash is the message after a cycle action.
func cycleFlash(code string) string {
	return map[string]string{
		"cycle-started":   "A cycle starts now; reload to follow its steps.",
		"cycle-skipped":   "The next scheduled cycle will be skipped.",
		"cycle-unskipped": "The skip is withdrawn: the next scheduled cycle runs.",
	}[code]
}
