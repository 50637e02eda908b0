package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	cm "github.com/contactmerge/contactmerge"
)

func testScan(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	st, err := s.ScanState(ctx(), "full")
	must(t, err)
	if d := cmp.Diff(cm.ScanState{Name: "full"}, st); d != "" {
		t.Fatalf("never-run scan (-want +got):\n%s", d)
	}
	page := []cm.Contact{contact("c1", "A", t0()), contact("c2", "B", t0())}
	must(t, s.SaveScanPage(ctx(), cm.ScanState{Name: "full", Cursor: "p2", Pages: 1, Contacts: 2}, page))
	e.clock.Advance(time.Minute)
	must(t, s.SaveScanPage(ctx(), cm.ScanState{Name: "full", Cursor: "", Pages: 2, Contacts: 3, Done: true},
		[]cm.Contact{contact("c3", "C", t0())}))
	st, err = s.ScanState(ctx(), "full")
	must(t, err)
	want := cm.ScanState{Name: "full", Pages: 2, Contacts: 3, Done: true, StartedAt: t0(), UpdatedAt: t0().Add(time.Minute)}
	if d := cmp.Diff(want, st); d != "" {
		t.Fatalf("scan state (-want +got):\n%s", d)
	}
	if n, _ := s.CountContacts(ctx()); n != 3 {
		t.Fatalf("scan pages stored %d contacts", n)
	}
	// A reopened store resumes from the saved cursor.
	must(t, s.SaveScanPage(ctx(), cm.ScanState{Name: "inc", Cursor: "next", Pages: 7, Contacts: 1400}, nil))
	s2 := open(t, h, e.dsn, e.clock)
	st, err = s2.ScanState(ctx(), "inc")
	must(t, err)
	if st.Cursor != "next" || st.Pages != 7 || st.Contacts != 1400 || st.Done {
		t.Fatalf("resumed scan = %+v", st)
	}
	must(t, s2.ResetScan(ctx(), "inc"))
	st, err = s2.ScanState(ctx(), "inc")
	must(t, err)
	if st.Cursor != "" || st.Pages != 0 {
		t.Fatalf("after ResetScan: %+v", st)
	}
	// A failing page (bad contact) records no progress.
	err = s.SaveScanPage(ctx(), cm.ScanState{Name: "full", Cursor: "zzz", Pages: 9}, []cm.Contact{{}})
	wantCode(t, err, cm.EINVALID)
	st, _ = s.ScanState(ctx(), "full")
	if st.Pages != 2 {
		t.Fatalf("a failed page changed the scan state: %+v", st)
	}
}
