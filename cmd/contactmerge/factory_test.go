package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
)

func TestCredentials(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{"GENESYSCLOUD_REGION": "us-east-1", "GENESYSCLOUD_OAUTHCLIENT_ID": "id", "GENESYSCLOUD_OAUTHCLIENT_SECRET": "s"}
	tests := []struct {
		name   string
		env    map[string]string
		secret string
		err    string
	}{
		{name: "all set", env: full, secret: "s"},
		{name: "secret from a file", env: map[string]string{"GENESYSCLOUD_REGION": "r", "GENESYSCLOUD_OAUTHCLIENT_ID": "id",
			"GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE": secretFile}, secret: "from-file"},
		{name: "the variable wins over the file", env: map[string]string{"GENESYSCLOUD_REGION": "r", "GENESYSCLOUD_OAUTHCLIENT_ID": "id",
			"GENESYSCLOUD_OAUTHCLIENT_SECRET": "s", "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE": "/nonexistent"}, secret: "s"},
		{name: "an unreadable file", env: map[string]string{"GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE": "/nonexistent"},
			err: "reading GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE"},
		{name: "nothing set, missing names sorted", env: nil,
			err: "set GENESYSCLOUD_OAUTHCLIENT_ID, GENESYSCLOUD_OAUTHCLIENT_SECRET, GENESYSCLOUD_REGION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory(tt.env)
			_, _, secret, err := f.Credentials()
			if tt.err != "" {
				if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want EINVALID with %q", err, tt.err)
				}
				return
			}
			if err != nil || secret != tt.secret {
				t.Fatalf("secret %q, err %v; want %q", secret, err, tt.secret)
			}
		})
	}
}

func TestFactoryWithEnv(t *testing.T) {
	f, _, _ := testFactory(map[string]string{"CONTACTMERGE_DB": "outer.db", "USER": "ann"})
	g := f.withEnv(map[string]string{"CONTACTMERGE_DB": "inner.db"})
	if g.DBPath() != "inner.db" || g.Getenv("USER") != "ann" || f.DBPath() != "outer.db" {
		t.Errorf("withEnv: inner %s, USER %q, outer %s", g.DBPath(), g.Getenv("USER"), f.DBPath())
	}
	if g.IO != f.IO || g.Metrics != f.Metrics {
		t.Error("withEnv does not share the streams and metrics")
	}
	if e, _, _ := testFactory(nil); e.DBPath() != "contactmerge.db" {
		t.Errorf("default DBPath = %s", e.DBPath())
	}
}

func TestFactoryDB(t *testing.T) {
	f, _, _ := testFactory(map[string]string{"CONTACTMERGE_DB": "env.db"})
	if f.DBPath() != "env.db" {
		t.Errorf("DBPath = %s, want the variable's", f.DBPath())
	}
	f.DB = "flag.db"
	if f.DBPath() != "flag.db" {
		t.Errorf("DBPath = %s, want the flag's", f.DBPath())
	}
	// The demo's own store wins over the flag.
	if g := f.withEnv(map[string]string{"CONTACTMERGE_DB": "demo.db"}); g.DBPath() != "demo.db" || f.DBPath() != "flag.db" {
		t.Errorf("withEnv: %s, outer %s", g.DBPath(), f.DBPath())
	}
	abs, _ := filepath.Abs("flag.db")
	if f.StoreName() != abs {
		t.Errorf("StoreName = %s, want %s", f.StoreName(), abs)
	}
	for dsn, want := range map[string]string{
		"postgres://cm:s3cret@db.example.com:5432/cm?sslmode=disable": "postgres://cm:xxxxx@db.example.com:5432/cm?sslmode=disable",
		"postgresql://cm@db/cm?password=s3cret&search_path=x":         "postgresql://cm@db/cm?password=xxxxx&search_path=x",
		"postgres://db.example.com/cm":                                "postgres://db.example.com/cm",
		"file:/var/lib/contactmerge.db":                               "/var/lib/contactmerge.db",
	} {
		if got := storeName(dsn); got != want {
			t.Errorf("storeName(%s) = %s, want %s", dsn, got, want)
		}
	}
	// The persistent flag, in front of any command.
	o, code, msg := parseRoot(t, map[string]string{"CONTACTMERGE_DB": "env.db"}, "--db", "x.db", "status")
	if code != 0 || o.DBPath() != "x.db" {
		t.Errorf("--db: %v %d %s", o.DBPath(), code, msg)
	}
}

// parseRoot runs the real command tree on args with every command's work
// replaced by nothing, and returns the Factory the flags were parsed into.
func parseRoot(t *testing.T, env map[string]string, args ...string) (*Factory, int, string) {
	t.Helper()
	f, _, _ := testFactory(env)
	root := newCmdRoot(f)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.RunE != nil && !c.HasSubCommands() {
			c.RunE = func(*cobra.Command, []string) error { return nil }
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	root.SetArgs(args)
	var discard bytes.Buffer
	root.SetOut(&discard)
	root.SetErr(&discard)
	if err := root.Execute(); err != nil {
		var msg bytes.Buffer
		return f, reportError(&msg, err), msg.String()
	}
	return f, 0, ""
}
