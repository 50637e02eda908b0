package main

import (
	"strings"
	"testing"

	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestAuthCheckPool: auth check gets a token for every further OAuth client
// and names each with its verdict; a refused one fails the check (exit 1)
// without its secret in the output.
func TestAuthCheckPool(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 20, Seed: 1, Clients: []sandbox.Client{{ID: "second", Secret: "second-secret"}}})
	env := append(o.Env(), "GENESYSCLOUD_OAUTHCLIENT_ID_2=second", "GENESYSCLOUD_OAUTHCLIENT_SECRET_2=second-secret")
	r := run(t, env, "auth", "check")
	if r.code != 0 || !strings.Contains(r.out, "oauth client  GENESYSCLOUD_OAUTHCLIENT_ID_2 (second): ok") {
		t.Fatalf("auth check with two clients: code %d\n%s%s", r.code, r.out, r.err)
	}
	r = run(t, env, "auth", "check", "--json")
	if r.code != 0 || !strings.Contains(r.out, `"otherClients"`) || !strings.Contains(r.out, `"status": "ok"`) {
		t.Fatalf("--json: code %d\n%s%s", r.code, r.out, r.err)
	}
	const wrong = "wrong-second-Secret42"
	env = append(o.Env(), "GENESYSCLOUD_OAUTHCLIENT_ID_2=second", "GENESYSCLOUD_OAUTHCLIENT_SECRET_2="+wrong)
	r = run(t, env, "auth", "check")
	if r.code != 1 || !strings.Contains(r.out, "(second): failed: ") || !strings.Contains(r.err, "OAuth client GENESYSCLOUD_OAUTHCLIENT_ID_2") {
		t.Fatalf("a refused second client: code %d\n%s%s", r.code, r.out, r.err)
	}
	if strings.Contains(r.out+r.err, wrong) {
		t.Fatalf("the secret appears in the output:\n%s%s", r.out, r.err)
	}
}
