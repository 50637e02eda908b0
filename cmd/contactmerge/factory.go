package main

import (
	"context"
	"log/slog"
	"os"
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
// from the environment Getenv reads: the store (OpenStore) and the API
// client (Client, in pipeline.go).
type Factory struct {
	IO     IO
	Getenv func(string) string
	Logger *slog.Logger
	Now    func() time.Time
	// Metrics collects request counters of the commands' API clients.
	Metrics *engine.Metrics
}

// withEnv returns a copy of f whose environment has vars on top of f's: a
// command that brings its own store or organization (the demo) opens them
// through the same Factory methods as every other command.
func (f *Factory) withEnv(vars map[string]string) *Factory {
	g := *f
	g.Getenv = func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return f.Getenv(k)
	}
	return &g
}

// DBPath returns the store DSN: CONTACTMERGE_DB or ./contactmerge.db.
func (f *Factory) DBPath() string {
	if v := f.Getenv("CONTACTMERGE_DB"); v != "" {
		return v
	}
	return "contactmerge.db"
}

// OpenStore opens the configured store. Contacts written through it carry
// norms of the default matcher configuration; a match with another
// configuration (a region, email rules) sees their fingerprint differ and
// normalizes those contacts again (match.NormFingerprint), so every command
// opens the store the same way.
func (f *Factory) OpenStore(ctx context.Context) (store.Store, error) {
	return store.Open(ctx, f.DBPath(), store.Options{Normalizer: match.NormalizerFunc(match.DefaultConfig()), Logger: f.Logger, Now: f.Now})
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
