package web

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/restore"
	"github.com/contactmerge/contactmerge/review"
)

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
	restored, err := restore.Restorations(r.Context(), s.st)
	if err != nil {
		return err
	}
	rows := review.WithRestores(review.IDMap(applied), restored)
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
	header := []string{"oldId", "canonicalId", "groupId"}
	if len(restored) > 0 {
		header = append(header, "restoredId") // as report --id-map: only once a restore happened
	}
	_ = cw.Write(header)
	for _, m := range rows {
		rec := []string{m.OldID, m.CanonicalID, m.GroupID}
		if len(restored) > 0 {
			rec = append(rec, m.RestoredID)
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	return nil
}
