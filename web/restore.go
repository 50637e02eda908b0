package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/restore"
)

// ---- restore (a merged group's members given back) ----
//
// The merged-group page's restore button posts the ticked members to
// /groups/{id}/restore/preview, which shows the plan (the contacts to
// create, each value removed from the canonical contact, what cannot be
// restored) with a confirm form; the confirm posts to /groups/{id}/restore,
// which plans again and refuses (409, nothing sent) a plan that differs
// from the one previewed. Both are POSTs with the session's CSRF token,
// like every mutation of the console (auth.go).

// RestoreFunc builds the restorer of one console request: actor is who
// pressed the button, keepEdited the page's "leave edited fields" choice.
// cmd/contactmerge's serve gives restore.New over its store and API
// client; nil shows no restore button.
type RestoreFunc func(actor string, keepEdited bool) *restore.Restorer

// restorePage is the data of the restore page.
type restorePage struct {
	G           cm.Group
	Plan        *restore.Plan
	Fingerprint string
	KeepEdited  bool
	Refused     string // why the plan cannot be carried out (bad input, conflicts)
	Result      *restore.Result
}

// fingerprint identifies what a plan does, for the confirm step.
func fingerprint(p *restore.Plan) string {
	h := sha256.New()
	b, _ := json.Marshal(struct {
		G, C string
		M    []restore.Member
		R    []restore.Removal
		F    []restore.Conflict
	}{p.GroupID, p.CanonicalID, p.Members, p.Removals, p.Conflicts})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// restoreInput reads the group and the form of a restore request.
func (s *Server) restoreInput(r *http.Request) (cm.Group, []string, bool, error) {
	if s.cfg.Restore == nil {
		return cm.Group{}, nil, false, errNotFound("This console restores nothing: it was started without an API client.")
	}
	id := r.PathValue("id")
	g, err := s.st.Group(r.Context(), id)
	if cm.IsCode(err, cm.ENOTFOUND) {
		return g, nil, false, errNotFound("There is no group " + id + ": nothing was sent.")
	}
	if err != nil {
		return g, nil, false, err
	}
	if err := r.ParseForm(); err != nil {
		return g, nil, false, errBadRequest(err.Error())
	}
	var members []string
	for _, m := range r.PostForm["member"] {
		if m = strings.TrimSpace(m); m != "" {
			members = append(members, m)
		}
	}
	if len(members) == 0 {
		return g, nil, false, errBadRequest("Tick the members to restore first. Nothing was sent.")
	}
	return g, cm.SortedIDs(members), r.PostFormValue("keep_edited") == "on", nil
}

func (s *Server) handleRestorePreview(w http.ResponseWriter, r *http.Request) error {
	g, members, keep, err := s.restoreInput(r)
	if err != nil {
		return err
	}
	p, err := s.cfg.Restore(s.actor(r), keep).Plan(r.Context(), g.ID, members)
	page := restorePage{G: g, Plan: p, KeepEdited: keep}
	switch {
	case cm.IsCode(err, cm.EINVALID):
		page.Refused = err.Error()
	case err != nil:
		return err
	default:
		page.Fingerprint = fingerprint(p)
	}
	s.render(w, r, "restore", map[string]any{"Title": "Restore from group " + g.ID, "P": page})
	return nil
}

func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request) error {
	g, members, keep, err := s.restoreInput(r)
	if err != nil {
		return err
	}
	rs := s.cfg.Restore(s.actor(r), keep)
	p, err := rs.Plan(r.Context(), g.ID, members)
	if cm.IsCode(err, cm.EINVALID) {
		return errBadRequest(err.Error())
	}
	if err != nil {
		return err
	}
	if fingerprint(p) != r.PostFormValue("fingerprint") {
		return errConflict(fmt.Sprintf("The restore of %s from group %s changed since the preview (the canonical contact was edited, or another restore ran). "+
			"Nothing was sent: preview again.", strings.Join(members, ", "), g.ID))
	}
	// The restore goes on if the person closes the page: its requests and
	// ledger rows must not be cut off half-way.
	res, err := rs.Execute(context.WithoutCancel(r.Context()), p)
	if err != nil {
		return fmt.Errorf("the restore stopped (run it again to finish it; nothing is done twice): %w", err)
	}
	if rerr := s.queue.refresh(r.Context(), []string{g.ID}); rerr != nil {
		s.log.Warn("console: refreshing the queue", "group", g.ID, "err", rerr)
	}
	s.render(w, r, "restore", map[string]any{"Title": "Restored from group " + g.ID, "P": restorePage{G: g, Plan: p, Result: res}})
	return nil
}

// restorable returns the members of a merged group a restore may still
// give back (nil when the console restores nothing or g is not merged).
func (s *Server) restorable(ctx context.Context, g cm.Group) ([]string, error) {
	if s.cfg.Restore == nil || g.State != cm.StateMerged {
		return nil, nil
	}
	done, err := restore.RestoredMembers(ctx, s.st, g.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range g.Members {
		if _, ok := done[m]; !ok {
			out = append(out, m)
		}
	}
	return out, nil
}
