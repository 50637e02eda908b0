package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/store"
)

// benchContacts returns n realistic contacts.
func benchContacts(n, gen int) []cm.Contact {
	cs := make([]cm.Contact, n)
	md := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(gen) * time.Second)
	for i := range cs {
		cs[i] = cm.Contact{
			ID: fmt.Sprintf("%08d-7a1c-4e0b-9a55-%012d", i, i), Division: &cm.Ref{ID: "7d4c-division"},
			FirstName: "Annabelle", LastName: fmt.Sprintf("Smith%d", i%5000), Title: "Buyer",
			WorkEmail: fmt.Sprintf("ann.smith%d@example.com", i), PersonalEmail: fmt.Sprintf("ann%d@mail.example", i),
			CellPhone: &cm.PhoneNumber{Display: "+1 317-555-0100", E164: fmt.Sprintf("+1317555%04d", i%10000), CountryCode: "US"},
			WorkPhone: &cm.PhoneNumber{Display: "+1 317-555-0199", E164: "+13175550199", CountryCode: "US"},
			Address:   &cm.Address{Address1: "12 Main Street", City: "Indianapolis", State: "IN", PostalCode: "46204", CountryCode: "US"},
			Type:      cm.TypeCurated, ModifyDate: md, CreateDate: md.Add(-time.Hour * 24 * 300),
			ExternalIDs: []cm.ExternalID{{ExternalSource: &cm.ExternalSource{ID: "crm", Name: "CRM"}, Value: fmt.Sprint(i)}},
		}
	}
	return cs
}

func benchNorm(c *cm.Contact) []byte {
	return []byte(c.LastName + "|" + c.WorkEmail + "|" + c.CellPhone.E164)
}

// BenchmarkUpsertContacts upserts batches of 1,000 new contacts (one
// transaction each) into a growing snapshot and reports contacts/s.
func BenchmarkUpsertContacts(b *testing.B) {
	for _, bc := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", testdb.SQLite}, {"postgres", testdb.Postgres}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := store.Open(context.Background(), bc.dsn(b), store.Options{Normalizer: benchNorm, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const batch = 1000
			all := benchContacts(b.N*batch, 0)
			b.ResetTimer()
			for i := range b.N {
				j := i * batch
				if err := s.UpsertContacts(context.Background(), all[j:j+batch]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "contacts/s")
		})
	}
}

// proposals returns n two-member groups.
func proposals(n int, conf float64) []cm.Group {
	gs := make([]cm.Group, n)
	for i := range gs {
		a, c := fmt.Sprintf("c%07da", i), fmt.Sprintf("c%07db", i)
		gs[i] = cm.Group{
			Members: []string{a, c}, SurvivorID: a, Confidence: conf,
			Merged:      &cm.Contact{ID: a, FirstName: "Ann", LastName: "Smith", WorkEmail: "ann@example.com"},
			Explanation: &cm.Explanation{Links: []cm.PairEvidence{{A: a, B: c, Weight: 12.5, Probability: conf, Fields: []cm.FieldEvidence{{Field: "email", Level: "exact", Weight: 9}}}}},
		}
	}
	return gs
}

// testSaveProposalsScale saves n groups in one call, then again with changes
// to half of them and the other half gone.
func testSaveProposalsScale(t testing.TB, dsn string, n int) {
	ctx := context.Background()
	s, err := store.Open(ctx, dsn, store.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gs := proposals(n, 0.9)
	start := time.Now()
	res, err := s.SaveProposals(ctx, gs, "match")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	if res.Created != n {
		t.Fatalf("created %d of %d", res.Created, n)
	}
	second := proposals(n/2, 0.8)
	start = time.Now()
	res, err = s.SaveProposals(ctx, second, "match")
	if err != nil {
		t.Fatal(err)
	}
	again := time.Since(start)
	if res.Kept != n/2 || res.Superseded != n-n/2 {
		t.Fatalf("second run = %+v", res)
	}
	counts, err := s.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[cm.StateProposed] != n/2 {
		t.Fatalf("counts = %v", counts)
	}
	if tt, ok := t.(*testing.T); ok {
		tt.Logf("%s: %d groups created in %v; refresh %d + supersede %d in %v", s.Kind(), n, first, n/2, n-n/2, again)
	}
}

// TestSaveProposalsScale checks one SaveProposals call of 20,000 groups
// (2,000 with -short); BenchmarkSaveProposals200k runs the full size.
func TestSaveProposalsScaleSQLite(t *testing.T) {
	testSaveProposalsScale(t, testdb.SQLite(t), proposalScale())
}

func TestSaveProposalsScalePostgres(t *testing.T) {
	testSaveProposalsScale(t, testdb.Postgres(t), proposalScale())
}

func proposalScale() int {
	if testing.Short() {
		return 2000
	}
	return 20000
}

// BenchmarkSaveProposals200k saves 200,000 groups in one call, then a second
// run that refreshes 100,000 and supersedes 100,000; reports seconds of each.
func BenchmarkSaveProposals200k(b *testing.B) {
	for _, bc := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", testdb.SQLite}, {"postgres", testdb.Postgres}} {
		b.Run(bc.name, func(b *testing.B) {
			const n = 200000
			ctx := context.Background()
			var create, rerun time.Duration
			for range b.N {
				b.StopTimer()
				s, err := store.Open(ctx, bc.dsn(b), store.Options{Logger: quietLogger()})
				if err != nil {
					b.Fatal(err)
				}
				gs, second := proposals(n, 0.9), proposals(n/2, 0.8)
				b.StartTimer()
				start := time.Now()
				if _, err := s.SaveProposals(ctx, gs, "match"); err != nil {
					b.Fatal(err)
				}
				create += time.Since(start)
				start = time.Now()
				res, err := s.SaveProposals(ctx, second, "match")
				if err != nil {
					b.Fatal(err)
				}
				rerun += time.Since(start)
				b.StopTimer()
				if res.Superseded != n/2 {
					b.Fatalf("second run = %+v", res)
				}
				_ = s.Close()
			}
			b.ReportMetric(create.Seconds()/float64(b.N), "create-s")
			b.ReportMetric(rerun.Seconds()/float64(b.N), "rerun-s")
		})
	}
}
