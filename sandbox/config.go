package sandbox

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Permission names, as the SDK documentation of each operation lists them
// (Python SDK ExternalContactsApi.md, AnalyticsApi.md, CaseManagementApi.md).
const (
	PermContactView             = "externalContacts:contact:view"
	PermContactViewAll          = "externalContacts:contact:viewAll"
	PermContactAdd              = "externalContacts:contact:add"
	PermContactEdit             = "externalContacts:contact:edit"
	PermContactDelete           = "externalContacts:contact:delete"
	PermIdentityMerge           = "externalContacts:identity:merge"
	PermConversationDetailView  = "analytics:conversationDetail:view"
	PermAgentConversationDetail = "analytics:agentConversationDetail:view"
	PermCaseExternalContactView = "caseManagement:caseExternalContact:view"
	PermRelateContactView       = "relate:contact:view"
	PermRelateContactDelete     = "relate:contact:delete"
)

// AllPermissions returns every permission the sandbox knows, the set a
// client holds by default. Only some guard a sandbox endpoint (see
// RequiredPermissions); the others (add, edit) are accepted so that a
// client can be given the role a real integration would have.
func AllPermissions() []string {
	return []string{
		PermContactView, PermContactViewAll, PermContactAdd, PermContactEdit, PermContactDelete,
		PermIdentityMerge, PermConversationDetailView, PermAgentConversationDetail,
		PermCaseExternalContactView, PermRelateContactView, PermRelateContactDelete,
	}
}

// RequiredPermissions maps each /api/v2 route the sandbox serves (its
// ServeMux pattern, as Stats.Requests names it) to the permissions that
// allow it: any one of them will do. Routes that are not listed
// (tokens/me) need none.
func RequiredPermissions() map[string][]string {
	view := []string{PermContactView, PermRelateContactView}
	return map[string][]string{
		"GET /api/v2/externalcontacts/scan/contacts":                       view,
		"GET /api/v2/externalcontacts/scan/contacts/divisionviews/all":     {PermContactViewAll},
		"GET /api/v2/externalcontacts/contacts":                            view,
		"GET /api/v2/externalcontacts/contacts/{id}":                       view,
		"GET /api/v2/externalcontacts/contacts/{id}/unresolved":            {PermContactView},
		"DELETE /api/v2/externalcontacts/contacts/{id}":                    {PermContactDelete, PermRelateContactDelete},
		"POST /api/v2/externalcontacts/bulk/contacts":                      {PermContactView},
		"POST /api/v2/externalcontacts/bulk/contacts/unresolved":           {PermContactView},
		"POST /api/v2/externalcontacts/identifierlookup/contacts":          {PermContactView},
		"POST /api/v2/externalcontacts/contacts/merge":                     {PermIdentityMerge},
		"POST /api/v2/externalcontacts/merge/contacts":                     {PermIdentityMerge},
		"POST /api/v2/analytics/conversations/details/query":               {PermConversationDetailView, PermAgentConversationDetail},
		"POST /api/v2/analytics/conversations/details/jobs":                {PermConversationDetailView, PermAgentConversationDetail},
		"GET /api/v2/analytics/conversations/details/jobs/{jobId}":         {PermConversationDetailView, PermAgentConversationDetail},
		"DELETE /api/v2/analytics/conversations/details/jobs/{jobId}":      {PermConversationDetailView, PermAgentConversationDetail},
		"GET /api/v2/analytics/conversations/details/jobs/{jobId}/results": {PermConversationDetailView, PermAgentConversationDetail},
		"GET /api/v2/analytics/conversations/details/jobs/availability":    {PermConversationDetailView, PermAgentConversationDetail},
		"GET /api/v2/casemanagement/cases/externalcontacts/{id}":           {PermCaseExternalContactView},
	}
}

