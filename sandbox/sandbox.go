package sandbox

import (
	crand "crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Op is one mutation the sandbox applied, in order.
type Op struct {
	// Seq numbers the operations from 1.
	Seq int64 `json:"seq"`
	// Op is "merge" (current endpoint), "merge2" (deprecated endpoint),
	// "delete", "create" or "update" (contacts_write.go).
	Op string `json:"op"`
	// Inputs are the ids as the request named them.
	Inputs []string `json:"inputs"`
	// Resolved are the canonical contacts the inputs resolved to (what was
	// really merged or deleted).
	Resolved []string `json:"resolved"`
	// Result is the new canonical contact of a merge, or the deleted id.
	Result string `json:"result"`
	// At is when the mutation was applied (Config.Now).
	At time.Time `json:"at"`
}

// Sandbox is an emulated Genesys Cloud organization. It implements
// http.Handler and is safe for concurrent use.
type Sandbox struct {
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	mux   *http.ServeMux
	perms map[string][]string // RequiredPermissions
	bg    sync.WaitGroup
	bufs  sync.Pool // *bytes.Buffer for response bodies

	mu        sync.RWMutex
	byID      map[string]*cm.Contact // every record: canonical and ancestor
	ids       []string               // sorted ids of byID
	canonical int                    // records that are not ancestors
	listedN   int                    // records scan and search list
	truth     [][]string             // clusters as a scan sees them
	truthAll  [][]string             // clusters with their hidden members
	acts      []Activity
	actIdx    map[string][]int
	oplog     []Op
	jobs      jobTable // analytics details jobs
	idRand    *rand.Rand
	orgID     string

	amu     sync.Mutex // guards tokens, clients, stats and fault draws
	clients map[string]*oauthClient
	tokens  map[string]*token // live tokens by access token
	issued  []*token          // every token issued, in order
	frand   *rand.Rand
	stats   Stats
}

// New builds a Sandbox from cfg: it fills the defaults (Config.WithDefaults),
// refuses invalid fields with an error naming the field, loads cfg.Load or
// generates cfg.Contacts contacts, then reads cfg.Activity. Errors start
// with "sandbox: " and name the bad line of an input.
func New(cfg Config) (*Sandbox, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	seed := uint64(cfg.Seed)
	s := &Sandbox{
		cfg:     cfg,
		now:     cfg.Now,
		log:     cfg.Logger,
		perms:   RequiredPermissions(),
		actIdx:  map[string][]int{},
		idRand:  rand.New(rand.NewPCG(seed, 0x5eed1d5)),
		frand:   rand.New(rand.NewPCG(seed, 0xfa0175)),
		tokens:  map[string]*token{},
		clients: map[string]*oauthClient{},
		stats:   Stats{Requests: map[string]map[int]int{}, Faults: map[string]int{}},
	}
	s.clients[cfg.ClientID] = newClient(Client{ID: cfg.ClientID, Secret: cfg.ClientSecret, Permissions: cfg.Permissions}, cfg.RateLimit)
	for _, cl := range cfg.Clients {
		s.clients[cl.ID] = newClient(cl, cfg.RateLimit)
	}
	s.orgID = newUUID(rand.New(rand.NewPCG(seed, 0x0e6)))
	var contacts []cm.Contact
	var acts []Activity
	var truth [][]string
	if cfg.Load != nil {
		cs, err := LoadContacts(cfg.Load, inputName(cfg.Load, "contacts"))
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		contacts = cs
	} else if cfg.Contacts > 0 {
		org := Generate(GenConfig{Contacts: cfg.Contacts, Seed: cfg.Seed, DupRate: cfg.DupRate, ActivityRate: cfg.ActivityRate,
			CuratedDuplicates: !cfg.ShowAutoCreated, History: cfg.History})
		contacts, acts, truth = org.Contacts, org.Activity, org.Truth
		// Generated activity happens just before GenEpoch; move it to the
		// sandbox's present so that analytics intervals around now find it.
		shift := cfg.Now().Sub(GenEpoch())
		for i := range acts {
			if !acts[i].Start.IsZero() {
				acts[i].Start = acts[i].Start.Add(shift)
			}
			if !acts[i].End.IsZero() {
				acts[i].End = acts[i].End.Add(shift)
			}
		}
	}
	if cfg.Activity != nil {
		a, err := LoadActivity(cfg.Activity, inputName(cfg.Activity, "activity"))
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		acts = a
	}
	s.byID = make(map[string]*cm.Contact, len(contacts))
	s.ids = make([]string, 0, len(contacts))
	for i := range contacts {
		c := &contacts[i]
		if _, dup := s.byID[c.ID]; dup {
			return nil, fmt.Errorf("sandbox: duplicate contact id %q", c.ID)
		}
		s.byID[c.ID] = c
		s.ids = append(s.ids, c.ID)
		if !c.IsMerged() {
			s.canonical++
		}
		if s.listed(c) {
			s.listedN++
		}
	}
	slices.Sort(s.ids)
	s.truthAll = truth
	for _, cl := range truth {
		var vis []string
		for _, id := range cl {
			if c := s.byID[id]; c != nil && s.visibleType(c) {
				vis = append(vis, id)
			}
		}
		if len(vis) >= 2 {
			s.truth = append(s.truth, vis)
		}
	}
	for _, a := range acts {
		s.addActivityLocked(a)
	}
	s.routes()
	return s, nil
}

// Close waits for merges still completing in the background (after the
// gateway answered 504) so that no goroutine outlives the Sandbox.
func (s *Sandbox) Close() error {
	s.bg.Wait()
	return nil
}

// Truth returns the generated duplicate clusters as a scan sees them: the
// listed contact ids of each cluster (sorted), only clusters with at least
// two of them. While auto-created contacts are hidden (Config.
// ShowAutoCreated false) a cluster's Ephemeral and Identified members are
// left out; TruthAll has them.
func (s *Sandbox) Truth() [][]string { return cloneClusters(&s.mu, s.truth) }

// TruthAll returns the generated duplicate clusters with every member, the
// hidden auto-created ones included.
func (s *Sandbox) TruthAll() [][]string { return cloneClusters(&s.mu, s.truthAll) }

func cloneClusters(mu *sync.RWMutex, cs [][]string) [][]string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([][]string, len(cs))
	for i, c := range cs {
		out[i] = slices.Clone(c)
	}
	return out
}

