package web_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/policy"
	"github.com/contactmerge/contactmerge/store"
	"github.com/contactmerge/contactmerge/web"
)

// shadowPolicy is the policy the policy page tests run in shadow mode.
func shadowPolicy() *policy.Policy {
	return &policy.Policy{Path: "policy.json", Mode: policy.Shadow, MinConfidence: 0.999, MaxGroupSize: 3, MaxMergesPerCycle: 1000,
		UniqueCustomFields: []string{"loyaltyId"}, BirthDateFields: policy.DefaultBirthDateFields(), TypeRule: policy.TypeAny}
}

// shadowAndDecide runs p in shadow mode on f's store as cycle c1, then has
// a steward reject a group the policy would approve and approve one it
// holds; it returns those two groups.
func shadowAndDecide(t *testing.T, f *fixture, p *policy.Policy) (rejected, approved cm.Group) {
	t.Helper()
	ctx := context.Background()
	if _, err := p.Apply(ctx, f.st, policy.ApplyOptions{Cycle: "c1", Actor: "nightly", Now: func() time.Time { return time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC) }}); err != nil {
		t.Fatal(err)
	}
	vs, err := store.PolicyVerdicts(ctx, f.st, store.PolicyVerdictFilter{Cycle: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		switch {
		case v.Approve && rejected.ID == "":
			rejected = f.group(v.GroupID)
		case !v.Approve && approved.ID == "" && !strings.Contains(strings.Join(v.Reasons, " "), "snapshot"):
			approved = f.group(v.GroupID)
		}
	}
	if rejected.ID == "" || approved.ID == "" {
		t.Fatalf("no group to reject and approve among %d verdicts", len(vs))
	}
	if r := f.decide(rejected, "reject", nil); r.status != http.StatusSeeOther {
		t.Fatalf("reject: %d %.300s", r.status, r.body)
	}
	if r := f.decide(approved, "approve", nil); r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %.300s", r.status, r.body)
	}
	return rejected, approved
}

// TestPolicyAndSourcesPages: the policy page shows the file's guards, the
// agreement table of the shadow verdicts with the stewards' decisions (one
// FP, one FN) and the latest cycle; without verdicts it says how to get
// some; the sources page shows the duplicates by source and the trend; a
// bad days= is a 400 page.
func TestPolicyAndSourcesPages(t *testing.T) {
	f := newFixture(t, fixtureOpts{contacts: 300, cfg: func(c *web.Config) { c.Policy = shadowPolicy() }})
	r := f.get("/policy")
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="agree-none"`) || !strings.Contains(r.body, "confidence ≥ 0.999") {
		t.Fatalf("policy page before any verdict: %d %.500s", r.status, r.body)
	}
	rejected, approved := shadowAndDecide(t, f, shadowPolicy())
	r = f.get("/policy")
	for _, want := range []string{`id="agree-fp">FP 1<`, `id="agree-fn">FN 1<`, `id="agree-decided">2<`, `id="cycle-id">c1<`,
		rejected.ID, approved.ID, `id="policy-mode">shadow<`, "maxMergesPerCycle"} {
		if r.status != http.StatusOK || !strings.Contains(r.body, want) {
			t.Fatalf("policy page lacks %q: %d\n%s", want, r.status, r.body)
		}
	}
	r = f.get("/sources")
	for _, want := range []string{`id="by-source"`, "crm", `id="by-type"`, `id="by-identifier"`, `id="per-day"`, "a day"} {
		if r.status != http.StatusOK || !strings.Contains(r.body, want) {
			t.Fatalf("sources page lacks %q: %d\n%s", want, r.status, r.body)
		}
	}
	if r := f.get("/sources?days=soon"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "is not a number of days") {
		t.Fatalf("days=soon: %d %.300s", r.status, r.body)
	}
}

// TestBrowserPolicyAndSources: an admin opens the policy page from the
// navigation, reads the agreement table (after a shadow run and two
// decisions) and follows a disagreement to its group; then opens the
// sources page and narrows the trend to the last day. Screenshots of both
// pages are kept.
func TestBrowserPolicyAndSources(t *testing.T) {
	f := newFixture(t, fixtureOpts{contacts: 300, cfg: func(c *web.Config) { c.Policy = shadowPolicy() }})
	rejected, _ := shadowAndDecide(t, f, shadowPolicy())
	ctx := newBrowser(t)
	shots := screenshotDir(t)

	step(t, ctx, "open the overview", chromedp.Navigate(f.url+"/"), chromedp.WaitVisible(chromedp.CSS(`nav a[href="/policy"]`)))
	step(t, ctx, "open the policy page", chromedp.Click(chromedp.CSS(`nav a[href="/policy"]`)), chromedp.WaitVisible(chromedp.ID("agreement")))
	for id, want := range map[string]string{"agree-tp": "TP ", "agree-fp": "FP 1", "agree-fn": "FN 1", "agree-decided": "2", "policy-mode": "shadow"} {
		got := value(t, ctx, id, chromedp.Text(chromedp.ID(id)))
		if !strings.HasPrefix(got, want) {
			t.Errorf("#%s = %q, want %q…", id, got, want)
		}
	}
	png := value(t, ctx, "policy screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(shots, "policy.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "follow the disagreement", chromedp.Click(chromedp.CSS(`#disagreements a[href^="/groups/`+rejected.ID+`"]`)), chromedp.WaitVisible(chromedp.ID("group-id")))
	if got := value(t, ctx, "group id", chromedp.Text(chromedp.ID("group-id"))); got != rejected.ID {
		t.Fatalf("the disagreement opened %q, want %s", got, rejected.ID)
	}

	step(t, ctx, "open the sources page", chromedp.Click(chromedp.CSS(`nav a[href="/sources"]`)), chromedp.WaitVisible(chromedp.ID("per-day")))
	dups := value(t, ctx, "duplicates", chromedp.Text(chromedp.ID("src-duplicates")))
	if n, err := strconv.Atoi(dups); err != nil || n == 0 {
		t.Fatalf("duplicates = %q", dups)
	}
	if src := value(t, ctx, "by source", chromedp.Text(chromedp.ID("by-source"))); !strings.Contains(src, "crm") {
		t.Fatalf("by source: %q", src)
	}
	step(t, ctx, "the last day", chromedp.SetValue(chromedp.ID("src-days"), "1"), chromedp.Submit(chromedp.ID("src-days")),
		chromedp.WaitVisible(chromedp.ID("per-day")))
	loc := value(t, ctx, "location", chromedp.Location())
	if !strings.Contains(loc, "days=1") {
		t.Fatalf("the form went to %s", loc)
	}
	png = value(t, ctx, "sources screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(shots, "sources.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
