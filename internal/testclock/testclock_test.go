package testclock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/contactmerge/contactmerge/internal/testclock"
)

func TestClock(t *testing.T) {
	c := testclock.New(time.Time{})
	if !c.Now().Equal(testclock.Epoch()) {
		t.Fatalf("New(zero) = %v, want the epoch", c.Now())
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Advance(time.Second) })
	}
	wg.Wait()
	if got := c.Now().Sub(testclock.Epoch()); got != 10*time.Second {
		t.Fatalf("after 10 concurrent Advance(1s): +%v", got)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(at)
	if !c.Now().Equal(at) {
		t.Fatalf("Set: %v", c.Now())
	}
}
