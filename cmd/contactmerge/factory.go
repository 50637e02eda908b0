package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/store"
)

// Factory gives commands their dependencies without globals (cli/cli's
// cmdutil.Factory). Everything that talks to the outside is built lazily,
// from the environment Getenv reads and the --db flag: the store
// (OpenStore, CreateStore) and the API client (Client, in pipeline.go).
type Factory struct {
	IO     IO
	Getenv func(string) string
	Logger *slog.Logger
	Now    func() time.Time
	// Metrics collects request counters of the commands' API clients.
	Metrics *engine.Metrics
	// DB is the value of the persistent --db flag: the store, winning over
	// CONTACTMERGE_DB ("": not given).
	DB string
	// BuildInfo reads the binary's build information (version, --version);
	// nil means runtime/debug.ReadBuildInfo.
	BuildInfo func() (*debug.BuildInfo, bool)
}

// withEnv returns a copy of f whose environment has vars on top of f's: a
// command that brings its own store or organization (the demo) opens them
// through the same Factory methods as every other command. A
// CONTACTMERGE_DB among vars also wins over the --db flag.
func (f *Factory) withEnv(vars map[string]string) *Factory {
	g := *f
	if _, ok := vars["CONTACTMERGE_DB"]; ok {
		g.DB = ""
	}
	g.Getenv = func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return f.Getenv(k)
	}
	return &g
}

// DBPath returns the store DSN: the --db flag, else CONTACTMERGE_DB, else
// ./contactmerge.db.
func (f *Factory) DBPath() string {
	switch {
	case f.DB != "":
		return f.DB
	case f.Getenv("CONTACTMERGE_DB") != "":
		return f.Getenv("CONTACTMERGE_DB")
	}
	return "contactmerge.db"
}

// StoreName returns the store as commands show it: a SQLite file's absolute
// path, or a PostgreSQL URL with its password redacted.
func (f *Factory) StoreName() string { return storeName(f.DBPath()) }