// Oplog returns every mutation applied so far, in order.
func (s *Sandbox) Oplog() []Op {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Op, len(s.oplog))
	for i, op := range s.oplog {
		op.Inputs = slices.Clone(op.Inputs)
		op.Resolved = slices.Clone(op.Resolved)
		out[i] = op
	}
	return out
}

// Contact returns the record stored under id itself (not redirected to its
// canonical contact), and whether it exists.
func (s *Sandbox) Contact(id string) (cm.Contact, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byID[id]
	if !ok {
		return cm.Contact{}, false
	}
	return withSelf(*c), true
}

// Len returns the number of contacts a scan lists now: canonical
// (non-ancestor) contacts, without the auto-created ones while they are
// hidden (Config.ShowAutoCreated).
func (s *Sandbox) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.listedN
}

// Canonical returns the number of canonical (non-ancestor) contacts, listed
// or not.
func (s *Sandbox) Canonical() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.canonical
}

// routes registers the handlers.
func (s *Sandbox) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /oauth/token", s.handleToken)
	m.HandleFunc("GET /api/v2/tokens/me", s.handleTokensMe)
	m.HandleFunc("DELETE /api/v2/tokens/me", s.handleRevoke)
	m.HandleFunc("GET /api/v2/externalcontacts/scan/contacts", s.handleScan)
	m.HandleFunc("GET /api/v2/externalcontacts/scan/contacts/divisionviews/all", s.handleScan)
	m.HandleFunc("GET /api/v2/externalcontacts/contacts", s.handleSearch)
	m.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}", s.handleGet)
	m.HandleFunc("GET /api/v2/externalcontacts/contacts/{id}/unresolved", s.handleGetUnresolved)
	m.HandleFunc("DELETE /api/v2/externalcontacts/contacts/{id}", s.handleDelete)
	m.HandleFunc("POST /api/v2/externalcontacts/bulk/contacts", s.handleBulk)
	m.HandleFunc("POST /api/v2/externalcontacts/bulk/contacts/unresolved", s.handleBulk)
	m.HandleFunc("POST /api/v2/externalcontacts/identifierlookup/contacts", s.handleLookup)
	m.HandleFunc("POST /api/v2/externalcontacts/contacts/merge", s.handleMerge)
	m.HandleFunc("POST /api/v2/externalcontacts/merge/contacts", s.handleMerge2)
	m.HandleFunc("POST /api/v2/analytics/conversations/details/query", s.handleAnalytics)
	m.HandleFunc("POST /api/v2/analytics/conversations/details/jobs", s.handleJobCreate)
	m.HandleFunc("GET /api/v2/analytics/conversations/details/jobs/{jobId}", s.handleJobStatus)
	m.HandleFunc("DELETE /api/v2/analytics/conversations/details/jobs/{jobId}", s.handleJobDelete)
	m.HandleFunc("GET /api/v2/analytics/conversations/details/jobs/{jobId}/results", s.handleJobResults)
	m.HandleFunc("GET /api/v2/analytics/conversations/details/jobs/availability", s.handleJobAvailability)
	m.HandleFunc("GET /api/v2/casemanagement/cases/externalcontacts/{id}", s.handleCases)
	m.HandleFunc("GET /sandbox/truth", s.handleTruth)
	m.HandleFunc("GET /sandbox/oplog", s.handleOplog)
	m.HandleFunc("GET /sandbox/stats", s.handleStats)
	s.writeRoutes(m)
	s.mux = m
}

// newUUID returns a random version-4 UUID drawn from r.
func newUUID(r *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	return formatUUID(b)
}

// cryptoUUID returns a version-4 UUID from crypto/rand.
func cryptoUUID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hx = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hx[c>>4], hx[c&0xf]
		j += 2
	}
	return string(out[:])
}

// randomToken returns an opaque access token.
func randomToken() string {
	var b [32]byte
	_, _ = crand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
