package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdDiscover(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdDiscover)
	if code != 0 || o.days != 31 || o.via != "jobs" || o.poll != 2*time.Second || o.asJSON || o.OpenStore == nil {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdDiscover, "--days", "62", "--via", "query", "--poll", "100ms", "--json")
	if o.days != 62 || o.via != "query" || o.poll != 100*time.Millisecond || !o.asJSON {
		t.Errorf("flags: %+v", o)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--days", "0"}, "--days 0"},
		{[]string{"--days", "367"}, "--days 367"},
		{[]string{"--days", "many"}, "--days"},
		{[]string{"--via", "websocket"}, `--via "websocket"`},
		{[]string{"--poll", "0s"}, "--poll"},
		{[]string{"extra"}, "unknown command"},
	} {
		_, code, msg := parse(t, nil, newCmdDiscover, tc.args...)
		wantRefused(t, code, msg, exitUsage, tc.want)
	}
}

// TestDiscoverThenMatch: on a sandbox hiding its auto-created contacts,
// scan stores none of them; discover stores those named by the last 62
// days of conversations (all of them) and says how many requests it spent;
// match then groups hidden duplicates with curated members of their true
// clusters. Without a scan first, discover exits 2 naming the store.
func TestDiscoverThenMatch(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 1500, Seed: 21, RateLimit: -1, History: true})
	dir := t.TempDir()
	db := filepath.Join(dir, "cm.db")
	env := append(o.Env(), "CONTACTMERGE_DB="+db, "USER=ann")
	if r := run(t, env, "discover"); r.code != exitUsage || !strings.Contains(r.err, "cm.db") {
		t.Fatalf("discover before a scan: code %d, %s%s", r.code, r.out, r.err)
	}
	if r := run(t, env, "scan"); r.code != 0 {
		t.Fatalf("scan: %s%s", r.out, r.err)
	}
	r := run(t, env, "discover", "--days", "62", "--poll", "1ms", "--json")
	if r.code != 0 {
		t.Fatalf("discover: %s%s", r.out, r.err)
	}
	var out discoverResult
	if err := json.Unmarshal([]byte(r.out), &out); err != nil {
		t.Fatalf("discover --json: %v\n%s", err, r.out)
	}
	d := out.Discovery
	if d.Found == 0 || d.Found != d.FoundByType[cm.TypeIdentified]+d.FoundByType[cm.TypeEphemeral] ||
		int(out.StoreTotal) != o.SB.Canonical() || out.HTTPRequests < int64(d.Requests()) || out.RequestsPerFound <= 0 {
		t.Fatalf("discover: %+v (store %d, organization %d)", out, out.StoreTotal, o.SB.Canonical())
	}
	if r := run(t, env, "discover", "--days", "62", "--poll", "1ms"); r.code != 0 || !strings.Contains(r.out, "0 contacts found") {
		t.Errorf("discover again: %s%s", r.out, r.err)
	}
	if r := run(t, env, "match"); r.code != 0 {
		t.Fatalf("match: %s%s", r.out, r.err)
	}
	st := testorg.OpenStore(t, db)
	groups, err := st.Groups(context.Background(), cm.GroupFilter{})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, cl := range o.SB.Truth() {
		for _, id := range cl {
			listed[id] = true
		}
	}
	hidden, grouped := 0, 0
	for _, cl := range o.SB.TruthAll() {
		for _, id := range cl {
			if listed[id] {
				continue
			}
			hidden++
			for _, g := range groups {
				ids := g.Members
				if slices.Contains(ids, id) && slices.ContainsFunc(ids, func(m string) bool { return m != id && slices.Contains(cl, m) }) {
					grouped++
					break
				}
			}
		}
	}
	if hidden == 0 || grouped*2 < hidden {
		t.Errorf("match grouped %d of %d hidden duplicates with a member of their cluster", grouped, hidden)
	}
	t.Logf("discover: %d found in %d requests (%.3f each, %d HTTP requests); match grouped %d of %d hidden duplicates",
		d.Found, d.Requests(), out.RequestsPerFound, out.HTTPRequests, grouped, hidden)
}

// TestSandboxHistoryFlag: sandbox --history gives the generated contacts
// their conversations (off by default).
func TestSandboxHistoryFlag(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdSandbox)
	if code != 0 || o.history {
		t.Fatalf("defaults: history %v, code %d %s", o.history, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdSandbox, "--history")
	cfg, closeFiles, err := o.config()
	closeFiles()
	if err != nil || !cfg.History {
		t.Errorf("--history: config History %v, %v", cfg.History, err)
	}
}
