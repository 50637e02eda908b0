// Package contactmerge holds the domain of contactmerge: the Genesys Cloud
// ExternalContact model and its field table, merge groups and their state
// machine, review decisions, the audit ledger, error codes, and the Store
// interface that the SQLite and PostgreSQL implementations satisfy. It
// imports no other package of the project.
//
// Files:
//
//	contact.go   Contact (ExternalContact JSON), phones, emails, types
//	fields.go    ContactFields: the one table of contact fields (CSV import,
//	             review screens, the sandbox), (*Contact).Validate
//	state.go     GroupState and the exact edge table (CanTransition)
//	group.go     Group, its explanation, Decision, the ledger row types
//	store.go     the Store interface and its filters, Transition
//	error.go     Error and the codes each mapped once to an exit code
//
// The packages beside it:
//
//	genesys/   wraps the Genesys Cloud REST API (one dependency: the platform)
//	sandbox/   an emulated Genesys Cloud organization (http.Handler)
//	store/     wraps SQLite and PostgreSQL, and River's job tables
//	match/     logic: normalization, blocking, Fellegi-Sunter scoring,
//	           clustering, survivorship
//	engine/    logic: scan, preflight, exactly-once execution, River workers
//	review/    logic: a steward's decisions, the decision CSV, the review
//	           screen and the id map, over a Store (used by the CLI and the
//	           console alike)
//	importer/  JSONL and CSV contact files, validated line by line
//	cmd/contactmerge/  the commands; the only place that wires packages
//	           together (Factory)
//	internal/  test fixtures: testdb (a database per test), testorg (a
//	           sandbox organization with a store), testclock (the one fake
//	           clock)
//
// ARCHITECTURE.md (in the design folder beside the repository) describes
// the data flow; engine/doc.go names the function that takes each edge of
// the state machine.
package contactmerge
