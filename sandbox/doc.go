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
//     (resolved and unresolved) and the identifier lookup;
//   - both merge endpoints: POST /contacts/merge (2..25 ids, valueOverride,
//     merge sets of at most 52) and the deprecated POST /merge/contacts
//     (never two Curated contacts). A merge creates a new canonical contact;
//     its inputs become read-only ancestors (aliases) whose GET, bulk read
//     and DELETE act on the canonical contact;
//   - the analytics conversation-details query (active conversations of a
//     set of contacts, or every conversation naming a contact) and its
//     asynchronous jobs (submit, status, cursor-paged results of up to
//     MaxJobPageSize, delete, availability; analytics_jobs.go), over the
//     activity and, with Config.History, 62 days of ended conversations
//     through which the hidden auto-created contacts are reached
//     (conversations.go); and the case lookup by external contact.
//
// Every /api/v2 request needs a bearer token (401 when missing or expired),
// counts against its token's fixed 60-second window (inin-ratelimit-count,
// -allowed and -reset on every response; 429 with Retry-After over the
// limit), is checked against its OAuth client's permissions (403), and may
// then draw an injected fault (Config.Faults): 500, 503, a dropped
// connection, a 504 from the gateway for a merge that still completes, or a
// burst of 429s. Merges take MergeLatency per input, so large merges really
// exceed GatewayTimeout. A merge that includes a contact with an active
// conversation or an open case answers 409 without naming it
// (Config.ConflictOnActivity). Errors use the platform's body
// {"message","code","status","contextId"} plus, where the platform fills
// them, "messageWithParams" and "messageParams" (the message with its
// {placeholders} and their values), "entityId" and nested "errors" (GO
// SDK errorbody.go, PY ErrorBody.md); every response carries an
// ININ-Correlation-Id. Datetimes are written as the platform writes them,
// in UTC with exactly three digits of milliseconds (TimeLayout), and record
// dates are kept to the millisecond.
//
// # Where a real tenant's first run differs, and how the sandbox follows it
//
// Each behaviour has a Config field; the default is the platform's, as far
// as the sources settle it (UNCONFIRMED marks what they do not).
//
//   - Token credentials (Config.URLDecodeCredentials, default false): the
//     Basic credentials are decoded exactly as every official SDK encodes
//     them, base64(clientId:clientSecret) with the raw id and secret (GO
//     SDK platformclientv2/configuration.go AuthorizeClientCredentials:
//     base64.StdEncoding of clientID+":"+clientSecret; PY SDK api_client.py
//     get_client_credentials_token; GENESYS_API.md §0). A client that
//     percent-escapes them first (RFC 6749 §2.3.1, as
//     golang.org/x/oauth2/clientcredentials does with AuthStyleInHeader)
//     gets 401 invalid_client whenever the secret holds +, /, = or another
//     character that escapes. Whether the platform decodes the escaped form
//     is UNCONFIRMED; URLDecodeCredentials accepts both.
//   - OAuth clients (Config.ClientID/ClientSecret, Config.Clients): several
//     clients, each with its own secret, per-token rate limit and
//     permissions.
//   - Permissions (Config.Permissions, Client.Permissions, default all of
//     AllPermissions): a request to a route none of whose
//     RequiredPermissions the client's role holds gets 403
//     missing.permissions, messageParams.permissions naming them. The
//     names per operation are those the PY SDK docs list
//     (ExternalContactsApi.md: externalContacts:contact:view or the legacy
//     relate:contact:view for scan, search and GET; contact:view alone for
//     unresolved reads, bulk reads and the identifier lookup;
//     externalContacts:contact:viewAll for /divisionviews/all;
//     externalContacts:contact:delete; externalContacts:identity:merge for
//     both merges. AnalyticsApi.md: analytics:conversationDetail:view or
//     analytics:agentConversationDetail:view. CaseManagementApi.md:
//     caseManagement:caseExternalContact:view). The code
//     missing.permissions and the message text are UNCONFIRMED. tokens/me
//     needs no permission (TokensApi.md) and, like the platform's TokenInfo
//     (TokenInfo.md), says nothing of permissions.
//   - Analytics intervals (Config.MaxAnalyticsInterval, default 31 days,
//     Config.MaxAnalyticsIntervalUnfiltered, default 7 days): only
//     conversations that started on a day the interval touches are returned
//     (PY ConversationQuery.md), so an open conversation older than the
//     lookback is invisible; an interval longer than 31 days with a filter,
//     or 7 without, is refused (Developer Center, "Analytics detail
//     queries", developer.genesys.cloud/analyticsdatamanagement/analytics/
//     detail/). The 400 bad.request answer is UNCONFIRMED (unofficial pages
//     report 413 for long intervals).
//   - Scan cursors (Config.CursorTTL, default 24h): "each page returns a new
//     cursor with a 24h TTL" (PY ExternalContactsApi.md,
//     get_externalcontacts_scan_contacts). A scan resumed with an expired
//     cursor gets 400 bad.request, "The cursor has expired ...",
//     messageParams.ttl; status, code and text are UNCONFIRMED. Expiry uses
//     Config.Now.
//   - Batch limits (Config.MaxBulkIDs and Config.MaxAnalyticsPredicates,
//     default 100 each, UNCONFIRMED): a bulk read with more ids, or a
//     predicate list of a details query with more predicates (counted per
//     list, clauses included), gets 400 bad.request whose messageParams
//     name the field, the count and the limit.
//   - Merges the platform cannot do (Config.LegacyMergeErrors, default
//     false): an unknown id, ids already in one merge set, a merge set over
//     MaxMergeSet, two Curated contacts on the deprecated endpoint get 422
//     payload.or.params.invalid, which both merge endpoints declare since
//     Platform API version 10831 (GENESYS_API.md §0, from the JS SDK
//     release notes; the JS SDK snapshot read here, 259.0.0, predates it),
//     with entityId naming the contact to blame and the specific error
//     (not.found 404, merge.set.limit.exceeded, bad.request) nested in
//     errors[]. Which conditions the platform answers with 422 is
//     UNCONFIRMED; LegacyMergeErrors gives the sandbox's earlier answers
//     (404 not.found; 400). Malformed requests (not 2..25 ids, an empty or
//     repeated id) stay 400 bad.request.
//   - Auto-created contacts (Config.ShowAutoCreated, default false):
//     Ephemeral and Identified contacts appear in neither scan nor search
//     (SCV: the developer-blog post on the single customer view), but are
//     read by id, bulk read, identifier lookup and through their
//     conversations. The generator then builds the organization a tenant's
//     scan shows (GenConfig.CuratedDuplicates): Contacts Curated records
//     whose duplicates come from repeated CSV imports and CRM syncs, plus
//     about 12% hidden auto-created ones. Len counts what a scan lists,
//     Canonical every canonical contact.
//
// # Data
//
// Data comes from a JSONL file (LoadContacts, strict: unknown fields, bytes
// that are not UTF-8 and contacts the platform would refuse are errors
// naming the file, line and field) or from Generate, which builds
// realistic contact-center contacts with known duplicate clusters (typos,
// nicknames, reformatted phones, email variants, moved addresses, missing
// fields, and with CuratedDuplicates spreadsheet re-imports without
// external ids and CRM re-syncs under other external ids) and look-alikes
// that are not duplicates (families sharing a home phone and address,
// namesakes in one city, company switchboards).
//
// # Test-only endpoints
//
// GET /sandbox/truth (the generated clusters as a scan sees them: a JSON
// array of sorted id arrays of listed contacts; ?all=true adds the hidden
// members), GET /sandbox/oplog (every mutation applied, as a JSON array of
// Op) and GET /sandbox/stats (Stats: requests by route and status, and per
// OAuth client and per token the requests, 429s, 403s and the most requests
// within one rate-limit window) let tests check detection quality,
// exactly-once merging and that no client exceeded its budget; the same
// data is available through Truth, TruthAll, Oplog and Stats.
package sandbox
