package main

import (
	"strings"
	"testing"

	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdAuthCheck(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdAuthCheck, "--json")
	if code != 0 || !o.asJSON {
		t.Fatalf("--json: %+v, code %d %s", o, code, msg)
	}
	_, code, msg = parse(t, nil, newCmdAuthCheck, "extra")
	wantRefused(t, code, msg, exitUsage, "unknown command")
}

func TestAuthCheck(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 50, Seed: 1})
	r := run(t, o.Env(), "auth", "check")
	if r.code != 0 || !strings.Contains(r.out, "sandbox-client") || !strings.Contains(r.out, "externalContacts:contact:view") {
		t.Fatalf("auth check: code %d\n%s%s", r.code, r.out, r.err)
	}
	const wrong = "wrong-secret-Xyz987"
	env := append(o.Env()[:2:2], "GENESYSCLOUD_OAUTHCLIENT_SECRET="+wrong)
	r = run(t, env, "auth", "check")
	if r.code == 0 {
		t.Fatalf("auth check with a wrong secret exited 0:\n%s", r.out)
	}
	if strings.Contains(r.out+r.err, wrong) {
		t.Fatalf("the secret appears in the output:\n%s%s", r.out, r.err)
	}
	if !strings.Contains(strings.ToLower(r.err), "auth") {
		t.Errorf("message does not say authentication failed: %q", r.err)
	}
	r = run(t, nil, "auth", "check")
	if r.code != 2 || !strings.Contains(r.err, "GENESYSCLOUD_REGION") {
		t.Errorf("missing configuration: code %d, %q", r.code, r.err)
	}
}
