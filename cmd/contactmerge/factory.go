package main

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
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
		Normalizer: match.NormalizerFunc(match.DefaultConfig()), Logger: f.Logger, Now: f.Now, MustExist: mustExist,
	})
}

// Credentials returns the OAuth client from the environment; the secret may
// also come from the file named by GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE.
func (f *Factory) Credentials() (region, id, secret string, err error) {
	region = f.Getenv("GENESYSCLOUD_REGION")
	id = f.Getenv("GENESYSCLOUD_OAUTHCLIENT_ID")
	secret = f.Getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET")
	if secret == "" {
		if path := f.Getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE"); path != "" {
			b, rerr := os.ReadFile(path)
			if rerr != nil {
				return "", "", "", cm.Errorf(cm.EINVALID, "reading GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE: %v", rerr)
			}
			secret = strings.TrimSpace(string(b))
		}
	}
	var missing []string
	for name, v := range map[string]string{"GENESYSCLOUD_REGION": region, "GENESYSCLOUD_OAUTHCLIENT_ID": id, "GENESYSCLOUD_OAUTHCLIENT_SECRET": secret} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", "", "", cm.Errorf(cm.EINVALID, "missing configuration: set %s (a region key such as us-east-1 or a base URL such as the sandbox's http://127.0.0.1:8089)", strings.Join(missing, ", "))
	}
	return region, id, secret, nil
}
