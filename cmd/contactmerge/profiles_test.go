package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

// TestProfiles: the OAuth clients of a pool, from numbered environment
// variables or a CONTACTMERGE_CLIENTS file; what is missing or malformed is
// EINVALID naming the variable, the file and the client, and no secret is
// ever in an error.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret2")
	if err := os.WriteFile(secretFile, []byte("second-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := map[string]string{"GENESYSCLOUD_REGION": "us-east-1", "GENESYSCLOUD_OAUTHCLIENT_ID": "id1", "GENESYSCLOUD_OAUTHCLIENT_SECRET": "first-secret"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	good := write("clients.json", `{"region": "eu-west-1", "clients": [
		{"name": "primary", "clientId": "a", "clientSecretEnv": "PRIMARY_SECRET"},
		{"name": "secondary", "clientId": "b", "clientSecretFile": "`+secretFile+`"}]}`)
	tests := []struct {
		name   string
		env    map[string]string
		region string
		want   []string // name=id:secret
		err    string
	}{
		{name: "one client", env: base, region: "us-east-1", want: []string{"GENESYSCLOUD_OAUTHCLIENT_ID=id1:first-secret"}},
		{name: "numbered", env: with("GENESYSCLOUD_OAUTHCLIENT_ID_2", "id2", "GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE_2", secretFile,
			"GENESYSCLOUD_OAUTHCLIENT_ID_3", "id3", "GENESYSCLOUD_OAUTHCLIENT_SECRET_3", "third-secret", "GENESYSCLOUD_OAUTHCLIENT_ID_5", "ignored", "GENESYSCLOUD_OAUTHCLIENT_SECRET_5", "x"),
			region: "us-east-1", want: []string{"GENESYSCLOUD_OAUTHCLIENT_ID=id1:first-secret", "GENESYSCLOUD_OAUTHCLIENT_ID_2=id2:second-secret", "GENESYSCLOUD_OAUTHCLIENT_ID_3=id3:third-secret"}},
		{name: "numbered without a secret", env: with("GENESYSCLOUD_OAUTHCLIENT_ID_2", "id2"),
			err: "GENESYSCLOUD_OAUTHCLIENT_ID_2 is set but neither GENESYSCLOUD_OAUTHCLIENT_SECRET_2 nor GENESYSCLOUD_OAUTHCLIENT_SECRET_FILE_2 is"},
		{name: "the same client twice", env: with("GENESYSCLOUD_OAUTHCLIENT_ID_2", "id1", "GENESYSCLOUD_OAUTHCLIENT_SECRET_2", "first-secret"),
			err: "GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_ID_2 are the same OAuth client (id1)"},
		{name: "file", env: map[string]string{"CONTACTMERGE_CLIENTS": good, "PRIMARY_SECRET": "p-secret"},
			region: "eu-west-1", want: []string{"primary=a:p-secret", "secondary=b:second-secret"}},
		{name: "file, secret variable unset", env: map[string]string{"CONTACTMERGE_CLIENTS": good},
			err: "client 1 (primary): its secret variable PRIMARY_SECRET is not set"},
		{name: "file with a secret in it", env: map[string]string{"CONTACTMERGE_CLIENTS": write("inline.json",
			`{"region": "r", "clients": [{"name": "x", "clientId": "a", "clientSecret": "do-not-store"}]}`)},
			err: "client 1 (x): a secret does not belong in the file"},
		{name: "file with an unknown field", env: map[string]string{"CONTACTMERGE_CLIENTS": write("typo.json",
			`{"region": "r", "clients": [{"name": "x", "client_id": "a"}]}`)}, err: `unknown field "client_id"`},
		{name: "file without a region", env: map[string]string{"CONTACTMERGE_CLIENTS": write("noregion.json",
			`{"clients": [{"name": "x", "clientId": "a", "clientSecretEnv": "S"}]}`)}, err: "names no region"},
		{name: "file missing", env: map[string]string{"CONTACTMERGE_CLIENTS": filepath.Join(dir, "none.json")}, err: "reading CONTACTMERGE_CLIENTS"},
		{name: "nothing set", env: nil, err: "set GENESYSCLOUD_OAUTHCLIENT_ID, GENESYSCLOUD_OAUTHCLIENT_SECRET, GENESYSCLOUD_REGION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := testFactory(tt.env)
			region, ps, err := f.Profiles()
			if tt.err != "" {
				if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want EINVALID with %q", err, tt.err)
				}
				for _, secret := range []string{"do-not-store", "first-secret", "second-secret", "third-secret"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error shows a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Name+"="+p.ID+":"+p.Secret)
			}
			if region != tt.region || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Profiles = %s %v, want %s %v", region, got, tt.region, tt.want)
			}
		})
	}
}
