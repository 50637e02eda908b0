package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func TestUsageErrors(t *testing.T) {
	if r := run(t, nil, "scan", "--bogus"); r.code != 2 {
		t.Errorf("unknown flag: code %d", r.code)
	}
	if r := run(t, nil, "import"); r.code != 2 {
		t.Errorf("missing argument: code %d", r.code)
	}
	if r := run(t, nil, "plan", "approve"); r.code != 2 || !strings.Contains(r.err, "--all") {
		t.Errorf("plan approve without a selector: code %d %q", r.code, r.err)
	}
}

// TestReportError: the one mapping from errors to exit codes and messages.
func TestReportError(t *testing.T) {
	tests := []struct {
		err  error
		code int
		msg  string
	}{
		{usageErrorf("give exactly one of --all"), exitUsage, "contactmerge: give exactly one of --all\nRun 'contactmerge --help' for usage.\n"},
		{fmt.Errorf("wrapped: %w", usageErrorf("bad")), exitUsage, "contactmerge: bad\nRun 'contactmerge --help' for usage.\n"},
		{cm.Errorf(cm.EINVALID, "plan.csv:2: parse error"), exitUsage, "contactmerge: plan.csv:2: parse error\n"},
		{fmt.Errorf("scan: %w", context.Canceled), exitFailure, "contactmerge: interrupted; run the same command again to resume\n"},
		{cm.Errorf(cm.ECONFLICT, "group changed"), exitFailure, "contactmerge: group changed\n"},
		{errors.New("disk I/O error"), exitFailure, "contactmerge: disk I/O error\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if code := reportError(&b, tt.err); code != tt.code || b.String() != tt.msg {
			t.Errorf("reportError(%v) = %d %q; want %d %q", tt.err, code, b.String(), tt.code, tt.msg)
		}
	}
}
