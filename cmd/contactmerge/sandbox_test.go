package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/contactmerge/contactmerge/sandbox"
)

func TestNewCmdSandbox(t *testing.T) {
	def := sandbox.DefaultConfig()
	o, code, msg := parse(t, nil, newCmdSandbox)
	if code != 0 || o.addr != "127.0.0.1:8089" || o.contacts != 10000 || o.rateLimit != def.RateLimit || o.clientID != def.ClientID || o.faultSpec != nil {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdSandbox, "--faults", "error503=0.1,reset=0.05", "--addr", "127.0.0.1:0", "--no-activity-conflict")
	if o.faultSpec["error503"] != 0.1 || o.faultSpec["reset"] != 0.05 || o.addr != "127.0.0.1:0" || !o.noConflict {
		t.Errorf("flags: %+v", o)
	}
	cfg, closeFiles, err := o.config()
	closeFiles()
	if err != nil || cfg.Faults["error503"] != 0.1 || cfg.ConflictOnActivity {
		t.Errorf("config: %+v, %v", cfg, err)
	}
	_, code, msg = parse(t, nil, newCmdSandbox, "--faults", "meteor=1")
	wantRefused(t, code, msg, exitUsage, "--faults: ")
	o, _, _ = parse(t, nil, newCmdSandbox, "--load", "/nonexistent.jsonl")
	_, closeFiles, err = o.config()
	closeFiles()
	if err == nil {
		t.Error("a missing --load file was accepted")
	}
}

func TestFaultAndRateText(t *testing.T) {
	if got := faultText(sandbox.Faults{"reset": 0.01, "error503": 0.02}); got != "error503=0.02,reset=0.01" {
		t.Errorf("faultText = %q", got)
	}
	if got := faultText(nil); got != "none" {
		t.Errorf("faultText(nil) = %q", got)
	}
	if got := rateText(-1); got != "unlimited" {
		t.Errorf("rateText(-1) = %q", got)
	}
	if got := rateText(300); got != "300 requests/min per token" {
		t.Errorf("rateText(300) = %q", got)
	}
}

// TestSandboxRun: the sandbox prints its address and credentials, and stops
// when its context ends.
func TestSandboxRun(t *testing.T) {
	o, _, _ := parse(t, nil, newCmdSandbox, "--addr", "127.0.0.1:0", "--contacts", "50", "--rate-limit", "-1", "--faults", "reset=0.5")
	var out bytes.Buffer
	o.IO.Out = &out
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sandboxRun(ctx, o); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"contactmerge sandbox: 50 contacts ready", "base URL     http://127.0.0.1:", "client id    " + o.clientID,
		"rate limit   unlimited", "faults       reset=0.5", "export GENESYSCLOUD_REGION=http://127.0.0.1:"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	o.addr = "256.0.0.1:1"
	if err := sandboxRun(ctx, o); err == nil || !strings.Contains(err.Error(), "listen on 256.0.0.1:1") {
		t.Errorf("a bad --addr: %v", err)
	}
}