// Client is an OAuth client (client-credentials grant) of the organization.
type Client struct {
	// ID and Secret are the credentials, both required. The token endpoint
	// compares them with what the Basic authorization header decodes to, as
	// the platform's SDKs encode it: base64(ID:Secret), neither escaped.
	ID, Secret string
	// RateLimit is the number of requests per minute per token of this
	// client (default Config.RateLimit; negative = unlimited).
	RateLimit int
	// Permissions are the permissions of the client's role (nil: all of
	// AllPermissions; an empty non-nil slice: none). A request to a route
	// none of whose RequiredPermissions the client holds gets 403
	// missing.permissions.
	Permissions []string
}

// Config configures a Sandbox. The zero value is usable (New fills the
// defaults stated on each field); DefaultConfig additionally turns on
// ConflictOnActivity.
type Config struct {
	// Contacts is the number of contacts to generate (ignored when Load is
	// set): the number a first scan lists. Zero gives an empty organization;
	// negative is an error. While auto-created contacts are hidden (see
	// ShowAutoCreated) the generator adds Ephemeral and Identified contacts
	// on top of these, about 12% more, which scan and search do not list.
	Contacts int
	// Seed seeds the generator and the sandbox's own random decisions (new
	// ids, fault draws).
	Seed int64
	// Load, when set, is read as JSONL by LoadContacts: one ExternalContact
	// per line with the Genesys JSON names. A bad line is an error naming the
	// input and the line ("sandbox: contacts.jsonl:3: ..."); the input's
	// name is its Name() when it has one, as an *os.File does, else
	// "contacts".
	Load io.Reader
	// Activity, when set, is read as JSONL activity by LoadActivity: lines
	// {"externalContactId","conversationId","start","end"} for conversations
	// (no end = active) or {"externalContactId","caseId","status"} for cases.
	// When nil, the generator's activity is used (see ActivityRate). Errors
	// are named like those of Load (default name "activity").
	Activity io.Reader
	// ActivityRate is the fraction of generated contacts with an active
	// conversation or an open case, in [0,1] (default 0).
	ActivityRate float64
	// DupRate is the fraction of generated contacts that belong to a
	// duplicate cluster, at most 1 (default 0.2; negative: none).
	DupRate float64
	// RateLimit is the number of requests per minute per token of the
	// ClientID client, and of every client in Clients that sets none
	// (default 300; negative = unlimited).
	RateLimit int
	// Faults are the fault probabilities (see ParseFaults).
	Faults Faults
	// TokenTTL is the lifetime of access tokens (default 24h; negative is an
	// error); requests with an expired token get 401.
	TokenTTL time.Duration
	// GatewayTimeout is how long the gateway waits for a merge before it
	// answers 504 (default 60s; negative is an error). The merge still
	// completes.
	GatewayTimeout time.Duration
	// MergeLatency is the processing time of a merge per input id (default
	// 0; negative is an error).
	MergeLatency time.Duration
	// ClientID and ClientSecret are the credentials of the organization's
	// first OAuth client (defaults "sandbox-client" / "sandbox-secret"),
	// whose permissions are Permissions and whose rate limit is RateLimit.
	ClientID, ClientSecret string
	// Permissions are the permissions of the ClientID client (nil: all of
	// AllPermissions; an empty non-nil slice: none). See Client.Permissions.
	Permissions []string
	// Clients are further OAuth clients, each with its own secret, rate
	// limit and permissions (default none). Their ids must differ from
	// ClientID and from each other.
	Clients []Client
	// URLDecodeCredentials makes the token endpoint also accept Basic
	// credentials that were percent-escaped before base64 (RFC 6749
	// §2.3.1, as golang.org/x/oauth2 sends them with AuthStyleInHeader).
	// Default false: the credentials must be sent raw, as every official SDK
	// sends them; whether the platform decodes escaped ones is unconfirmed.
	URLDecodeCredentials bool
	// ConflictOnActivity makes a merge that includes a contact with an active
	// conversation or an open case fail with 409 without naming the contact
	// (DefaultConfig sets it; the real behaviour is unconfirmed).
	ConflictOnActivity bool
	// LegacyMergeErrors answers merges that are well-formed but cannot be
	// done as the sandbox used to: 404 not.found for an id that does not
	// exist, 400 for ids already in one merge set, a merge set over
	// MaxMergeSet (code merge.set.limit.exceeded) and two Curated contacts on
	// the deprecated endpoint. Default false: 422 payload.or.params.invalid
	// for all of them, as both merge endpoints declare since Platform API
	// version 10831, with the specific error nested in errors[].
	LegacyMergeErrors bool
	// ShowAutoCreated lists Ephemeral and Identified (automatically created)
	// contacts in scan and search. Default false, as the platform: they are
	// only reachable by id, bulk read, identifier lookup and through
	// conversations, and the generator then builds an organization whose
	// duplicates are Curated (repeated CSV imports and CRM syncs; see
	// GenConfig.CuratedDuplicates). When true, the generator's duplicate
	// clusters mix Curated and Identified records, all listed.
	ShowAutoCreated bool
	// CursorTTL is how long a scan cursor stays valid after the page that
	// returned it (default 24h, as the platform documents; negative: never
	// expires). A scan resumed with an expired cursor gets 400 bad.request.
	CursorTTL time.Duration
	// MaxBulkIDs is the largest number of ids a bulk read takes (default
	// 100; negative: no limit). The platform's figure is unconfirmed.
	MaxBulkIDs int
	// MaxAnalyticsPredicates is the largest number of predicates in one
	// predicate list of a conversation-details query (default 100; negative:
	// no limit). The platform's figure is unconfirmed.
	MaxAnalyticsPredicates int
	// MaxAnalyticsInterval is the longest interval of a conversation-details
	// query with a filter (default 31 days), MaxAnalyticsIntervalUnfiltered
	// that of one without (default 7 days), as the analytics detail-query
	// documentation states; negative: no limit.
	MaxAnalyticsInterval, MaxAnalyticsIntervalUnfiltered time.Duration
	// History gives generated contacts the ended conversations of the last
	// 62 days, each naming its customer's contact id: every auto-created
	// contact has at least one (the interaction it was created from), so
	// the contacts scan does not list are reachable through the analytics
	// APIs (see GenConfig.History). It changes no generated contact.
	// Default false.
	History bool
	// AnalyticsJobDelay is how long an asynchronous conversation-details
	// job stays QUEUED before it is FULFILLED (default 0: at once).
	AnalyticsJobDelay time.Duration
	// AnalyticsDataLag is how far behind the present the analytics data
	// lake is: a details job sees only the conversations that started
	// before its submission minus the lag, and says so in
	// dataAvailabilityDate (default 0: none; negative is an error). The
	// details query reads live data and is not behind.
	AnalyticsDataLag time.Duration
	// MaxJobPageSize is the largest pageSize of a details job's results page
	// (default 1000; negative: no limit). The platform's figure is
	// unconfirmed; 1000 is what published extractors ask for.
	MaxJobPageSize int
	// Now is the clock of rate-limit windows, token expiry, throttle bursts,
	// cursor expiry and record dates (default time.Now). Latencies use real
	// timers.
	Now func() time.Time
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// DefaultConfig returns the configuration of `contactmerge sandbox`: 300
// requests a minute, 24 h tokens, a 60 s gateway timeout, the default
// credentials, and 409 on merges of active contacts.
func DefaultConfig() Config {
	return Config{
		RateLimit:          300,
		TokenTTL:           24 * time.Hour,
		GatewayTimeout:     60 * time.Second,
		ClientID:           "sandbox-client",
		ClientSecret:       "sandbox-secret",
		ConflictOnActivity: true,
		DupRate:            0.2,
		Now:                time.Now,
	}
}

const day = 24 * time.Hour

// WithDefaults returns c with the defaults stated on its fields filled in
// where c leaves them zero. It does not turn on ConflictOnActivity (see
// DefaultConfig) and leaves invalid values for New to refuse.
func (c Config) WithDefaults() Config {
	if c.RateLimit == 0 {
		c.RateLimit = 300
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = day
	}
	if c.GatewayTimeout == 0 {
		c.GatewayTimeout = 60 * time.Second
	}
	if c.ClientID == "" {
		c.ClientID = "sandbox-client"
	}
	if c.ClientSecret == "" {
		c.ClientSecret = "sandbox-secret"
	}
	if c.CursorTTL == 0 {
		c.CursorTTL = day
	}
	if c.MaxBulkIDs == 0 {
		c.MaxBulkIDs = 100
	}
	if c.MaxAnalyticsPredicates == 0 {
		c.MaxAnalyticsPredicates = 100
	}
	if c.MaxAnalyticsInterval == 0 {
		c.MaxAnalyticsInterval = 31 * day
	}
	if c.MaxAnalyticsIntervalUnfiltered == 0 {
		c.MaxAnalyticsIntervalUnfiltered = 7 * day
	}
	if c.MaxJobPageSize == 0 {
		c.MaxJobPageSize = 1000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate names the first field of c that holds a value New cannot use
// (its errors start with "sandbox: ", as all of New's).
func (c Config) validate() error {
	switch {
	case c.Contacts < 0:
		return fmt.Errorf("sandbox: Contacts %d is negative", c.Contacts)
	case !(c.ActivityRate >= 0 && c.ActivityRate <= 1):
		return fmt.Errorf("sandbox: ActivityRate %v is not a fraction in [0,1]", c.ActivityRate)
	case !(c.DupRate <= 1):
		return fmt.Errorf("sandbox: DupRate %v is more than 1 (it is a fraction)", c.DupRate)
	case c.TokenTTL < 0:
		return fmt.Errorf("sandbox: TokenTTL %v is negative", c.TokenTTL)
	case c.GatewayTimeout < 0:
		return fmt.Errorf("sandbox: GatewayTimeout %v is negative", c.GatewayTimeout)
	case c.MergeLatency < 0:
		return fmt.Errorf("sandbox: MergeLatency %v is negative", c.MergeLatency)
	case c.AnalyticsJobDelay < 0:
		return fmt.Errorf("sandbox: AnalyticsJobDelay %v is negative", c.AnalyticsJobDelay)
	case c.AnalyticsDataLag < 0:
		return fmt.Errorf("sandbox: AnalyticsDataLag %v is negative", c.AnalyticsDataLag)
	}
	if err := c.Faults.validate(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := checkPermissions("Permissions", c.Permissions); err != nil {
		return err
	}
	seen := map[string]string{c.ClientID: "ClientID"}
	for i, cl := range c.Clients {
		field := fmt.Sprintf("Clients[%d]", i)
		switch {
		case cl.ID == "":
			return fmt.Errorf("sandbox: %s.ID is empty", field)
		case cl.Secret == "":
			return fmt.Errorf("sandbox: %s.Secret is empty", field)
		case seen[cl.ID] != "":
			return fmt.Errorf("sandbox: %s.ID %q is already the id of %s", field, cl.ID, seen[cl.ID])
		}
		seen[cl.ID] = field
		if err := checkPermissions(field+".Permissions", cl.Permissions); err != nil {
			return err
		}
	}
	return nil
}

// checkPermissions refuses a permission the sandbox does not know (most
// likely a typo that would silently deny everything it guards).
func checkPermissions(field string, perms []string) error {
	all := AllPermissions()
	for _, p := range perms {
		if !slices.Contains(all, p) {
			return fmt.Errorf("sandbox: %s: unknown permission %q (known: %s)", field, p, strings.Join(all, ", "))
		}
	}
	return nil
}

// inputName is the name of an input in errors: its Name() (an *os.File's
// path), else def.
func inputName(r io.Reader, def string) string {
	if n, ok := r.(interface{ Name() string }); ok && n.Name() != "" {
		return n.Name()
	}
	return def
}
