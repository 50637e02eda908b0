package sandbox

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// handleMerge serves POST /contacts/merge.
func (s *Sandbox) handleMerge(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ContactIDs    []string        `json:"contactIds"`
		ValueOverride json.RawMessage `json:"valueOverride"`
	}
	if !s.readJSON(w, r, &req) {
		return
	}
	var override *cm.Contact
	if len(req.ValueOverride) > 0 && string(req.ValueOverride) != "null" {
		c, err := DecodeContact(req.ValueOverride)
		if err != nil {
			s.writeError(w, r, http.StatusBadRequest, "bad.request", "valueOverride: "+err.Error())
			return
		}
		override = &c
	}
	s.doMerge(w, r, "merge", req.ContactIDs, override)
}

// handleMerge2 serves the deprecated POST /merge/contacts.
func (s *Sandbox) handleMerge2(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SourceContactID string `json:"sourceContactId"`
		TargetContactID string `json:"targetContactId"`
	}
	if !s.readJSON(w, r, &req) {
		return
	}
	if req.SourceContactID == "" || req.TargetContactID == "" {
		s.writeError(w, r, http.StatusBadRequest, "bad.request", "sourceContactId and targetContactId are both required.")
		return
	}
	s.doMerge(w, r, "merge2", []string{req.SourceContactID, req.TargetContactID}, nil)
}

// doMerge runs a merge with its latency, gateway timeout and faults. A reset
// drops the connection either before anything happens or after the merge
// was attempted (chosen at random, counted as reset.before / reset.after). A
// merge slower than GatewayTimeout, or one drawing timeout504, answers 504 at
// GatewayTimeout while the merge completes (timeout504 still answers a fast
// validation failure as such).
func (s *Sandbox) doMerge(w http.ResponseWriter, r *http.Request, op string, ids []string, override *cm.Contact) {
	ri := info(r)
	rec, _ := w.(*recorder)
	if ri.fault == FaultReset && s.drawReset() && rec != nil {
		s.dropConn(rec)
		return
	}
	s.mu.RLock()
	_, aerr := s.planLocked(ids, op == "merge2")
	s.mu.RUnlock()
	if aerr != nil {
		if ri.fault == FaultReset && rec != nil {
			s.dropConn(rec)
			return
		}
		s.writeAPIError(w, r, aerr)
		return
	}
	type result struct {
		c   cm.Contact
		err *apiError
	}
	latency := s.cfg.MergeLatency * time.Duration(len(ids))
	gw := s.cfg.GatewayTimeout
	start := time.Now()
	done := make(chan result, 1)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if latency > 0 {
			time.Sleep(latency)
		}
		c, err := s.applyMerge(op, slices.Clone(ids), override)
		done <- result{c, err}
	}()
	if ri.fault == FaultReset && rec != nil {
		<-done
		s.dropConn(rec)
		return
	}
	timeout := ri.fault == FaultTimeout504 || latency > gw
	if !timeout {
		select {
		case res := <-done:
			if res.err != nil {
				s.writeAPIError(w, r, res.err)
				return
			}
			s.writeJSON(w, http.StatusOK, wire(res.c))
		case <-r.Context().Done():
		}
		return
	}
	if ri.fault == FaultTimeout504 {
		s.countFault(FaultTimeout504)
	} else {
		s.countFault("slow504")
	}
	timer := time.NewTimer(gw - time.Since(start))
	defer timer.Stop()
	if ri.fault == FaultTimeout504 && latency <= gw {
		// The merge finishes before the gateway gives up; a fast failure is
		// answered as such, a success still gets the 504.
		select {
		case res := <-done:
			if res.err != nil {
				s.writeAPIError(w, r, res.err)
				return
			}
		case <-r.Context().Done():
			return
		}
	}
	select {
	case <-timer.C:
		s.writeError(w, r, http.StatusGatewayTimeout, "gateway.timeout", "The gateway timed out waiting for the upstream service.")
	case <-r.Context().Done():
	}
}
