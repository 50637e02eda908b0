package web_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/review"
)

// The browser tests drive the console in headless Chromium (Debian's
// /usr/bin/chromium) with chromedp, as a data steward would: the
// keyboard on the queue and the group pages, the split form, the bulk
// approval's preview. They skip only when no Chromium can be found and CI
// is unset (chromiumPath).

// waitGroup waits until the group page of a group other than not is
// shown and returns its id.
func waitGroup(t *testing.T, ctx context.Context, not string) string {
	t.Helper()
	expr := `(function(){var e=document.getElementById("group-id");return e && document.readyState !== "loading" && e.textContent !== ` +
		strconv.Quote(not) + ` ? e.textContent : ""})()`
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		// A navigation destroys the page's context under a running
		// evaluation: evaluate again.
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		id, err := chromedp.Run(ectx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && id != "" {
			return id
		}
		time.Sleep(3 * time.Millisecond)
	}
	t.Fatalf("no group page other than %q within 30 s", not)
	return ""
}

// screenshotDir returns where screenshots go: docs/screenshots when
// CONTACTMERGE_SCREENSHOTS=1 (the README shows them), else the test's temp
// directory.
func screenshotDir(t *testing.T) string {
	if os.Getenv("CONTACTMERGE_SCREENSHOTS") == "1" {
		dir := filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// TestBrowserReview: a steward opens the queue, approves a group with the
// keyboard, rejects the next one, splits a member off a third, and
// bulk-approves above a threshold after checking the preview's count;
// then the store's states and ledger rows are what those decisions make.
// Screenshots of the overview and of a group page are kept.
func TestBrowserReview(t *testing.T) {
	f := newFixture(t, fixtureOpts{contacts: 400, rateLimit: 300})
	ctx := newBrowser(t)

	step(t, ctx, "open the queue", chromedp.Navigate(f.url+"/queue"), chromedp.WaitVisible(chromedp.CSS("#queue tbody tr.selected")))
	first := value(t, ctx, "the selected row", chromedp.AttributeValue(chromedp.CSS("#queue tbody tr.selected"), "data-group"))
	// Enter opens the selected group; a approves it and the next group of
	// the queue comes up.
	step(t, ctx, "Enter", chromedp.KeyEvent("\r"))
	if got := waitGroup(t, ctx, ""); got != first.Value {
		t.Fatalf("Enter opened %s, want the selected %s", got, first.Value)
	}
	step(t, ctx, "a", chromedp.KeyEvent("a"))
	second := waitGroup(t, ctx, first.Value)
	// r rejects it.
	step(t, ctx, "r", chromedp.KeyEvent("r"))
	third := waitGroup(t, ctx, second)
	// j goes on to the next group without deciding, k comes back.
	step(t, ctx, "j", chromedp.KeyEvent("j"))
	fourth := waitGroup(t, ctx, third)
	step(t, ctx, "k", chromedp.KeyEvent("k"))
	if back := waitGroup(t, ctx, fourth); back != third {
		t.Fatalf("k from %s went to %s, want %s", fourth, back, third)
	}
	if g := f.group(third); g.State != cm.StateProposed {
		t.Fatalf("j and k decided group %s: %s", third, g.State)
	}

	// Split the last member off a group of three or more (one whose
	// members disagree somewhere, for the screenshot).
	var big cm.Group
	for _, g := range f.proposed() {
		if len(g.Members) < 3 {
			continue
		}
		v, err := review.ViewGroup(context.Background(), f.st, g, match.DefaultConfig().SurviveOptions())
		if err != nil {
			t.Fatal(err)
		}
		if big.ID == "" || len(v.Survival.Conflicts) > 0 {
			big = g
		}
		if len(v.Survival.Conflicts) > 0 {
			break
		}
	}
	if big.ID == "" {
		t.Fatal("no group of three or more members")
	}
	off := big.Members[len(big.Members)-1]
	step(t, ctx, "open the group to split", chromedp.Navigate(f.url+"/groups/"+big.ID), chromedp.WaitVisible(chromedp.ID("split-form")))
	shots := screenshotDir(t)
	png := value(t, ctx, "group screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(shots, "group.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "split", chromedp.Click(chromedp.CSS(`input.split-member[value="`+off+`"]`)), chromedp.Click(chromedp.ID("split")))
	waitGroup(t, ctx, big.ID)

	// Bulk-approve at the median confidence of what is left, after
	// checking the preview's count against the store.
	left := f.proposed()
	confs := make([]float64, len(left))
	for i, g := range left {
		confs[i] = g.Confidence
	}
	slices.Sort(confs)
	th := confs[len(confs)/2]
	want, wantContacts := 0, 0
	for _, g := range left {
		if g.Confidence >= th {
			want++
			wantContacts += len(g.Members)
		}
	}
	step(t, ctx, "bulk preview", chromedp.Navigate(f.url+"/bulk"), chromedp.WaitVisible(chromedp.ID("bulk-threshold")),
		chromedp.SetValue(chromedp.ID("bulk-threshold"), formatFloat(th)), chromedp.Click(chromedp.ID("bulk-preview")),
		chromedp.WaitVisible(chromedp.ID("preview-groups")))
	n := value(t, ctx, "preview count", chromedp.Text(chromedp.ID("preview-groups")))
	c := value(t, ctx, "preview contacts", chromedp.Text(chromedp.ID("preview-contacts")))
	if n != strconv.Itoa(want) || c != strconv.Itoa(wantContacts) {
		t.Fatalf("preview says %s groups, %s contacts; the store has %d groups, %d contacts at confidence ≥ %v", n, c, want, wantContacts, th)
	}
	step(t, ctx, "bulk approve", chromedp.Click(chromedp.ID("bulk-approve")), chromedp.WaitVisible(chromedp.ID("bulk-decided")))
	if d := value(t, ctx, "approved count", chromedp.Text(chromedp.ID("bulk-decided"))); d != strconv.Itoa(want) {
		t.Fatalf("bulk approval says %s approved, want %d", d, want)
	}

	// The workers merge what was approved; the overview's charts show it.
	time.Sleep(600 * time.Millisecond)
	sum := f.runPipeline()
	t.Logf("merged: %+v", sum)
	time.Sleep(time.Second)
	step(t, ctx, "overview", chromedp.Navigate(f.url+"/"), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	png = value(t, ctx, "overview screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(shots, "overview.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	// The store: each decision's state, its author in the ledger.
	if g := f.group(first.Value); g.State != cm.StateMerged {
		t.Errorf("first group %s is %s, want merged (approved, then merged by the workers)", g.ID, g.State)
	}
	wantActor(t, f, first.Value, cm.StateApproved, "tester")
	if g := f.group(second); g.State != cm.StateRejected {
		t.Errorf("second group %s is %s, want rejected", g.ID, g.State)
	}
	wantActor(t, f, second, cm.StateRejected, "tester")
	if g := f.group(big.ID); g.State != cm.StateRejected {
		t.Errorf("split group %s is %s, want rejected", g.ID, g.State)
	}
	cs, err := f.st.Constraints(context.Background(), cm.ConstraintFilter{GroupID: big.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != len(big.Members)-1 {
		t.Errorf("split recorded %d cannot-links, want %d", len(cs), len(big.Members)-1)
	}
	for _, c := range cs {
		if c.Kind != cm.CannotLink || (c.A != off && c.B != off) || c.Actor != "tester" {
			t.Errorf("split constraint %s", c)
		}
	}
	split := false
	for _, ev := range f.ledger(big.ID) {
		split = split || strings.Contains(ev.Detail, "split by tester")
	}
	if !split {
		t.Error("no ledger row records the split")
	}
	for _, g := range left {
		got := f.group(g.ID)
		if (g.Confidence >= th) != (got.State == cm.StateMerged) {
			t.Errorf("group %s (confidence %v) is %s after the bulk approval at %v and the run", g.ID, g.Confidence, got.State, th)
		}
		if g.Confidence >= th {
			wantActor(t, f, g.ID, cm.StateApproved, "tester")
		}
	}
	t.Logf("screenshots in %s", shots)
}

// TestBrowserKeyboardTiming measures how long a steward's keyboard flow
// takes per group: from the key press (a) on a group page to the next
// group's page shown, over 50 groups; it logs the median.
func TestBrowserKeyboardTiming(t *testing.T) {
	f := newFixture(t, fixtureOpts{contacts: 700, seed: 3})
	const n = 50
	if len(f.groups) < n+1 {
		t.Fatalf("fixture has %d groups, want more than %d", len(f.groups), n)
	}
	ctx := newBrowser(t)
	step(t, ctx, "open the queue", chromedp.Navigate(f.url+"/queue"), chromedp.WaitVisible(chromedp.CSS("#queue tbody tr.selected")))
	step(t, ctx, "Enter", chromedp.KeyEvent("\r"))
	cur := waitGroup(t, ctx, "")
	var times []time.Duration
	var decided []string
	for range n {
		start := time.Now()
		step(t, ctx, "a", chromedp.KeyEvent("a"))
		next := waitGroup(t, ctx, cur)
		times = append(times, time.Since(start))
		decided = append(decided, cur)
		cur = next
	}
	for _, id := range decided {
		if g := f.group(id); g.State != cm.StateApproved {
			t.Errorf("group %s is %s after its keyboard approval", id, g.State)
		}
	}
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	t.Logf("keyboard flow over %d groups: median %s per group (fastest %s, slowest %s)", n,
		sorted[n/2].Round(time.Millisecond), sorted[0].Round(time.Millisecond), sorted[n-1].Round(time.Millisecond))
}
