// Package storetest is the conformance suite of store.Store: every backend
// runs the same tests through Run. The tests live in one file per area of
// the Store interface (contacts.go, scan.go, proposals.go, groups.go,
// transition.go, leases.go, ledger.go, concurrency.go, migrations.go,
// meta.go, constraints.go, console.go: the console's store.QueueRows; cycles.go:
// store.CycleStore; discover.go: the ids a discovery could not read);
// each opens its own database through the Harness, so all of them run in
// parallel.
package storetest

import "testing"

// Harness tells Run how to reach a backend.
type Harness struct {
	// NewDSN returns the dsn of a fresh, empty database (a SQLite path in a
	// temp dir, or a PostgreSQL URL with its own schema). It must register
	// any cleanup with t and be safe to call from parallel tests.
	NewDSN func(t testing.TB) string
	// Exec runs raw SQL on the database named by dsn, bypassing the store
	// (used to prove that the database itself refuses ledger edits).
	Exec func(t testing.TB, dsn, sql string) error
	// Query runs a raw query on the database named by dsn, bypassing the
	// store, and returns its rows with every value as text (used to check
	// group_members, which no store method reads). It fails t on error.
	Query func(t testing.TB, dsn, sql string) [][]string
}

// Run runs the conformance suite against the backend h reaches.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"Contacts", testContacts},
		{"ContactsModifyDate", testContactsModifyDate},
		{"EachOrderAndStop", testEachOrderAndStop},
		{"Scan", testScan},
		{"SaveProposals", testSaveProposals},
		{"RefreshKeepsStewardChoice", testRefreshKeepsStewardChoice},
		{"TransitionChecks", testTransitionChecks},
		{"TransitionMany", testTransitionMany},
		{"TransitionEffects", testTransitionEffects},
		{"TransitionLease", testTransitionLease},
		{"TransitionChildren", testTransitionChildren},
		{"Leases", testLeases},
		{"Ledger", testLedger},
		{"LedgerImmutable", testLedgerImmutable},
		{"GroupsFilterAndCount", testGroupsFilterAndCount},
		{"ConcurrentTransition", testConcurrentTransition},
		{"ConcurrentLeases", testConcurrentLeases},
		{"Migrations", testMigrations},
		{"Constraints", testConstraints},
		{"TransitionConstraints", testTransitionConstraints},
		{"SupersedeKeepsDecisions", testSupersedeKeepsDecisions},
		{"RejectionWithdraws", testRejectionWithdraws},
		{"Org", testOrg},
		{"OrgRace", testOrgRace},
		{"RequestCounts", testRequestCounts},
		{"MustExist", testMustExist},
		{"QueueRows", testQueueRows},
		{"Workers", testWorkers},
		{"MatchState", testMatchState},
		{"Cycles", testCycles},
		{"CycleSlotsAndSkips", testCycleSlotsAndSkips},
		{"ConcurrentCycles", testConcurrentCycles},
		{"PolicyVerdicts", testPolicyVerdicts},
		{"PolicyVerdictsPruned", testPolicyVerdictsPruned},
		{"Budget", testBudget},
		{"Unreadable", testUnreadable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // every test opens its own database with h.NewDSN
			tc.fn(t, h)
		})
	}
}
