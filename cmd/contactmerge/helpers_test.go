package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/goleak"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
	"github.com/contactmerge/contactmerge/store"
)

// TestMain lets the test binary act as the contactmerge command, so that
// tests can run it as a child process and kill it with SIGKILL. Run as the
// tests, it checks that no goroutine outlives them.
func TestMain(m *testing.M) {
	if os.Getenv("CONTACTMERGE_AS_MAIN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
		stop()
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

// result is the outcome of one in-process command.
type result struct {
	out, err string
	code     int
}

// run runs contactmerge in-process with env (KEY=VALUE) as its environment,
// an empty standard input and no terminal.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runIO(t, env, "", false, args...)
}

// runIO is run with input as standard input, which is a "terminal" when
// inTTY is set (run's question may read its answer from it).
func runIO(t *testing.T, env []string, input string, inTTY bool, args ...string) result {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var out, errb bytes.Buffer
	streams := IO{In: strings.NewReader(input), Out: &out, ErrOut: &errb, InTTY: inTTY}
	code := mainIO(context.Background(), args, streams, func(k string) string { return vars[k] })
	return result{out.String(), errb.String(), code}
}

// bindOrg binds st to o's organization, as the first `scan` would: for
// tests that fill a store with testorg.Seed or engine.Scan instead.
func bindOrg(t testing.TB, st cm.Store, o *testorg.Org) cm.Org {
	t.Helper()
	info, _, err := o.Client(t, nil).Tokens.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	org := cm.Org{ID: info.Organization.ID, Name: info.Organization.Name, Source: "test"}
	if err := st.BindOrg(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	return org
}

// seedOrg is testorg.Seed into a store bound to o's organization.
func seedOrg(t testing.TB, st store.Store, o *testorg.Org) []cm.Group {
	t.Helper()
	bindOrg(t, st, o)
	return testorg.Seed(t, st, o)
}

// child starts contactmerge as a separate process.
func child(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "CONTACTMERGE_AS_MAIN=1"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

func writeCSV(t *testing.T, path string, rows [][]string) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(fh)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

// t0 is the clock of the tests' factories.
var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// testFactory returns a Factory with env as its environment, a fixed clock
// and buffers as its output streams.
func testFactory(env map[string]string) (f *Factory, out, errOut *bytes.Buffer) {
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	f = &Factory{
		IO:      IO{In: strings.NewReader(""), Out: out, ErrOut: errOut},
		Getenv:  func(k string) string { return env[k] },
		Logger:  slog.New(slog.DiscardHandler),
		Now:     func() time.Time { return t0 },
		Metrics: engine.NewMetrics(),
	}
	return f, out, errOut
}

// parse is the flag layer of a command (gh's TestNewCmdX): it runs the
// command built by newCmd with args under a root like the real one, with a
// runF that captures the options instead of running the command. It
// returns the options (nil when the flags were refused) and the exit code
// and message reportError gives for the refusal (0 and "" when accepted).
func parse[O any](t *testing.T, env map[string]string, newCmd func(*Factory, func(*O) error) *cobra.Command, args ...string) (*O, int, string) {
	t.Helper()
	f, _, _ := testFactory(env)
	var got *O
	cmd := newCmd(f, func(o *O) error {
		got = o
		return nil
	})
	root := &cobra.Command{Use: "contactmerge", SilenceUsage: true, SilenceErrors: true}
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(cmd)
	root.SetArgs(append([]string{cmd.Name()}, args...))
	var discard bytes.Buffer
	root.SetOut(&discard)
	root.SetErr(&discard)
	err := root.Execute()
	if err == nil {
		if got == nil {
			t.Fatalf("%s %v: runF was not called", cmd.Name(), args)
		}
		return got, 0, ""
	}
	if got != nil {
		t.Fatalf("%s %v: runF was called although the command failed: %v", cmd.Name(), args, err)
	}
	var msg bytes.Buffer
	return nil, reportError(&msg, err), msg.String()
}

// wantRefused checks that parse refused the flags with code and a message
// containing want.
func wantRefused(t *testing.T, code int, msg string, wantCode int, want string) {
	t.Helper()
	if code != wantCode || !strings.Contains(msg, want) {
		t.Errorf("refused with code %d %q; want code %d with %q", code, msg, wantCode, want)
	}
}

// testGroup returns a proposal over members (the first is the survivor).
func testGroup(conf float64, members ...string) cm.Group {
	return cm.Group{
		ID: cm.GroupID(members), Members: cm.SortedIDs(members), SurvivorID: members[0], Confidence: conf,
		Merged: &cm.Contact{ID: members[0], FirstName: "Ann", LastName: "Lee", WorkEmail: "ann@example.com",
			CellPhone: &cm.PhoneNumber{Display: "555 0100", E164: "+15550100"}},
		Explanation: &cm.Explanation{Links: []cm.PairEvidence{{A: members[0], B: members[1], Weight: 9.5, Probability: conf}}},
	}
}

// generateImportMatch generates an organization, writes it as a JSONL file
// in dir, and runs `import` and `match` on it into the store of env.
func generateImportMatch(t *testing.T, env []string, dir string, cfg sandbox.GenConfig) {
	t.Helper()
	org := sandbox.Generate(cfg)
	var jsonl bytes.Buffer
	enc := json.NewEncoder(&jsonl)
	for _, c := range org.Contacts {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "contacts.jsonl")
	if err := os.WriteFile(file, jsonl.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, env, "import", file); r.code != 0 {
		t.Fatalf("import: %s%s", r.out, r.err)
	}
	if r := run(t, env, "match"); r.code != 0 {
		t.Fatalf("match: %s%s", r.out, r.err)
	}
}
