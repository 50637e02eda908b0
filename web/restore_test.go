package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/restore"
	"github.com/contactmerge/contactmerge/web"
)

// restoreFixture is a console that restores, with one merged group of at
// least two members and one approved group that is not merged.
func restoreFixture(t *testing.T) (*fixture, cm.Group, cm.Group) {
	t.Helper()
	var api *genesys.Client // set once the fixture's sandbox exists
	f := newFixture(t, fixtureOpts{contacts: 300, cfg: func(c *web.Config) {
		st := c.Store
		c.Restore = func(actor string, keep bool) *restore.Restorer {
			return restore.New(st, api, restore.Config{Actor: actor, KeepEdited: keep, Settle: 300 * time.Millisecond})
		}
	}})
	api = f.org.Client(t, nil)
	prop := f.proposed()
	if len(prop) < 2 {
		t.Fatalf("%d proposed groups, want two", len(prop))
	}
	// Approve all but the last: the last stays unmerged.
	for _, g := range prop[:min(len(prop)-1, 12)] {
		if r := f.decide(g, "approve", nil); r.status != 303 {
			t.Fatalf("approve: %d %.300s", r.status, r.body)
		}
	}
	f.runPipeline()
	merged := f.group(prop[0].ID)
	if merged.State != cm.StateMerged {
		t.Fatalf("group %s is %s (%s), want merged", merged.ID, merged.State, merged.Reason)
	}
	return f, merged, f.group(prop[len(prop)-1].ID)
}

func creates(f *fixture) int {
	n := 0
	for _, op := range f.org.SB.Oplog() {
		if op.Op == "create" || op.Op == "update" {
			n++
		}
	}
	return n
}

// nonSurvivor is a member of g other than its survivor.
func nonSurvivor(g cm.Group) string {
	for _, m := range g.Members {
		if m != g.SurvivorID {
			return m
		}
	}
	return ""
}

// TestRestoreForms: the restore is previewed, then confirmed, each a POST
// with the session's CSRF token; a confirm of another plan than the one
// previewed, one without the token, and a preview of a group that is not
// merged send nothing.
func TestRestoreForms(t *testing.T) {
	f, merged, other := restoreFixture(t)
	member := nonSurvivor(merged)
	page := f.get("/groups/" + merged.ID)
	if !strings.Contains(page.body, `id="restore-form"`) || !strings.Contains(page.body, `value="`+member+`"`) {
		t.Fatalf("the merged group's page has no restore form: %.500s", page.body)
	}
	if p := f.get("/groups/" + other.ID); strings.Contains(p.body, `id="restore-form"`) {
		t.Error("a group that is not merged offers a restore")
	}
	csrf := f.csrf("/groups/" + merged.ID)
	form := url.Values{"csrf": {csrf}, "member": {member}}
	if r := f.post("/groups/"+merged.ID+"/restore/preview", url.Values{"member": {member}}); r.status != 403 {
		t.Errorf("preview without the CSRF token: %d", r.status)
	}
	pre := f.post("/groups/"+merged.ID+"/restore/preview", form)
	if pre.status != 200 || !strings.Contains(pre.body, `id="restore-confirm"`) || !strings.Contains(pre.body, "Cannot be restored") {
		t.Fatalf("preview: %d %.800s", pre.status, pre.body)
	}
	if n := creates(f); n != 0 {
		t.Fatalf("the preview sent %d writes", n)
	}
	fp := strings.Split(strings.Split(pre.body, `name="fingerprint" value="`)[1], `"`)[0]
	bad := url.Values{"csrf": {csrf}, "member": {member}, "fingerprint": {"0000"}}
	if r := f.post("/groups/"+merged.ID+"/restore", bad); r.status != 409 || !strings.Contains(r.body, "preview again") {
		t.Errorf("confirm of another plan: %d %.300s", r.status, r.body)
	}
	if r := f.post("/groups/"+merged.ID+"/restore", url.Values{"member": {member}, "fingerprint": {fp}}); r.status != 403 {
		t.Errorf("confirm without the CSRF token: %d", r.status)
	}
	if r := f.post("/groups/"+other.ID+"/restore/preview", url.Values{"csrf": {csrf}, "member": {other.Members[0]}}); !strings.Contains(r.body, "not merged") ||
		strings.Contains(r.body, `id="restore-confirm"`) {
		t.Errorf("preview of a group that is not merged: %d %.500s", r.status, r.body)
	}
	if n := creates(f); n != 0 {
		t.Fatalf("refused requests sent %d writes", n)
	}
	done := f.post("/groups/"+merged.ID+"/restore", url.Values{"csrf": {csrf}, "member": {member}, "fingerprint": {fp}})
	if done.status != 200 || !strings.Contains(done.body, `id="restore-done"`) {
		t.Fatalf("confirm: %d %.800s", done.status, done.body)
	}
	rs, err := restore.Restorations(context.Background(), f.st)
	if err != nil || len(rs) != 1 || rs[0].OldID != member {
		t.Fatalf("restorations %+v, %v", rs, err)
	}
	if m := f.get("/idmap.csv").body; !strings.HasPrefix(m, "oldId,canonicalId,groupId,restoredId\n") || !strings.Contains(m, ","+rs[0].RestoredID+"\n") {
		t.Errorf("the id map download lacks the restored id: %.300s", m)
	}
	// Restored once: the page offers it no more, and a second confirm is refused.
	if p := f.get("/groups/" + merged.ID); strings.Contains(p.body, `name="member" value="`+member+`" data-member`) {
		t.Error("the page still offers to restore the restored member")
	}
	if r := f.post("/groups/"+merged.ID+"/restore", url.Values{"csrf": {csrf}, "member": {member}, "fingerprint": {fp}}); r.status != 400 ||
		!strings.Contains(r.body, "restored already") {
		t.Errorf("second restore: %d %.300s", r.status, r.body)
	}
}

