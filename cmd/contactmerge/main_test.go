package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"

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

// TestUnknownCommands: an unknown command or subcommand is bad usage (exit
// 2) at every level, as in gh and kubectl; a group alone prints its help.
func TestUnknownCommands(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"plan", "bogus"}, {"auth", "bogus"}, {"plan", "show", "a", "b"}, {"statsu"}} {
		r := run(t, nil, args...)
		if r.code != exitUsage || !strings.Contains(r.err, "Run 'contactmerge --help' for usage.") {
			t.Errorf("%v: code %d %q, want 2", args, r.code, r.err)
		}
	}
	if r := run(t, nil, "plan", "bogus"); !strings.Contains(r.err, `unknown command "bogus" for "contactmerge plan"`) {
		t.Errorf("plan bogus: %q", r.err)
	}
	if r := run(t, nil, "statsu"); !strings.Contains(r.err, "did you mean status?") {
		t.Errorf("statsu: %q", r.err)
	}
	for _, args := range [][]string{{}, {"plan"}, {"auth"}, {"--help"}, {"plan", "--help"}} {
		if r := run(t, nil, args...); r.code != 0 || !strings.Contains(r.out, "Usage:") {
			t.Errorf("%v: code %d\n%s%s", args, r.code, r.out, r.err)
		}
	}
}

// TestEveryCommandHasExamples walks the command tree: every command's help
// has an Examples: section that names the command, and every command that
// prints data has --json.
func TestEveryCommandHasExamples(t *testing.T) {
	f, _, _ := testFactory(nil)
	root := newCmdRoot(f)
	// Commands whose output is not data: groups print help, worker logs
	// to standard error, sandbox and serve serve, the review decisions (approve,
	// reject, import, link, unlink, unreject) print one line saying what
	// they recorded, and plan export has --format jsonl.
	noJSON := map[string]bool{
		"contactmerge": true, "contactmerge auth": true, "contactmerge plan": true, "contactmerge worker": true,
		"contactmerge sandbox": true, "contactmerge serve": true, "contactmerge plan approve": true, "contactmerge plan reject": true,
		"contactmerge plan import": true, "contactmerge plan export": true, "contactmerge plan link": true,
		"contactmerge plan unlink": true, "contactmerge plan unreject": true,
		"contactmerge policy": true,
	}
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		n++
		path := c.CommandPath()
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example", path)
		} else if !strings.Contains(c.Example, "contactmerge") {
			t.Errorf("%s: its examples do not show the command line: %q", path, c.Example)
		}
		if !noJSON[path] && c.Flags().Lookup("json") == nil {
			t.Errorf("%s prints data but has no --json", path)
		}
		var help bytes.Buffer
		c.SetOut(&help)
		_ = c.Help()
		if !strings.Contains(help.String(), "Examples:\n") {
			t.Errorf("%s: help has no Examples: section", path)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 16 {
		t.Errorf("walked %d commands only", n)
	}
}

// TestVersion: version and --version print the module version, the commit
// and the Go version from the build information.
func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/contactmerge/contactmerge", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-05-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	v := readVersion(func() (*debug.BuildInfo, bool) { return bi, true })
	if got, want := v.String(), "v1.2.3 (commit 0123456789ab, 2026-05-01T10:00:00Z, modified) go1.26.0 "+runtime.GOOS+"/"+runtime.GOARCH; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if v := readVersion(func() (*debug.BuildInfo, bool) { return nil, false }); v.Version != "unknown" || v.GoVersion != runtime.Version() {
		t.Errorf("without build info: %+v", v)
	}
	f, out, _ := testFactory(nil)
	f.BuildInfo = func() (*debug.BuildInfo, bool) { return bi, true }
	root := newCmdRoot(f)
	root.SetArgs([]string{"--version"})
	root.SetOut(out)
	if err := root.Execute(); err != nil || out.String() != "contactmerge "+v.String()+"\n" {
		t.Errorf("--version: %v %q", err, out.String())
	}
	out.Reset()
	if err := versionRun(&versionOptions{IO: f.IO, BuildInfo: f.BuildInfo, asJSON: true}); err != nil ||
		!strings.Contains(out.String(), `"version": "v1.2.3"`) || !strings.Contains(out.String(), `"commit": "0123456789abcdef0123"`) {
		t.Errorf("version --json: %v %s", err, out)
	}
	// The real binary's own build information.
	r := run(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.out, "contactmerge ") || !strings.Contains(r.out, runtime.Version()) {
		t.Errorf("version: code %d %q %q", r.code, r.out, r.err)
	}
	if r2 := run(t, nil, "--version"); r2.code != 0 || r2.out != r.out {
		t.Errorf("--version %q differs from version %q", r2.out, r.out)
	}
	o, code, msg := parse(t, nil, newCmdVersion, "--json")
	if code != 0 || !o.asJSON {
		t.Errorf("version --json: %+v %d %s", o, code, msg)
	}
}
