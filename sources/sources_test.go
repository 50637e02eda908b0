package sources

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testclock"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
)

func rec(id, typ string, div *cm.Ref, created time.Time, sources ...string) cm.Contact {
	c := cm.Contact{ID: id, Type: typ, Division: div, CreateDate: created, ModifyDate: created, LastName: "Lee"}
	for i, s := range sources {
		c.ExternalIDs = append(c.ExternalIDs, cm.ExternalID{ExternalSource: &cm.ExternalSource{ID: "src-" + s, Name: s}, Value: id + string(rune('0'+i))})
	}
	return c
}

func linked(survivor string, fields map[string]float64, members ...string) cm.Group {
	var fe []cm.FieldEvidence
	for f, w := range fields {
		fe = append(fe, cm.FieldEvidence{Field: f, Weight: w})
	}
	fe = append(fe, cm.FieldEvidence{Field: "prior", Weight: 20})
	return cm.Group{Members: members, SurvivorID: survivor, Confidence: 0.99,
		Explanation: &cm.Explanation{Links: []cm.PairEvidence{{A: members[0], B: members[1], Fields: fe}}}}
}

// TestCompute counts a store's duplicates: a group's members but its
// survivor, by their own type, division, sources and month; the group by
// its strongest field (the prior aside); a rejected group not at all; a
// merged group's records from the ledger's before-images; and the new
// duplicates per day by source from the day each group was proposed.
func TestCompute(t *testing.T) {
	ctx := context.Background()
	day1 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	clock := testclock.New(day1)
	st, err := store.Open(ctx, testdb.SQLite(t), store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	home, emea := &cm.Ref{ID: "d1", Name: "Home"}, &cm.Ref{ID: "d2", Name: "EMEA Support"}
	jan, feb := time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC), time.Date(2025, 2, 5, 0, 0, 0, 0, time.UTC)
	c1, c2 := rec("c1", cm.TypeCurated, home, jan, "crm"), rec("c2", cm.TypeIdentified, emea, feb, "crm")
	must(t, st.UpsertContacts(ctx, []cm.Contact{
		rec("a1", cm.TypeCurated, home, jan, "crm"), rec("a2", cm.TypeEphemeral, emea, feb, "crm", "erp"), rec("a3", cm.TypeIdentified, nil, time.Time{}),
		rec("b1", cm.TypeCurated, home, jan), rec("b2", cm.TypeCurated, home, jan), c1, c2,
	}))
	_, err = st.SaveProposals(ctx, []cm.Group{
		linked("a1", map[string]float64{"email": 8, "phone": 3}, "a1", "a2", "a3"),
		linked("b1", map[string]float64{"phone": 5}, "b1", "b2"),
	}, "match")
	must(t, err)
	// The next day, a new group, merged since: its records are gone from
	// the snapshot, and the ledger's merge row holds their before-images.
	clock.Set(day1.Add(24 * time.Hour))
	_, err = st.SaveProposals(ctx, []cm.Group{
		linked("a1", map[string]float64{"email": 8, "phone": 3}, "a1", "a2", "a3"),
		linked("b1", map[string]float64{"phone": 5}, "b1", "b2"),
		linked("c1", map[string]float64{"externalId.crm": 12}, "c1", "c2"),
	}, "match")
	must(t, err)
	b, c := cm.GroupID([]string{"b1", "b2"}), cm.GroupID([]string{"c1", "c2"})
	_, err = st.Transition(ctx, cm.Transition{GroupID: b, To: cm.StateRejected, Actor: "ann"})
	must(t, err)
	images, err := json.Marshal([]cm.Contact{c1, c2})
	must(t, err)
	for _, to := range []cm.GroupState{cm.StateApproved, cm.StateReady, cm.StateInFlight, cm.StateMerged} {
		tr := cm.Transition{GroupID: c, To: to, Actor: "test"}
		if to == cm.StateMerged {
			tr.Events = []cm.LedgerEvent{{Kind: cm.LedgerAPI, Status: 200, CanonicalID: "n1", BeforeImages: images}}
			tr.DeleteContacts = []string{"c1", "c2"}
			tr.UpsertContacts = []cm.Contact{rec("n1", cm.TypeCurated, home, jan, "crm")}
		}
		_, err := st.Transition(ctx, tr)
		must(t, err)
	}

	r, err := Compute(ctx, st)
	must(t, err)
	want := Report{
		Groups: 2, Duplicates: 3, Contacts: 5, Rejected: 1,
		ByType:       []Count{{"Identified", 2, 2}, {"Ephemeral", 1, 1}},
		ByDivision:   []Count{{"EMEA Support", 2, 2}, {None, 1, 1}},
		BySource:     []Count{{"crm", 2, 2}, {None, 1, 1}, {"erp", 1, 1}},
		ByMonth:      []Count{{None, 1, 1}, {"2025-02", 2, 2}},
		ByIdentifier: []Count{{"email", 1, 1}, {"externalId.crm", 1, 1}},
		PerDay: []Day{
			{Day: "2026-05-01", Source: None, Groups: 1, Duplicates: 1},
			{Day: "2026-05-01", Source: "crm", Groups: 1, Duplicates: 1},
			{Day: "2026-05-01", Source: "erp", Groups: 1, Duplicates: 1},
			{Day: "2026-05-02", Source: "crm", Groups: 1, Duplicates: 1},
		},
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Fatalf("Compute (-want +got):\n%s", d)
	}
	if got := LastDays(r.PerDay, 1); len(got) != 1 || got[0].Day != "2026-05-02" {
		t.Fatalf("LastDays 1 = %+v", got)
	}
	rates := Rates(r.PerDay)
	if rates[0].Source != "crm" || rates[0].Days != 2 || rates[0].PerDay != 1 {
		t.Fatalf("Rates = %+v", rates)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
