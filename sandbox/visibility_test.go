package sandbox

import (
	"slices"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// TestAutoCreatedHidden: by default, as on the platform, Ephemeral and
// Identified contacts appear in neither scan nor search, but are readable
// by id, by bulk read, by identifier lookup and through their
// conversations; ShowAutoCreated lists them. Len counts what a scan lists,
// Canonical every canonical contact, through merges and deletes.
func TestAutoCreatedHidden(t *testing.T) {
	cs := simpleContacts(6)
	cs[1].Type, cs[2].Type = cm.TypeIdentified, cm.TypeIdentified
	cs[4].Type, cs[5].Type = cm.TypeIdentified, cm.TypeEphemeral
	curated := []string{"c0000", "c0003"}
	for _, show := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.ShowAutoCreated = show
		e := loadEnv(t, cfg, cs)
		want := curated
		if show {
			want = []string{"c0000", "c0001", "c0002", "c0003", "c0004", "c0005"}
		}
		if got := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 10, nil); !slices.Equal(got, want) {
			t.Fatalf("show=%v scan: %v, want %v", show, got, want)
		}
		var l struct {
			Entities []cm.Contact `json:"entities"`
			Total    int          `json:"total"`
		}
		e.do("GET", "/api/v2/externalcontacts/contacts?q=last&pageSize=100", nil).decode(t, &l)
		if l.Total != len(want) || len(l.Entities) != len(want) {
			t.Fatalf("show=%v search: total %d", show, l.Total)
		}
		if e.sb.Len() != len(want) || e.sb.Canonical() != 6 {
			t.Fatalf("show=%v Len %d Canonical %d", show, e.sb.Len(), e.sb.Canonical())
		}
		// Hidden, not gone.
		if r := e.get("c0001"); r.status != 200 {
			t.Fatalf("show=%v GET of an Identified contact: %d", show, r.status)
		}
		var bulk struct {
			ErrorCount int `json:"errorCount"`
		}
		e.do("POST", "/api/v2/externalcontacts/bulk/contacts", map[string]any{"entities": []map[string]string{{"id": "c0001"}, {"id": "c0005"}}}).decode(t, &bulk)
		if bulk.ErrorCount != 0 {
			t.Fatalf("show=%v bulk read of auto-created contacts: %d errors", show, bulk.ErrorCount)
		}
		var found cm.Contact
		e.do("POST", "/api/v2/externalcontacts/identifierlookup/contacts", map[string]string{"type": "Email", "value": "p0002@example.com"}).decode(t, &found)
		if found.ID != "c0002" {
			t.Fatalf("show=%v identifier lookup: %q", show, found.ID)
		}
		now := e.clock.Now()
		e.sb.AddActivity(Activity{ExternalContactID: "c0004", ConversationID: "chat-1", Start: now.Add(-time.Minute)})
		var q queryResult
		e.do("POST", detailsQuery, activeQuery(now.Add(-time.Hour), now.Add(time.Hour), true, "c0004")).decode(t, &q)
		if q.TotalHits != 1 || q.Conversations[0].ConversationID != "chat-1" {
			t.Fatalf("show=%v conversation of an Identified contact: %+v", show, q)
		}
		e.sb.EndActivity("c0004")

		// A merge of Curated and Identified is Curated, and listed.
		var m cm.Contact
		e.merge([]string{"c0000", "c0001"}, nil).decode(t, &m)
		if m.Type != cm.TypeCurated || e.sb.Canonical() != 5 {
			t.Fatalf("show=%v merge: %+v, Canonical %d", show, m, e.sb.Canonical())
		}
		// Identified and Ephemeral make Identified: hidden by default.
		var m2 cm.Contact
		e.merge([]string{"c0004", "c0005"}, nil).decode(t, &m2)
		e.do("DELETE", "/api/v2/externalcontacts/contacts/c0003", nil)
		after := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 10, nil)
		if e.sb.Len() != len(after) || e.sb.Canonical() != 3 || m2.Type != cm.TypeIdentified {
			t.Fatalf("show=%v after merges and a delete: Len %d, scan %v, Canonical %d", show, e.sb.Len(), after, e.sb.Canonical())
		}
		if wantN := map[bool]int{false: 1, true: 3}[show]; len(after) != wantN {
			t.Fatalf("show=%v after merges and a delete: scan %v", show, after)
		}
	}
}

