package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

// MarkerSource is the external source name of the marker external id a
// restored contact carries.
const MarkerSource = "contactmerge-restore"

// Marker returns the value of the marker external id of member's restore
// from group: the same in every process, so that a restore whose create
// answered ambiguously finds the contact it created.
func Marker(groupID, member string) string {
	h := sha256.Sum256([]byte("restore\n" + groupID + "\n" + member))
	return "cm-restore-" + hex.EncodeToString(h[:12])
}

// The steps a restore records, the first word of the Request of its
// LedgerRestore rows; the rest are key=value words (member=, attempt=,
// outcome=, canonical=, restored=).
const (
	stepCreateIntent = "restore.create.intent" // committed before a create is sent
	stepCreate       = "restore.create"        // the create's answer: outcome=created|unknown|refused|throttled|forbidden
	stepVerify       = "restore.create.verify" // the marker lookup after an unknown outcome: outcome=found|notfound
	stepUpdateIntent = "restore.update.intent" // committed before the canonical contact's update is sent
	stepUpdate       = "restore.update"        // its answer: outcome=updated|conflict|unknown|refused|throttled|forbidden
	stepDone         = "restore.done"          // the member is restored: the id-map entry member → restored
)

// Outcomes of a request.
const (
	outCreated   = "created"
	outUpdated   = "updated"
	outUnknown   = "unknown"
	outRefused   = "refused"
	outThrottled = "throttled"
	outForbidden = "forbidden"
	outConflict  = "conflict"
	outFound     = "found"
	outNotFound  = "notfound"
)

// request builds the Request of a row: step then the key=value words.
func request(step string, kv ...string) string {
	var b strings.Builder
	b.WriteString(step)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %s=%s", kv[i], kv[i+1])
	}
	return b.String()
}

// parseRequest splits a Request into its step and key=value words.
func parseRequest(s string) (string, map[string]string) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return "", nil
	}
	kv := map[string]string{}
	for _, w := range words[1:] {
		if k, v, ok := strings.Cut(w, "="); ok {
			kv[k] = v
		}
	}
	return words[0], kv
}

// memberState is what the ledger says of one member's restore.
type memberState struct {
	attempts   int       // creates sent (intents)
	pending    bool      // the last create's outcome is unknown
	lastIntent time.Time // when the last create was committed
	restoredID string    // the created contact, once known
	done       bool      // the restore is complete
	doneSeq    int64
}

// history is the ledger of one group as restore reads it.
type history struct {
	images  map[string]cm.Contact // before-images by contact id, the first recorded
	members map[string]*memberState
}

func (h *history) member(id string) *memberState {
	if m := h.members[id]; m != nil {
		return m
	}
	m := &memberState{}
	h.members[id] = m
	return m
}

// readHistory reads the before-images of group's merges and the state of
// its restores.
func readHistory(ctx context.Context, st cm.Store, group string) (*history, error) {
	h := &history{images: map[string]cm.Contact{}, members: map[string]*memberState{}}
	err := st.Ledger(ctx, cm.LedgerFilter{GroupID: group, Kinds: []cm.LedgerKind{cm.LedgerAPI, cm.LedgerRestore}}, func(ev cm.LedgerEvent) error {
		if ev.Kind == cm.LedgerAPI {
			if len(ev.BeforeImages) == 0 {
				return nil
			}
			var cs []cm.Contact
			if err := json.Unmarshal(ev.BeforeImages, &cs); err != nil {
				return fmt.Errorf("ledger row %d: before-images: %w", ev.Seq, err)
			}
			for _, c := range cs {
				if _, ok := h.images[c.ID]; !ok && c.ID != "" {
					h.images[c.ID] = c
				}
			}
			return nil
		}
		step, kv := parseRequest(ev.Request)
		if kv["member"] == "" {
			return nil
		}
		m := h.member(kv["member"])
		switch step {
		case stepCreateIntent:
			n, _ := strconv.Atoi(kv["attempt"])
			m.attempts, m.pending, m.lastIntent = max(m.attempts, n), true, ev.At
		case stepCreate:
			m.pending = kv["outcome"] == outUnknown
			if kv["outcome"] == outCreated && ev.CanonicalID != "" {
				m.restoredID = ev.CanonicalID
			}
		case stepVerify:
			m.pending = false
			if kv["outcome"] == outFound && ev.CanonicalID != "" {
				m.restoredID = ev.CanonicalID
			}
		case stepDone:
			m.done, m.doneSeq, m.restoredID, m.pending = true, ev.Seq, ev.CanonicalID, false
		}
		return nil
	})
	return h, err
}

// Restorations returns every member the ledger of st records as restored,
// ordered by ledger row: the id-map entries old id → restored id
// (review.WithRestores).
func Restorations(ctx context.Context, st cm.Store) ([]review.Restored, error) {
	var out []review.Restored
	err := st.Ledger(ctx, cm.LedgerFilter{Kinds: []cm.LedgerKind{cm.LedgerRestore}}, func(ev cm.LedgerEvent) error {
		if step, kv := parseRequest(ev.Request); step == stepDone && ev.CanonicalID != "" && kv["member"] != "" {
			out = append(out, review.Restored{OldID: kv["member"], RestoredID: ev.CanonicalID, GroupID: ev.GroupID})
		}
		return nil
	})
	return out, err
}

// RestoredMembers returns, for one group, its members restored so far and
// their restored ids (the group's ledger rows only: cheap for a page).
func RestoredMembers(ctx context.Context, st cm.Store, groupID string) (map[string]string, error) {
	out := map[string]string{}
	err := st.Ledger(ctx, cm.LedgerFilter{GroupID: groupID, Kinds: []cm.LedgerKind{cm.LedgerRestore}}, func(ev cm.LedgerEvent) error {
		if step, kv := parseRequest(ev.Request); step == stepDone && ev.CanonicalID != "" && kv["member"] != "" {
			out[kv["member"]] = ev.CanonicalID
		}
		return nil
	})
	return out, err
}
