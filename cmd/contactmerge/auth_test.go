package main

import (
	"encoding/json"
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

// TestAuthCheckProbesEveryCapability: auth check probes each capability
// with a request that changes nothing, names what the client lacks, and
// sends no merge, create or update that does anything.
func TestAuthCheckProbesEveryCapability(t *testing.T) {
	perms := []string{sandbox.PermContactView, sandbox.PermIdentityMerge, sandbox.PermCaseExternalContactView, sandbox.PermContactAdd}
	o := testorg.New(t, sandbox.Config{Contacts: 30, Seed: 2, RateLimit: 100000, Permissions: perms})
	r := run(t, o.Env(), "auth", "check", "--json")
	var rep authReport
	if err := json.Unmarshal([]byte(r.out), &rep); r.code != 0 || err != nil {
		t.Fatalf("auth check --json: %v, code %d\n%s%s", err, r.code, r.out, r.err)
	}
	want := map[string]string{
		"externalContacts:contact:view":                    "ok",
		"externalContacts:identity:merge":                  "ok",
		"caseManagement:caseExternalContact:view":          "ok",
		"analytics:conversationDetail:view":                "missing",
		"analytics:conversationDetail:view (details jobs)": "missing",
		"externalContacts:contact:edit (restore)":          "missing",
		"externalContacts:contact:add (restore)":           "not checked",
	}
	for k, w := range want {
		if got := rep.Permissions[k]; !strings.HasPrefix(got, w) {
			t.Errorf("%s: %q, want %s…", k, got, w)
		}
	}
	if len(rep.Permissions) != len(want) {
		t.Errorf("permissions %v, want the keys of %v", rep.Permissions, want)
	}
	if n := len(o.SB.Oplog()); n != 0 {
		t.Errorf("auth check merged: %d operations", n)
	}
	st := o.SB.Stats()
	if n := st.Requests["POST /api/v2/externalcontacts/contacts"]; n != nil {
		t.Errorf("auth check sent a create: %v", n)
	}
	if n := st.Requests["PUT /api/v2/externalcontacts/contacts/{id}"]; n[403] != 1 || len(n) != 1 {
		t.Errorf("the edit probe: answers %v, want one 403", n)
	}
	all := run(t, testorg.New(t, sandbox.Config{Contacts: 10, Seed: 3}).Env(), "auth", "check")
	if all.code != 0 || strings.Contains(all.out, "missing") || !strings.Contains(all.out, "(details jobs)") {
		t.Errorf("a client with every permission:\n%s%s", all.out, all.err)
	}
}
