// Package sandbox is an emulated Genesys Cloud organization for tests, the
// demo and `contactmerge sandbox`.
//
// A *Sandbox is an http.Handler serving the subset of the platform that
// contactmerge uses, on the real paths and with the real semantics described
// in ../shared/design/GENESYS_API.md:
//
//   - POST /oauth/token (client credentials, Basic auth) and
//     GET|HEAD|DELETE /api/v2/tokens/me;
//   - the cursor-paged scan (/api/v2/externalcontacts/scan/contacts, limit
//     10..200, and /divisionviews/all), search (pageNumber*pageSize ≤ 1000),
//     GET and DELETE of one contact, its /unresolved record, bulk reads
//     (≤ 100 ids, resolved and unresolved) and the identifier lookup;
//   - both merge endpoints: POST /contacts/merge (2..25 ids, valueOverride,
//     merge sets of at most 52) and the deprecated POST /merge/contacts
//     (never two Curated contacts). A merge creates a new canonical contact;
//     its inputs become read-only ancestors (aliases) whose GET, bulk read
//     and DELETE act on the canonical contact;
//   - the analytics conversation-details query (active conversations of a
//     set of contacts) and the case lookup by external contact.
//
// Every /api/v2 request needs a bearer token (401 when missing or expired),
// counts against its token's fixed 60-second window (inin-ratelimit-count,
// -allowed and -reset on every response; 429 with Retry-After over the
// limit), and may then draw an injected fault (Config.Faults): 500, 503, a
// dropped connection, a 504 from the gateway for a merge that still
// completes, or a burst of 429s. Merges take MergeLatency per input, so
// large merges really exceed GatewayTimeout. A merge that includes a contact
// with an active conversation or an open case answers 409 without naming it
// (Config.ConflictOnActivity). Errors use the platform's body
// {"message","code","status","contextId"} and every response carries an
// ININ-Correlation-Id. Datetimes are written as the platform writes them, in
// UTC with exactly three digits of milliseconds (TimeLayout), and record
// dates are kept to the millisecond.
//
// Data comes from a JSONL file (LoadContacts, strict: unknown fields, bytes
// that are not UTF-8 and contacts the platform would refuse are errors
// naming the file, line and field) or from Generate, which builds
// realistic contact-center contacts with known duplicate clusters (typos,
// nicknames, reformatted phones, email variants, moved addresses, missing
// fields) and look-alikes that are not duplicates (families sharing a home
// phone and address, namesakes in one city, company switchboards).
//
// The test-only endpoints GET /sandbox/truth (the generated clusters as a
// JSON array of sorted id arrays), GET /sandbox/oplog (every mutation
// applied, as a JSON array of Op) and GET /sandbox/stats (Stats) let tests
// check detection quality and exactly-once merging; the same data is
// available through Truth, Oplog and Stats.
package sandbox
