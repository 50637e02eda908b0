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
//   - rate limiter (Limiter): a token bucket at Config.RatePerMinute,
//     lowered to the platform's inin-ratelimit-allowed; when the remaining
//     budget falls below Config.RateFloor, new requests wait for the window
//     reset plus 2 s; a 429's Retry-After pauses every request.
//   - auth: an oauth2.Transport over the renewing token source, plus the
//     single re-send after a 401.
//   - meter: the per-attempt timeout, rate-limit header parsing and
//     Config.Observer, which sees every attempt (contactmerge's engine feeds
//     its metrics registry and adaptive concurrency from it; this package
//     keeps no registry of its own).
//
// # Errors
//
// Non-2xx responses are *APIError (status, code, message, correlation id,
// details; errors.Is matches ErrNotFound, ErrUnauthorized, ErrForbidden,
// ErrConflict) or *RateLimitError (a 429, with RetryAfter; errors.Is matches
// ErrRateLimited). Network failures are *TransportError. Error bodies are
// read up to 64 KiB.
//
// The API facts this package relies on, with their sources, are in the
// project design document GENESYS_API.md.
package genesys
