package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewCmdMatch(t *testing.T) {
	o, code, msg := parse(t, map[string]string{"USER": "ann"}, newCmdMatch)
	if code != 0 || o.config != "" || o.autoApprove || o.asJSON || o.actor != "ann" || o.OpenStore == nil {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdMatch, "--config", "m.json", "--auto-approve", "--json", "--actor", "policy-bot")
	if o.config != "m.json" || !o.autoApprove || !o.asJSON || o.actor != "policy-bot" {
		t.Errorf("flags: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdMatch, "extra")
	wantRefused(t, code, msg, exitUsage, "unknown command")
}

func TestLoadMatchConfig(t *testing.T) {
	if _, err := loadMatchConfig(""); err != nil {
		t.Errorf("no --config: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := loadMatchConfig(bad); reportError(&b, err) != exitUsage {
		t.Errorf("a bad --config file: %v (%s)", err, b.String())
	}
}
