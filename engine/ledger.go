package engine

import (
	"context"
	"fmt"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// The ledger rows of merge requests name their inputs in Request, as
// "<route> contactIds=<id>,<id>,…" followed by a space and more.

// mergeSummary is the Request of the api row of a merge request.
func mergeSummary(ids []string, override bool) string {
	return fmt.Sprintf("%s contactIds=%s valueOverride=%t", mergeRoute, strings.Join(ids, ","), override)
}

// verifiedSummary is the Request of the note recording a merge that
// verification found applied: inputs are the contacts it merged.
func verifiedSummary(inputs []string) string {
	return fmt.Sprintf("%s contactIds=%s (verified applied)", mergeRoute, strings.Join(inputs, ","))
}

// AppliedMergeOf reports whether ev records an applied merge, and which.
// Exactly one row records each applied merge: the api row of the request
// when it was answered 2xx (Kind api, Status 2xx, CanonicalID = result,
// Request naming the inputs, BeforeImages their records), or else the note
// written when verification found it applied (Kind note, CanonicalID =
// result, Request naming the inputs; the api row of the ambiguous attempt,
// with its BeforeImages, precedes it).
func AppliedMergeOf(ev cm.LedgerEvent) (cm.AppliedMerge, bool) {
	if ev.CanonicalID == "" || !(ev.Kind == cm.LedgerAPI && ev.Status/100 == 2 || ev.Kind == cm.LedgerNote) {
		return cm.AppliedMerge{}, false
	}
	return cm.AppliedMerge{
		Seq: ev.Seq, GroupID: ev.GroupID, Inputs: requestInputs(ev.Request), Result: ev.CanonicalID,
		Verified: ev.Kind == cm.LedgerNote,
	}, true
}

// requestInputs returns the contactIds named in a Request summary.
func requestInputs(request string) []string {
	_, after, ok := strings.Cut(request, " contactIds=")
	if !ok {
		return nil
	}
	ids, _, _ := strings.Cut(after, " ")
	if ids == "" {
		return nil
	}
	return strings.Split(ids, ",")
}

// AppliedMerges returns every merge the ledger of st records as applied, in
// ledger order. Following Inputs → Result through them maps every merged-away
// contact id to its canonical contact, including the applied rounds of
// groups that did not end merged.
func AppliedMerges(ctx context.Context, st cm.Store) ([]cm.AppliedMerge, error) {
	var out []cm.AppliedMerge
	err := st.Ledger(ctx, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerAPI, cm.LedgerNote}}, func(ev cm.LedgerEvent) error {
		if m, ok := AppliedMergeOf(ev); ok {
			out = append(out, m)
		}
		return nil
	})
	return out, err
}
