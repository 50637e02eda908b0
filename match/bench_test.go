package match

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

// storeLike is an Input shaped like a store: it holds the normalized forms
// (computed once, as a store does on write) and the contacts by id.
type storeLike struct{ *MemoryInput }

func newStoreLike(tb testing.TB, n int, seed int64, noIDs bool) (*storeLike, [][]string) {
	tb.Helper()
	org := sandbox.Generate(sandbox.GenConfig{Contacts: n, Seed: seed, DupRate: 0.2, NoIdentifiers: noIDs})
	return &storeLike{NewMemoryInput(org.Contacts, DefaultConfig())}, org.Truth
}

// procStatus returns a /proc/self/status value in KiB (0 if unavailable).
func procStatus(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			v, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return v
		}
	}
	return 0
}

// resetPeakRSS resets VmHWM (Linux: write 5 to clear_refs).
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func runScale(t *testing.T, n int) {
	in, truth := newStoreLike(t, n, 7, false)
	runtime.GC()
	resetPeakRSS()
	base := procStatus("VmRSS")
	start := time.Now()
	res, err := Run(context.Background(), in, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	peak := procStatus("VmHWM")
	p, r, f1, _, fp, fn := PairwiseScores(groupMembers(res), truth)
	t.Logf("%d contacts: %v total; phases %v", n, el.Round(time.Millisecond), res.Stats.Durations)
	t.Logf("RSS before run %d MiB, peak during run %d MiB (matcher's share %d MiB)", base/1024, peak/1024, (peak-base)/1024)
	t.Logf("%v", res.Stats)
	t.Logf("precision %.4f recall %.4f F1 %.4f (fp %d fn %d)", p, r, f1, fp, fn)
	if p < 0.99 {
		t.Errorf("precision %.4f < 0.99", p)
	}
}

// TestMatch1M matches 1,000,000 generated contacts (20% in duplicate
// clusters) from stored norms. It takes minutes of setup, so it runs only
// with MATCH_1M=1 and never with -short.
func TestMatch1M(t *testing.T) {
	if testing.Short() || os.Getenv("MATCH_1M") == "" {
		t.Skip("set MATCH_1M=1 (and no -short) to run the 1M scale test")
	}
	runScale(t, 1000000)
}

// TestMatch100k is the 100k scale run with timings (MATCH_1M=1 too).
func TestMatch100k(t *testing.T) {
	if testing.Short() || os.Getenv("MATCH_1M") == "" {
		t.Skip("set MATCH_1M=1 (and no -short) to run the scale tests")
	}
	runScale(t, 100000)
}

// BenchmarkMatch100k measures Run on 100,000 generated contacts whose norms
// are stored (as in a store); the org is generated once.
func BenchmarkMatch100k(b *testing.B) {
	in, _ := newStoreLike(b, 100000, 7, false)
	b.ResetTimer()
	var res *Result
	for b.Loop() {
		var err error
		res, err = Run(context.Background(), in, DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(res.Stats.ComparisonsPerSecondPerCore, "cmp/s/core")
	b.ReportMetric(float64(res.Stats.CandidatePairs), "pairs")
}

// BenchmarkScorePairs measures raw pair comparisons per second per core on
// the candidate pairs of a 20k organization.
func BenchmarkScorePairs(b *testing.B) {
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 20000, Seed: 3})
	cfg := DefaultConfig()
	in := NewMemoryInput(org.Contacts, cfg)
	d := newDataset()
	for i, id := range in.ids {
		d.addEncoded(id, in.norms[i])
	}
	d.finish()
	nick := newNicknames(cfg.Nicknames)
	br, err := block(context.Background(), d, &cfg, nick)
	if err != nil {
		b.Fatal(err)
	}
	s := newScorer(d, &cfg, nick)
	lv := make([]uint8, len(s.comps))
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for _, p := range br.pairs {
			s.levels(int32(p>>32), int32(p&0xffffffff), lv)
		}
		n += len(br.pairs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "cmp/s/core")
}

var _ = cm.GroupID
