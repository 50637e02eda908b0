package storetest

import (
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

func testLeases(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.s
	t1, err := s.AcquireLeases(ctx(), "w1", []string{"b", "a"}, time.Minute)
	must(t, err)
	// All or none: "c" is free but "b" is held.
	_, err = s.AcquireLeases(ctx(), "w2", []string{"c", "b"}, time.Minute)
	wantCode(t, err, cm.ECONFLICT)
	t2, err := s.AcquireLeases(ctx(), "w3", []string{"c"}, time.Minute)
	must(t, err)
	if t2 <= t1 {
		t.Fatalf("tokens not monotonic: %d %d", t1, t2)
	}
	// "c" went to w3, proving w2 left nothing behind; w2 cannot take it.
	_, err = s.AcquireLeases(ctx(), "w2", []string{"c"}, time.Minute)
	wantCode(t, err, cm.ECONFLICT)
	// Re-entrant: w1 extends its own leases (and gets a new token).
	e.clock.Advance(50 * time.Second)
	t3, err := s.AcquireLeases(ctx(), "w1", []string{"a", "b"}, time.Minute)
	must(t, err)
	if t3 <= t2 {
		t.Fatalf("re-entrant token %d not above %d", t3, t2)
	}
	e.clock.Advance(50 * time.Second) // 100 s after the first acquire, 50 s after the extension
	_, err = s.AcquireLeases(ctx(), "w2", []string{"a"}, time.Minute)
	wantCode(t, err, cm.ECONFLICT)
	// Expiry: c (acquired at 0 s for 60 s) is free now.
	if _, err := s.AcquireLeases(ctx(), "w2", []string{"c"}, time.Minute); err != nil {
		t.Fatalf("expired lease not taken over: %v", err)
	}
	// Release only touches the owner's leases.
	must(t, s.ReleaseLeases(ctx(), "w2", []string{"a", "b", "c"}))
	_, err = s.AcquireLeases(ctx(), "w4", []string{"a"}, time.Minute)
	wantCode(t, err, cm.ECONFLICT)
	must(t, s.ReleaseLeases(ctx(), "w1", []string{"a", "b"}))
	if _, err := s.AcquireLeases(ctx(), "w4", []string{"a", "b", "c"}, time.Minute); err != nil {
		t.Fatalf("released leases not free: %v", err)
	}
	_, err = s.AcquireLeases(ctx(), "", []string{"a"}, time.Minute)
	wantCode(t, err, cm.EINVALID)
	_, err = s.AcquireLeases(ctx(), "w1", nil, time.Minute)
	wantCode(t, err, cm.EINVALID)
}
