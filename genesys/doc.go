// Package genesys is a typed client for the parts of the Genesys Cloud
// public API that contactmerge uses, shaped like google/go-github: a Client
// with one service per API area (Contacts, Tokens, Analytics, Cases), every
// method taking a context first and returning (T, *Response, error), where
// Response carries the parsed inin-ratelimit-* headers and the correlation
// id.
//
// # Hosts and authentication
//
// Config.Region is a region key ("us-east-1", see Regions) or a base URL;
// ResolveRegion derives the API host (api.<domain>) and the login host
// (login.<domain>). A base URL whose host does not start with "api." (the
// sandbox, http://127.0.0.1:8089) serves both. Tokens come from
// POST <login>/oauth/token with the form grant_type=client_credentials and
// Authorization: Basic base64(clientId:clientSecret), the id and secret sent
// raw, exactly as every official SDK sends them (GO SDK
// platformclientv2/configuration.go AuthorizeClientCredentials:
// base64.StdEncoding of clientID+":"+clientSecret; PY SDK api_client.py).
// golang.org/x/oauth2/clientcredentials is not used for this: with
// AuthStyleInHeader it percent-escapes both first (RFC 6749 §2.3.1), and
// whether the platform decodes that is undocumented, so a secret holding +,
// / or = could be refused. expires_in is read as a number or a numeric
// string. A token is renewed once 80% of its expires_in has passed, and once
// more when the API answers 401 (the request is then re-sent once). Token
// endpoint failures are *AuthError values ("authentication failed:
// invalid_client: …", from the body's error and error_description or
// Genesys description, GO SDK AuthErrorResponse) that never contain the
// client secret or the endpoint's raw body.
//
// # Transports
//
// Every request goes through http.RoundTripper layers, outermost first:
// retry, rate limiter, auth, meter, then the base transport.
//
//   - retry: a 429 is retried for every method after Retry-After (integer
//     seconds; a Retry-After longer than Config.MaxRetryWait is returned as
//     a *RateLimitError instead); 5xx and network errors are retried with
//     jittered exponential backoff for safe requests only (GET, bulk reads,
//     identifier lookup, the analytics query). Merges are never retried
//     after a 5xx, a timeout or a network error: IsAmbiguous tells the
//     caller to verify the outcome instead.
//   - rate limiter (Limiter): the platform's limit is a window, so without
//     Config.RatePerMinute the limiter spends what remains of the current
//     window above Config.RateFloor at once (as fast as concurrency allows),
//     counting its own requests against it, then waits for the reset plus
//     2 s; with Config.RatePerMinute (a budget shared with other
//     integrations), and until a response reports the window, a token
//     bucket paces evenly at that rate, lowered to the platform's
//     inin-ratelimit-allowed. In both modes, when the remaining budget falls
//     below the floor, new requests wait for the window reset plus 2 s; a
//     429's Retry-After pauses every request.
//   - auth: an oauth2.Transport over the renewing token source, plus the
//     single re-send after a 401.
//   - meter: the per-attempt timeout, rate-limit header parsing and
//     Config.Observer, which sees every attempt (contactmerge's engine feeds
//     its metrics registry and adaptive concurrency from it; this package
//     keeps no registry of its own).
//
// # Several processes, several OAuth clients
//
// The platform limits each client-credentials token to 300 requests a
// minute by default (client.credentials.token.rate.per.minute, Developer
// Center limits page; Genesys developer blog 2021-02-03 "Caching in flows":
// "300 platform API requests per OAuth2 token per minute", which asks an
// integration to use a single token; community answers put the limit per
// OAuth client, community.genesys.com/discussion/api-limits). So processes
// of one integration share the token (Config.TokenCache) and its window's
// budget (Config.Budget: slices of at most 10 requests reserved before they
// are spent, BudgetWindow.Reserve), and more budget comes from more OAuth
// clients, spread by a Pool that benches a client in a 401/403/429 storm.
// See budget.go and pool.go.
//
// # Errors
//
// Non-2xx responses are *APIError (status, code, message, correlation id,
// details, and for diagnostics entityId/entityName, messageWithParams with
// messageParams, and the nested errors[] at every depth, up to 20; GO SDK
// errorbody.go, whose messageParams is a map of strings; errors.Is matches
// ErrNotFound, ErrUnauthorized, ErrForbidden, ErrConflict, ErrUnprocessable)
// or *RateLimitError (a 429, with RetryAfter; errors.Is matches
// ErrRateLimited). A body without a message gets messageWithParams with its
// {placeholders} filled in; Error() names each nested error's code and
// entity. APIError.NotFoundEntity finds a not.found nested in a 422 (a merge
// input that vanished), APIError.MissingPermissions the permissions a 403
// names. Network failures are *TransportError. Error bodies are read up to
// 64 KiB, token responses likewise.
//
// # Limits the platform does not document, and how the client copes
//
//   - Ids per bulk read and predicates per analytics query: 100 is assumed
//     (BulkMax, AnalyticsBatch); no official source states either
//     (GENESYS_API.md §0). A 413, or a 400 whose message or messageParams
//     name the batch's field ("entities", "predicates") or its count, halves
//     the batch until one is accepted; that size is kept for the client's
//     later requests and logged once ("using 25 ids per bulk read from now
//     on"). A size is kept only once it worked.
//   - Analytics intervals: a filtered conversation-details query may span at
//     most 31 days (MaxAnalyticsInterval; 7 without a filter) and returns
//     only conversations that started on a day the interval touches
//     (Developer Center, analytics detail queries; PY ConversationQuery.md).
//     ActiveConversations splits a longer interval (SplitInterval: parts
//     from UTC midnight, each at most 31 days) and de-duplicates across the
//     parts. An open email or messaging conversation older than the caller's
//     interval is invisible, so the caller's lookback must cover it.
//   - Scan cursors live 24 hours after the page that returned them (PY
//     ExternalContactsApi.md, get_externalcontacts_scan_contacts). The
//     answer to an expired one is unconfirmed; a 400, 404 or 410 that speaks
//     of the cursor, for a request that sent one, wraps ErrCursorExpired.
//   - Case lookup: divisionIds is one comma-separated string parameter and
//     expands a repeated one (GO SDK casemanagementapi.go
//     GetCasemanagementCasesExternalcontact(…, divisionIds string, expands
//     []string), JS SDK: expands as a "multi" collection).
//   - Merges: both merge endpoints declare 422 (payload.or.params.invalid)
//     since Platform API version 10831 (JS SDK release notes;
//     GENESYS_API.md §0). Which conditions answer 422 is unconfirmed; the
//     sandbox nests the specific error (not.found with entityId,
//     merge.set.limit.exceeded, bad.request) in errors[].
//
// # Permissions
//
// A client-credentials client's access comes from the roles of its OAuth
// client, not from scopes (PY OAuthClient.md: roleDivisions). No endpoint
// was found that tells such a client its own permissions reliably:
//   - GET /api/v2/tokens/me (TokenInfo) carries no permissions (PY
//     TokenInfo.md);
//   - GET /api/v2/users/me?expand=authorization is for users; a
//     client-credentials token "will not be able to access user-specific
//     APIs (e.g. GET /v2/users/me)" (help.mypurecloud.com, "Create an OAuth
//     client");
//   - GET /api/v2/authorization/subjects/me ("Returns a listing of roles and
//     permissions for the currently authenticated user", requires no
//     permission; PY AuthorizationApi.md, AuthzSubject.md → grants[].role
//     {id, name, policies[] {domain, entityName, actions[]}}) is documented
//     for users; whether it answers for a client-credentials token, and
//     whether it fills the role policies (Platform API version 10857 added
//     includeFullRoles), is unconfirmed; a third-party probe script reads
//     the roles from it, then needs GET /api/v2/authorization/roles/{id}
//     (permission authorization:role:view) for their permissions;
//   - GET /api/v2/oauth/clients/{id} lists the client's roleDivisions but
//     needs oauth:client:view, which an integration should not hold, and
//     still names roles, not permissions;
//   - GET /api/v2/authorization/permissions lists the organization's
//     permission catalogue, not the client's.
//
// So CheckPermissions probes: one request per Capability that changes
// nothing (a bulk read and a case lookup of an id that does not exist, a
// conversation query over the last hour for it, a merge of no contacts). A
// 403 means the permission is missing (*PermissionError naming it, from
// messageParams.permissions when the platform names it, else the documented
// ones); any other 4xx means the request passed authorization (the usual
// order; the same third-party script reads a 400 so). The probe of the
// merge endpoint relies on that order too: if the platform validated the
// body first, the probe would pass and the first real merge's 403 would
// still stop the run. The code missing.permissions and the parameter name
// permissions are the sandbox's (UNCONFIRMED).
//
// The API facts this package relies on, with their sources, are in the
// project design document GENESYS_API.md; what is above adds to it.
package genesys
