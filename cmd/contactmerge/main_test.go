package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/internal/testdb"
	"github.com/contactmerge/contactmerge/internal/testorg"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestMain lets the test binary act as the contactmerge command, so that
// tests can run it as a child process and kill it with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("CONTACTMERGE_AS_MAIN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// result is the outcome of one in-process command.
type result struct {
	out, err string
	code     int
}

// run runs contactmerge in-process with env (KEY=VALUE) as its environment.
func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return vars[k] })
	return result{out.String(), errb.String(), code}
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

// TestScanResumesAfterKill kills a real scan process with SIGKILL three
// times and checks that the resumed scans lose no contact and fetch no page
// twice beyond the one in flight at each kill.
func TestScanResumesAfterKill(t *testing.T) {
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			o := testorg.New(t, sandbox.Config{Contacts: 100000, Seed: 2, RateLimit: 100000000})
			db := dsn(t)
			env := append(o.Env(), "CONTACTMERGE_DB="+db)
			st := testorg.OpenStore(t, db)
			ctx := context.Background()
			kills := 0
			for kills < 3 {
				before, err := st.ScanState(ctx, "contacts")
				if err != nil {
					t.Fatal(err)
				}
				cmd := child(t, env, "scan")
				target := before.Pages + 5 + rand.IntN(20)
				deadline := time.Now().Add(60 * time.Second)
				for time.Now().Before(deadline) {
					s, err := st.ScanState(ctx, "contacts")
					if err == nil && (s.Pages >= target || s.Done) {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
				s, _ := st.ScanState(ctx, "contacts")
				if s.Done {
					t.Fatalf("the scan finished before it could be killed (pages %d)", s.Pages)
				}
				kills++
			}
			r := run(t, env, "scan")
			if r.code != 0 {
				t.Fatalf("resumed scan: %s%s", r.out, r.err)
			}
			n, err := st.CountContacts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if int(n) != o.SB.Len() {
				t.Errorf("store holds %d contacts, the organization %d", n, o.SB.Len())
			}
			s, _ := st.ScanState(ctx, "contacts")
			fetched := o.SB.Stats().Requests["GET /api/v2/externalcontacts/scan/contacts"][200]
			if fetched > s.Pages+kills {
				t.Errorf("%d pages fetched for %d pages saved and %d kills: pages were fetched twice", fetched, s.Pages, kills)
			}
			t.Logf("%d contacts, %d pages, %d fetched, %d kills", n, s.Pages, fetched, kills)
		})
	}
}

// TestRunSurvivesKills: run under faults, killed with SIGKILL at three random
// moments and restarted, ends with every group merged exactly once or
// quarantined, like an uninterrupted run.
func TestRunSurvivesKills(t *testing.T) {
	n := 2500
	if os.Getenv("CONTACTMERGE_FULL") != "" {
		n = 25000
	}
	for name, dsn := range testdb.Stores(t) {
		t.Run(name, func(t *testing.T) {
			faults, _ := sandbox.ParseFaults("timeout504=0.05,error503=0.05,reset=0.02")
			o := testorg.New(t, sandbox.Config{Contacts: n, Seed: 9, ActivityRate: 0.05, Faults: faults, ConflictOnActivity: true,
				TokenTTL: 30 * time.Second, GatewayTimeout: 300 * time.Millisecond, RateLimit: 100000})
			db := dsn(t)
			st := testorg.OpenStore(t, db)
			groups := testorg.Seed(t, st, o)
			env := append(o.Env(), "CONTACTMERGE_DB="+db)
			// Short job timeouts: the jobs a killed process left running are
			// taken over after 25 s instead of minutes.
			args := []string{"run", "--verify-settle", "1s", "--check-cases", "--job-timeout", "20s", "--rescue-after", "25s"}
			for kill := 0; kill < 3; kill++ {
				cmd := child(t, env, args...)
				time.Sleep(time.Duration(500+rand.IntN(5000)) * time.Millisecond)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
			}
			r := run(t, env, args...)
			if r.code != 0 {
				t.Fatalf("final run: code %d\n%s%s", r.code, r.out, r.err)
			}
			t.Logf("%d groups; final run: %s", len(groups), strings.TrimSpace(r.out))
			testorg.CheckExactlyOnce(t, st, o, groups, 10)

			// The id map sends every merged contact to the contact the
			// platform resolves it to now.
			r = run(t, env, "report", "--id-map", "--format", "json")
			dec := json.NewDecoder(strings.NewReader(r.out))
			rows := 0
			for dec.More() {
				var row struct{ OldID, CanonicalID string }
				if err := dec.Decode(&row); err != nil {
					t.Fatal(err)
				}
				rows++
				if got := o.Final(row.OldID); got != row.CanonicalID {
					t.Errorf("id map: %s → %s, the platform resolves it to %s", row.OldID, row.CanonicalID, got)
				}
			}
			if rows == 0 {
				t.Error("the id map is empty")
			}

			// A merged group still shows its members, from the ledger's
			// before-images.
			var merged cm.Group
			for _, g := range groups {
				if g2, _ := st.Group(context.Background(), g.ID); g2.State == cm.StateMerged {
					merged = g2
					break
				}
			}
			r = run(t, env, "plan", "show", merged.ID)
			if r.code != 0 || strings.Contains(r.out, "(unknown)") || !strings.Contains(r.out, "canonical contact: "+merged.CanonicalID) {
				t.Errorf("plan show of merged group %s:\n%s%s", merged.ID, r.out, r.err)
			}
		})
	}
}