// TestGeneratedOrgHidesAutoCreated: a generated organization with the
// default (auto-created hidden) lists exactly Contacts Curated contacts,
// holds about 12% more auto-created ones, and its truth names only listed
// contacts (TruthAll adds the hidden members); with ShowAutoCreated the
// generator mixes types and lists them all.
func TestGeneratedOrgHidesAutoCreated(t *testing.T) {
	e := newEnv(t, Config{Contacts: 3000, Seed: 13, ActivityRate: 0.02})
	ids := scanAll(t, e, "/api/v2/externalcontacts/scan/contacts", 200, nil)
	if len(ids) != 3000 || e.sb.Len() != 3000 {
		t.Fatalf("scanned %d, Len %d, want 3000", len(ids), e.sb.Len())
	}
	listed := map[string]bool{}
	for _, id := range ids {
		c, _ := e.sb.Contact(id)
		if c.Type != cm.TypeCurated {
			t.Fatalf("listed %s is %s", id, c.Type)
		}
		listed[id] = true
	}
	if hidden := e.sb.Canonical() - 3000; hidden < 300 || hidden > 420 {
		t.Fatalf("%d hidden auto-created contacts, want about 360", hidden)
	}
	var truth, all [][]string
	e.doTok("", "GET", "/sandbox/truth", nil).decode(t, &truth)
	e.doTok("", "GET", "/sandbox/truth?all=true", nil).decode(t, &all)
	if len(truth) < 200 || !slices.EqualFunc(truth, e.sb.Truth(), slices.Equal) || !slices.EqualFunc(all, e.sb.TruthAll(), slices.Equal) {
		t.Fatalf("truth %d clusters, all %d", len(truth), len(all))
	}
	clustered := 0
	for _, cl := range truth {
		for _, id := range cl {
			if !listed[id] {
				t.Fatalf("truth names %s, which the scan does not list", id)
			}
		}
		clustered += len(cl)
	}
	if frac := float64(clustered) / 3000; frac < 0.18 || frac > 0.22 {
		t.Fatalf("%.3f of the listed contacts in clusters, want 0.2", frac)
	}
	withHidden := 0
	for _, cl := range all {
		var vis []string
		for _, id := range cl {
			if listed[id] {
				vis = append(vis, id)
			}
		}
		if len(vis) < len(cl) {
			withHidden++
		}
		if len(vis) >= 2 && !slices.ContainsFunc(truth, func(c []string) bool { return slices.Equal(c, vis) }) {
			t.Fatalf("cluster %v: its listed part %v is not in Truth", cl, vis)
		}
	}
	if withHidden < 30 {
		t.Fatalf("%d clusters with a hidden member", withHidden)
	}
	// Hidden contacts still have conversations.
	hiddenActive := 0
	for _, id := range e.sb.ActiveContacts() {
		if !listed[id] {
			hiddenActive++
		}
	}
	if hiddenActive == 0 {
		t.Fatal("no hidden contact has activity")
	}

	shown := newEnv(t, Config{Contacts: 3000, Seed: 13, ShowAutoCreated: true})
	types := map[string]int{}
	for _, id := range scanAll(t, shown, "/api/v2/externalcontacts/scan/contacts", 200, nil) {
		c, _ := shown.sb.Contact(id)
		types[c.Type]++
	}
	if types[cm.TypeCurated]+types[cm.TypeIdentified]+types[cm.TypeEphemeral] != 3000 || types[cm.TypeIdentified] == 0 || types[cm.TypeEphemeral] == 0 ||
		shown.sb.Canonical() != 3000 || !slices.EqualFunc(shown.sb.Truth(), shown.sb.TruthAll(), slices.Equal) {
		t.Fatalf("ShowAutoCreated: types %v, Canonical %d", types, shown.sb.Canonical())
	}
}
