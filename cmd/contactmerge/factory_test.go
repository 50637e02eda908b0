package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