// TestReviewRoundTrip: import → match → export CSV → a steward edits it →
// import → approve → status reflects every decision.
func TestReviewRoundTrip(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CONTACTMERGE_DB=" + filepath.Join(dir, "cm.db"), "USER=steward"}
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 600, Seed: 4})
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
	plan := filepath.Join(dir, "plan.csv")
	if r := run(t, env, "plan", "export", "--format", "csv", "--output", plan); r.code != 0 {
		t.Fatalf("export: %s%s", r.out, r.err)
	}
	fh, err := os.Open(plan)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(fh).ReadAll()
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 5 {
		t.Fatalf("only %d plan rows", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range []string{"groupId", "state", "survivorId", "memberIds", "confidence", "decision"} {
		if _, ok := col[need]; !ok {
			t.Fatalf("plan CSV lacks column %q: %v", need, rows[0])
		}
	}
	// The steward approves the first two, rejects the third, and picks
	// another survivor for the first.
	rows[1][col["decision"]] = "approve"
	members := strings.Fields(rows[1][col["memberIds"]])
	alt := members[0]
	if alt == rows[1][col["survivorId"]] {
		alt = members[1]
	}
	rows[1][col["survivorId"]] = alt
	rows[2][col["decision"]] = "approve"
	rows[3][col["decision"]] = "reject"
	writeCSV(t, plan, rows)
	if r := run(t, env, "plan", "import", plan); r.code != 0 {
		t.Fatalf("plan import: %s%s", r.out, r.err)
	}

	// A bad file changes nothing and names every bad line.
	bad := [][]string{rows[0], slices0(rows[4]), slices0(rows[5])}
	bad[1][col["decision"]] = "maybe"
	bad[2][col["groupId"]] = "g_nonexistent"
	bad[2][col["decision"]] = "approve"
	badFile := filepath.Join(dir, "bad.csv")
	writeCSV(t, badFile, bad)
	r := run(t, env, "plan", "import", badFile)
	if r.code != 2 || !strings.Contains(r.err, "bad.csv:2") || !strings.Contains(r.err, "bad.csv:3") || !strings.Contains(r.err, "nothing was applied") {
		t.Fatalf("bad plan import: code %d %q", r.code, r.err)
	}

	r = run(t, env, "status", "--json")
	var status struct {
		Groups map[cm.GroupState]int `json:"groups"`
	}
	if err := json.Unmarshal([]byte(r.out), &status); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.out)
	}
	if status.Groups[cm.StateApproved] != 2 || status.Groups[cm.StateRejected] != 1 {
		t.Fatalf("status after import: %v", status.Groups)
	}
	r = run(t, env, "plan", "show", rows[1][col["groupId"]])
	if r.code != 0 || !strings.Contains(r.out, "survivor "+alt) || !strings.Contains(r.out, "why") {
		t.Errorf("plan show after a survivor change:\n%s%s", r.out, r.err)
	}
	if r := run(t, env, "plan", "approve", "--all"); r.code != 0 {
		t.Fatalf("approve --all: %s", r.err)
	}
	r = run(t, env, "status", "--json")
	_ = json.Unmarshal([]byte(r.out), &status)
	if status.Groups[cm.StateProposed] != 0 || status.Groups[cm.StateRejected] != 1 {
		t.Errorf("after approve --all: %v", status.Groups)
	}
	r = run(t, env, "report", "--format", "csv")
	if r.code != 0 || !strings.Contains(r.out, "steward") || !strings.Contains(r.out, "proposed") {
		t.Errorf("report lacks the decisions:\n%s", r.out)
	}
}

func slices0(s []string) []string { return append([]string(nil), s...) }

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

func TestImportAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CONTACTMERGE_DB=" + filepath.Join(dir, "cm.db")}
	file := filepath.Join(dir, "c.jsonl")
	data := `{"id":"a","firstName":"Ann"}
{"id":"b","workEmail":"nope"}
{"id":"c","firstName":"Cy"}
`
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, env, "import", file)
	if r.code != 2 || !strings.Contains(r.err, "c.jsonl:2: workEmail") {
		t.Fatalf("import of a bad file: code %d %q", r.code, r.err)
	}
	r = run(t, env, "status", "--json")
	if !strings.Contains(r.out, `"contacts": 0`) {
		t.Fatalf("a rejected file imported something:\n%s", r.out)
	}
	r = run(t, env, "import", "--skip-invalid", file)
	if r.code != 0 || !strings.Contains(r.out, "imported 2") {
		t.Fatalf("--skip-invalid: %s%s", r.out, r.err)
	}
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

// TestWorker: `worker` merges approved groups until interrupted, and stops
// cleanly on SIGINT.
func TestWorker(t *testing.T) {
	o := testorg.New(t, sandbox.Config{Contacts: 800, Seed: 12, RateLimit: 100000})
	db := testdb.SQLite(t)
	st := testorg.OpenStore(t, db)
	groups := testorg.Seed(t, st, o)
	cmd := child(t, append(o.Env(), "CONTACTMERGE_DB="+db), "worker")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		counts, err := st.CountByState(context.Background())
		if err == nil && counts[cm.StateMerged] == len(groups) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("worker did not stop cleanly: %v\n%s", err, cmd.Stdout)
	}
	testorg.CheckExactlyOnce(t, st, o, groups, 10)
}
