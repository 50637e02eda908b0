package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

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