// storeName is StoreName of dsn.
func storeName(dsn string) string {
	if isPostgresDSN(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			return "a PostgreSQL URL that does not parse"
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	path := strings.TrimPrefix(dsn, "file:")
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenStore opens the configured store, which must exist: commands other
// than scan and import never create one. A missing store is EINVALID (exit
// 2): "no store at NAME: run 'contactmerge scan' or 'import' first".
// Contacts written through it carry norms of the default matcher
// configuration; a match with another configuration (a region, email rules)
// sees their fingerprint differ and normalizes those contacts again
// (match.NormFingerprint), so every command opens the store the same way.
func (f *Factory) OpenStore(ctx context.Context) (store.Store, error) {
	st, err := f.openStore(ctx, true)
	if cm.IsCode(err, cm.ENOTFOUND) {
		msg := "no store at " + f.StoreName() + ": run 'contactmerge scan' or 'import' first"
		if isPostgresDSN(f.DBPath()) {
			msg += " (" + err.Error() + ")"
		}
		return nil, &noStoreError{cm.Errorf(cm.EINVALID, "%s", msg)}
	}
	return st, err
}

// noStoreError is OpenStore's error for a store that does not exist, an
// EINVALID error (exit 2).
type noStoreError struct{ err *cm.Error }

func (e *noStoreError) Error() string { return e.err.Error() }
func (e *noStoreError) Unwrap() error { return e.err }

// CreateStore opens the configured store, creating it when it does not
// exist: the commands that fill a store (scan, import, the demo).
func (f *Factory) CreateStore(ctx context.Context) (store.Store, error) {
	return f.openStore(ctx, false)
}

func (f *Factory) openStore(ctx context.Context, mustExist bool) (store.Store, error) {
	return store.Open(ctx, f.DBPath(), store.Options{
		Normalizer: f.Normalizer(), Logger: f.Logger, Now: f.Now, MustExist: mustExist,
	})
}

// Normalizer is the normalizer of the stores the factory opens (whose
// norms they keep): import encodes contacts with it before it creates the
// store.
func (f *Factory) Normalizer() cm.Normalizer { return match.NormalizerFunc(match.DefaultConfig()) }

// Credentials returns the OAuth client from the environment (the first of
// Profiles); the secret may also come from the file named by
// GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE.
func (f *Factory) Credentials() (region, id, secret string, err error) {
	region, ps, err := f.Profiles()
	if err != nil {
		return "", "", "", err
	}
	return region, ps[0].ID, ps[0].Secret, nil
}

// clientProfile is one OAuth client of the organization: a name (for logs
// and errors) with its id and secret.
type clientProfile struct {
	Name, ID, Secret string
}

// clientsFile is the profiles file CONTACTMERGE_CLIENTS names: several OAuth
// clients of one organization, in the spirit of the Genesys CLI's profiles,
// but secrets never in the file (an environment variable or a file names
// each).
type clientsFile struct {
	Region  string `json:"region"`
	Clients []struct {
		Name             string `json:"name"`
		ClientID         string `json:"clientId"`
		ClientSecretEnv  string `json:"clientSecretEnv"`
		ClientSecretFile string `json:"clientSecretFile"`
		ClientSecret     any    `json:"clientSecret"` // refused: a secret does not belong in the file
	} `json:"clients"`
}

// Profiles returns the region and the OAuth clients configured, the first
// one the client commands other than run and worker use:
//
//   - with CONTACTMERGE_CLIENTS, the clients of that JSON file
//     ({"region": …, "clients": [{"name", "clientId", "clientSecretEnv" or
//     "clientSecretFile"}]}; GENESYSCLOUD_REGION when it names no region);
//   - else GENESYSCLOUD_OAUTHCLIENT_ID and _SECRET (or _SECRET_FILE), then
//     GENESYSCLOUD_OAUTHCLIENT_ID_2 and _SECRET_2 (or _SECRET_FILE_2), _3, …
//     up to the first number not set.
//
// Anything missing or malformed is EINVALID (exit 2) naming the variable,
// the file and the client.
func (f *Factory) Profiles() (string, []clientProfile, error) {
	if path := f.Getenv("CONTACTMERGE_CLIENTS"); path != "" {
		return f.fileProfiles(path)
	}
	region := f.Getenv("GENESYSCLOUD_REGION")
	id := f.Getenv("GENESYSCLOUD_OAUTHCLIENT_ID")
	secret, err := f.secretFrom("GENESYSCLOUD_OAUTHCLIENT_SECRET", "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE")
	if err != nil {
		return "", nil, err
	}
	var missing []string
	for name, v := range map[string]string{"GENESYSCLOUD_REGION": region, "GENESYSCLOUD_OAUTHCLIENT_ID": id, "GENESYSCLOUD_OAUTHCLIENT_SECRET": secret} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", nil, cm.Errorf(cm.EINVALID, "missing configuration: set %s (a region key such as us-east-1 or a base URL such as the sandbox's http://127.0.0.1:8089)", strings.Join(missing, ", "))
	}
	ps := []clientProfile{{Name: "GENESYSCLOUD_OAUTHCLIENT_ID", ID: id, Secret: secret}}
	for n := 2; ; n++ {
		idVar := "GENESYSCLOUD_OAUTHCLIENT_ID_" + strconv.Itoa(n)
		id := f.Getenv(idVar)
		if id == "" {
			break
		}
		secretVar, fileVar := "GENESYSCLOUD_OAUTHCLIENT_SECRET_"+strconv.Itoa(n), "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE_"+strconv.Itoa(n)
		secret, err := f.secretFrom(secretVar, fileVar)
		if err != nil {
			return "", nil, err
		}
		if secret == "" {
			return "", nil, cm.Errorf(cm.EINVALID, "missing configuration: %s is set but neither %s nor %s is", idVar, secretVar, fileVar)
		}
		ps = append(ps, clientProfile{Name: idVar, ID: id, Secret: secret})
	}
	return region, ps, checkProfiles(ps, "the environment")
}

// secretFrom reads a secret from the variable v, else from the file the
// variable fileVar names ("" when neither is set).
func (f *Factory) secretFrom(v, fileVar string) (string, error) {
	if s := f.Getenv(v); s != "" {
		return s, nil
	}
	path := f.Getenv(fileVar)
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", cm.Errorf(cm.EINVALID, "reading %s: %v", fileVar, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// fileProfiles reads the profiles file at path (CONTACTMERGE_CLIENTS).
func (f *Factory) fileProfiles(path string) (string, []clientProfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, cm.Errorf(cm.EINVALID, "reading CONTACTMERGE_CLIENTS: %v", err)
	}
	var cf clientsFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cf); err != nil {
		return "", nil, cm.Errorf(cm.EINVALID, "CONTACTMERGE_CLIENTS file %s: %v", path, err)
	}
	region := cmp.Or(cf.Region, f.Getenv("GENESYSCLOUD_REGION"))
	if region == "" {
		return "", nil, cm.Errorf(cm.EINVALID, "CONTACTMERGE_CLIENTS file %s names no region: add \"region\" or set GENESYSCLOUD_REGION", path)
	}
	if len(cf.Clients) == 0 {
		return "", nil, cm.Errorf(cm.EINVALID, "CONTACTMERGE_CLIENTS file %s lists no clients", path)
	}
	var ps []clientProfile
	for i, c := range cf.Clients {
		where := fmt.Sprintf("CONTACTMERGE_CLIENTS file %s, client %d", path, i+1)
		if c.Name != "" {
			where += " (" + c.Name + ")"
		}
		switch {
		case c.ClientSecret != nil:
			return "", nil, cm.Errorf(cm.EINVALID, "%s: a secret does not belong in the file: name an environment variable (clientSecretEnv) or a file (clientSecretFile) holding it", where)
		case c.Name == "" || c.ClientID == "":
			return "", nil, cm.Errorf(cm.EINVALID, "%s: needs a name and a clientId", where)
		case (c.ClientSecretEnv == "") == (c.ClientSecretFile == ""):
			return "", nil, cm.Errorf(cm.EINVALID, "%s: needs either clientSecretEnv or clientSecretFile", where)
		}
		secret := ""
		if c.ClientSecretEnv != "" {
			if secret = f.Getenv(c.ClientSecretEnv); secret == "" {
				return "", nil, cm.Errorf(cm.EINVALID, "%s: its secret variable %s is not set", where, c.ClientSecretEnv)
			}
		} else {
			sb, err := os.ReadFile(c.ClientSecretFile)
			if err != nil {
				return "", nil, cm.Errorf(cm.EINVALID, "%s: reading its secret file: %v", where, err)
			}
			if secret = strings.TrimSpace(string(sb)); secret == "" {
				return "", nil, cm.Errorf(cm.EINVALID, "%s: its secret file %s is empty", where, c.ClientSecretFile)
			}
		}
		ps = append(ps, clientProfile{Name: c.Name, ID: c.ClientID, Secret: secret})
	}
	return region, ps, checkProfiles(ps, "CONTACTMERGE_CLIENTS file "+path)
}

// checkProfiles refuses two profiles of one name or one OAuth client id
// (one client's budget would be counted twice).
func checkProfiles(ps []clientProfile, where string) error {
	names, ids := map[string]bool{}, map[string]string{}
	for _, p := range ps {
		if names[p.Name] {
			return cm.Errorf(cm.EINVALID, "%s: the client name %s is used twice", where, p.Name)
		}
		if other := ids[p.ID]; other != "" {
			return cm.Errorf(cm.EINVALID, "%s: %s and %s are the same OAuth client (%s): one client has one budget, list it once", where, other, p.Name, p.ID)
		}
		names[p.Name], ids[p.ID] = true, p.Name
	}
	return nil
}

// Pool builds the API clients of every profile (Profiles) as one pool, with
// ratePerMinute as each client's ceiling (0: none) and observe seeing every
// request. On a PostgreSQL store (processes on several machines) each
// client shares its rate budget and its access token with every other
// process through the store (client_budgets); on SQLite each process
// decides alone.
func (f *Factory) Pool(ctx context.Context, st store.Store, ratePerMinute int, observe func(genesys.RequestInfo)) (*genesys.Pool, error) {
	region, ps, err := f.Profiles()
	if err != nil {
		return nil, err
	}
	if observe == nil {
		observe = engine.NewObserver(f.Metrics, nil)
	}
	var shared *storeBudget
	if bs, ok := st.(store.BudgetStore); ok && st.Kind() == "postgres" {
		shared = &storeBudget{st: bs}
	}
	members := make([]genesys.PoolMember, len(ps))
	for i, p := range ps {
		cfg := genesys.Config{
			Region: region, ClientID: p.ID, ClientSecret: p.Secret, Logger: f.Logger, RatePerMinute: ratePerMinute,
			UserAgent: "contactmerge", Observer: observe,
		}
		if shared != nil {
			cfg.Budget, cfg.TokenCache = shared, shared
		}
		members[i] = genesys.PoolMember{Name: p.Name, Config: cfg}
	}
	return genesys.NewPool(ctx, genesys.PoolConfig{Logger: f.Logger, Now: f.Now}, members...)
}

// storeBudget is genesys.Budget and genesys.TokenCache on the store's
// client_budgets rows: the rules are genesys.BudgetWindow.Reserve's, the
// store keeps the row and its lock.
type storeBudget struct{ st store.BudgetStore }

func (b *storeBudget) Reserve(ctx context.Context, r genesys.BudgetRequest) (genesys.BudgetGrant, error) {
	var g genesys.BudgetGrant
	_, err := b.st.UpdateBudget(ctx, r.Client, func(row *store.ClientBudget) {
		w := genesys.BudgetWindow{Reset: row.Reset, Limit: row.Limit, Reserved: row.Reserved}
		g = w.Reserve(r)
		row.Reset, row.Limit, row.Reserved = w.Reset, w.Limit, w.Reserved
	})
	return g, err
}

func (b *storeBudget) LoadToken(ctx context.Context, client string) (genesys.SharedToken, error) {
	row, err := b.st.Budget(ctx, client)
	return genesys.SharedToken{Access: row.Token, RenewAt: row.TokenRenewAt}, err
}

func (b *storeBudget) SwapToken(ctx context.Context, client, prev string, next genesys.SharedToken) (genesys.SharedToken, error) {
	row, err := b.st.UpdateBudget(ctx, client, func(row *store.ClientBudget) {
		if row.Token == "" || row.Token == prev {
			row.Token, row.TokenRenewAt = next.Access, next.RenewAt
		}
	})
	return genesys.SharedToken{Access: row.Token, RenewAt: row.TokenRenewAt}, err
}
