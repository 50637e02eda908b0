package main

import (
	"encoding/json"
	"testing"
)

func TestNewCmdDemo(t *testing.T) {
	o, code, msg := parse(t, nil, newCmdDemo)
	if code != 0 || o.contacts != 2000 || o.seed != 1 || o.rateLimit != 300 || o.activityRate != 0.02 || o.keep || o.asJSON ||
		o.faultSpec["timeout504"] != 0.02 || o.faultSpec["error503"] != 0.02 || o.faultSpec["reset"] != 0.01 || o.Factory == nil {
		t.Fatalf("defaults: %+v, code %d %s", o, code, msg)
	}
	o, _, _ = parse(t, nil, newCmdDemo, "--faults", "", "--contacts", "10", "--json", "--keep")
	if len(o.faultSpec) != 0 || o.contacts != 10 || !o.asJSON || !o.keep {
		t.Errorf("flags: %+v", o)
	}
	_, code, msg = parse(t, nil, newCmdDemo, "--contacts", "9")
	wantRefused(t, code, msg, exitUsage, "--contacts must be at least 10")
	_, code, msg = parse(t, nil, newCmdDemo, "--faults", "timeout504")
	wantRefused(t, code, msg, exitUsage, "--faults: ")
}

func TestDemo(t *testing.T) {
	r := run(t, nil, "demo", "--contacts", "800", "--json")
	if r.code != 0 {
		t.Fatalf("demo: code %d\n%s%s", r.code, r.out, r.err)
	}
	var res DemoResult
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("demo --json: %v\n%s", err, r.out)
	}
	t.Logf("demo: %+v", res)
	if res.Precision < 0.99 || res.Merged == 0 || !res.ExactlyOnce || res.Failed != 0 {
		t.Errorf("demo result: %+v", res)
	}
}
