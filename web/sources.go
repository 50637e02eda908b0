package web

import (
	"net/http"
	"strconv"

	"github.com/contactmerge/contactmerge/sources"
)

// ---- where duplicates come from ----

// sourcesDays is how many days of the per-day trend the sources page shows
// unless ?days= says otherwise (0: all).
const sourcesDays = 30

// handleSources shows where the store's duplicates come from
// (sources.Compute, the tables of report sources): by contact type,
// division, external source, creation month and linking identifier, and
// the new duplicates per day by source with each source's daily rate.
func (s *Server) handleSources(w http.ResponseWriter, r *http.Request) error {
	days := sourcesDays
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errBadRequest("days=" + strconv.Quote(v) + " is not a number of days (0: all).")
		}
		days = n
	}
	rep, err := sources.Compute(r.Context(), s.st)
	if err != nil {
		return err
	}
	rep.PerDay = sources.LastDays(rep.PerDay, days)
	most := 0
	for _, d := range rep.PerDay {
		most = max(most, d.Duplicates)
	}
	dims := []struct {
		ID, Title string
		Rows      []sources.Count
	}{
		{"by-type", "Contact type", rep.ByType}, {"by-division", "Division", rep.ByDivision},
		{"by-source", "External source", rep.BySource}, {"by-month", "Created", rep.ByMonth},
		{"by-identifier", "Linked by", rep.ByIdentifier},
	}
	s.render(w, r, "sources", map[string]any{"Title": "Where duplicates come from", "Report": rep, "Dims": dims,
		"Rates": sources.Rates(rep.PerDay), "Days": days, "Most": max(most, 1)})
	return nil
}
