package review_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
	"github.com/contactmerge/contactmerge/store"
)

// FuzzReadDecisionsCSV: no decision file, however broken, panics the reader,
// and every row it accepts names a group of the store and a valid verdict.
func FuzzReadDecisionsCSV(f *testing.F) {
	st, err := store.Open(ctx(), filepath.Join(f.TempDir(), "fuzz.db"), store.Options{Now: now})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	gs := []cm.Group{group(0.9, "a1", "a2", "a3"), group(0.8, "b1", "b2")}
	if _, err := st.SaveProposals(ctx(), gs, "match"); err != nil {
		f.Fatal(err)
	}
	for i := range gs {
		gs[i].ID = cm.GroupID(gs[i].Members)
	}
	for _, s := range []string{
		"groupId,decision,survivorId,reason\n" + gs[0].ID + ",approve,a2,looks right\n" + gs[1].ID + ",reject,,no\n",
		"groupId,decision,members\n" + gs[0].ID + ",split,a3\n",
		"\ufeffgroupId,decision\n" + gs[1].ID + ",approve\n",
		"groupId,decision\n\"" + gs[0].ID + ",approve\n",
		"groupId,decision,decision\n" + gs[0].ID + ",approve,reject\n",
		"ab\"c,Ann\n",
		"groupId,decision\ng_missing,approve\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		rows, bad, err := review.ReadDecisionsCSV(ctx(), st, strings.NewReader(data), "fuzz.csv")
		if err != nil || len(bad) > 0 {
			return
		}
		for _, r := range rows {
			if r.Group.ID != gs[0].ID && r.Group.ID != gs[1].ID {
				t.Fatalf("accepted a row for group %q, not in the store", r.Group.ID)
			}
			if r.Survivor != "" && !slices.Contains(r.Group.Members, r.Survivor) {
				t.Fatalf("accepted survivor %q, not a member of %s", r.Survivor, r.Group.ID)
			}
		}
	})
}
