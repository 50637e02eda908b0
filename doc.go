// Package contactmerge holds the domain of contactmerge: the Genesys Cloud
// ExternalContact model, merge groups and their state machine, review
// decisions, the audit ledger, and the Store interface that the SQLite and
// PostgreSQL implementations satisfy.
//
// The root package imports no other package of the project. The packages
// beside it each wrap one dependency (genesys: the REST API; sandbox: an
// emulated organization; store: persistence; match: duplicate detection;
// engine: preflight and merge execution), and only cmd/contactmerge wires them
// together. See ../shared/design/ARCHITECTURE.md for the data flow.
package contactmerge