// TestBrowserRestore: a person ticks a member on the merged group's page,
// previews the restore, sees what cannot be restored, confirms, and gets
// the new contact's id; the platform holds exactly that one new contact.
func TestBrowserRestore(t *testing.T) {
	f, merged, _ := restoreFixture(t)
	member := nonSurvivor(merged)
	ctx := newBrowser(t)
	step(t, ctx, "open the merged group", chromedp.Navigate(f.url+"/groups/"+merged.ID), chromedp.WaitVisible(chromedp.ID("restore-form")))
	step(t, ctx, "tick and preview",
		chromedp.Click(chromedp.CSS(`#restore-form input[name="member"][value="`+member+`"]`)),
		chromedp.Click(chromedp.ID("restore-preview-button")),
		chromedp.WaitVisible(chromedp.ID("restore-preview")))
	lost := value(t, ctx, "what cannot be restored", chromedp.Text(chromedp.ID("restore-lost")))
	if !strings.Contains(lost, "conversations") || !strings.Contains(lost, "new id") {
		t.Errorf("the preview's cannot-restore list: %q", lost)
	}
	if n := creates(f); n != 0 {
		t.Fatalf("the preview sent %d writes", n)
	}
	step(t, ctx, "confirm", chromedp.Click(chromedp.ID("restore-apply")), chromedp.WaitVisible(chromedp.ID("restore-done")))
	nid := strings.TrimSpace(value(t, ctx, "restored id", chromedp.Text(chromedp.CSS("#restored .restored-id"))))
	c, ok := f.org.SB.Contact(nid)
	if !ok || c.IsMerged() {
		t.Fatalf("restored contact %q: %+v (%v)", nid, c, ok)
	}
	n := 0
	for _, op := range f.org.SB.Oplog() {
		if op.Op == "create" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d contacts created, want 1", n)
	}
}

// TestRestoreEditedField: a field of the canonical contact edited since the
// merge is shown and the restore refused, with a form that previews the
// rest leaving it as it is; confirming that keeps the edit.
func TestRestoreEditedField(t *testing.T) {
	f, _, _ := restoreFixture(t)
	ctx := context.Background()
	api := f.org.Client(t, nil)
	// A merged member with a value of its own in a text field of the
	// canonical contact.
	var merged cm.Group
	var p *restore.Plan
	var canon *cm.Contact
	member, edited := "", ""
	gs, err := f.st.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateMerged}})
	if err != nil {
		t.Fatal(err)
	}
search:
	for _, g := range gs {
		for _, m := range g.Members {
			if m == g.SurvivorID {
				continue
			}
			pl, err := restore.New(f.st, api, restore.Config{}).Plan(ctx, g.ID, []string{m})
			if err != nil {
				continue
			}
			for _, rm := range pl.Removals {
				if fl, ok := cm.LookupField(rm.Field); ok && fl.Set != nil && !strings.HasSuffix(rm.Field, "Phone") {
					c, _, err := api.Contacts.Get(ctx, pl.CanonicalID)
					if err != nil {
						t.Fatal(err)
					}
					if fl.Set(c, "edited@example.org") == nil {
						merged, p, canon, member, edited = g, pl, c, m, rm.Field
						break search
					}
				}
			}
		}
	}
	if edited == "" {
		t.Fatalf("no merged member of %d groups has a text value of its own in the canonical contact", len(gs))
	}
	if _, _, err := api.Contacts.UpdateContact(ctx, canon.ID, canon); err != nil {
		t.Fatal(err)
	}
	csrf := f.csrf("/groups/" + merged.ID)
	pre := f.post("/groups/"+merged.ID+"/restore/preview", url.Values{"csrf": {csrf}, "member": {member}})
	if !strings.Contains(pre.body, `id="restore-refused"`) || !strings.Contains(pre.body, `id="restore-keep-edited"`) ||
		strings.Contains(pre.body, `id="restore-confirm"`) || !strings.Contains(pre.body, "edited@example.org") {
		t.Fatalf("preview over an edited %s: %d %.1500s", edited, pre.status, pre.body)
	}
	keep := f.post("/groups/"+merged.ID+"/restore/preview", url.Values{"csrf": {csrf}, "member": {member}, "keep_edited": {"on"}})
	if !strings.Contains(keep.body, `id="restore-confirm"`) || !strings.Contains(keep.body, `name="keep_edited" value="on"`) {
		t.Fatalf("preview keeping the edit: %d %.1500s", keep.status, keep.body)
	}
	fp := strings.Split(strings.Split(keep.body, `name="fingerprint" value="`)[1], `"`)[0]
	done := f.post("/groups/"+merged.ID+"/restore", url.Values{"csrf": {csrf}, "member": {member}, "keep_edited": {"on"}, "fingerprint": {fp}})
	if done.status != 200 || !strings.Contains(done.body, "edited field(s) left as they are") {
		t.Fatalf("confirm: %d %.800s", done.status, done.body)
	}
	after, _ := f.org.SB.Contact(p.CanonicalID)
	if fl, _ := cm.LookupField(edited); fl.Get(&after) != "edited@example.org" {
		t.Errorf("the edited %s became %q", edited, fl.Get(&after))
	}
}
