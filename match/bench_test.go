package match

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

// storeLike is an Input shaped like a store: the normalized forms
// (computed once, as a store does on write) and the contacts' JSON, both in
// pointer-free arenas so that the harness does not burden the garbage
// collector more than a database would.
type storeLike struct {
	ids       []string
	normArena []byte
	normOff   []int
	jsonArena []byte
	jsonOff   []int
	index     map[string]int
}

func newStoreLike(tb testing.TB, n int, seed int64, noIDs bool) (*storeLike, [][]string) {
	tb.Helper()
	org := sandbox.Generate(sandbox.GenConfig{Contacts: n, Seed: seed, DupRate: 0.2, NoIdentifiers: noIDs})
	mem := NewMemoryInput(org.Contacts, DefaultConfig())
	s := &storeLike{ids: mem.ids, normOff: []int{0}, jsonOff: []int{0}, index: make(map[string]int, len(mem.ids))}
	for i, id := range mem.ids {
		s.normArena = append(s.normArena, mem.norms[i]...)
		s.normOff = append(s.normOff, len(s.normArena))
		b, err := json.Marshal(mem.byID[id])
		if err != nil {
			tb.Fatal(err)
		}
		s.jsonArena = append(s.jsonArena, b...)
		s.jsonOff = append(s.jsonOff, len(s.jsonArena))
		s.index[id] = i
	}
	// Move the arenas out of the Go heap (like a database's pages), so that
	// they do not raise the garbage collector's target.
	s.normArena = offHeap(tb, s.normArena)
	s.jsonArena = offHeap(tb, s.jsonArena)
	truth := org.Truth
	org = sandbox.Org{}
	mem = nil
	runtime.GC()
	return s, truth
}

// offHeap copies b into anonymous mmap'ed memory.
func offHeap(tb testing.TB, b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	m, err := syscall.Mmap(-1, 0, len(b), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		tb.Fatalf("mmap: %v", err)
	}
	copy(m, b)
	tb.Cleanup(func() { _ = syscall.Munmap(m) })
	return m
}

// EachNorm implements Input.
func (s *storeLike) EachNorm(ctx context.Context, fn func(id string, norm []byte) error) error {
	for i, id := range s.ids {
		if err := fn(id, s.normArena[s.normOff[i]:s.normOff[i+1]]); err != nil {
			return err
		}
	}
	return nil
}

// CountContacts is cm.Store's count, which Run uses to presize.
func (s *storeLike) CountContacts(context.Context) (int64, error) { return int64(len(s.ids)), nil }

// Contacts implements Input.
func (s *storeLike) Contacts(_ context.Context, ids []string) (map[string]cm.Contact, error) {
	out := make(map[string]cm.Contact, len(ids))
	for _, id := range ids {
		i, ok := s.index[id]
		if !ok {
			continue
		}
		var c cm.Contact
		if err := json.Unmarshal(s.jsonArena[s.jsonOff[i]:s.jsonOff[i+1]], &c); err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, nil
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

func runScale(t *testing.T, n int) {
	in, truth := newStoreLike(t, n, 7, false)
	debug.FreeOSMemory()
	base := procStatus("VmRSS")
	var peak int64
	var peakAt time.Duration
	t0 := time.Now()
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := procStatus("VmRSS"); v > peak {
				peak, peakAt = v, time.Since(t0)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	res, err := Run(context.Background(), in, DefaultConfig())
	el := time.Since(start)
	if p := os.Getenv("MATCH_HEAPPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	close(done)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	p, r, f1, _, fp, fn := PairwiseScores(groupMembers(res), truth)
	t.Logf("%d contacts: %v total; phases %v", n, el.Round(time.Millisecond), res.Stats.Durations)
	t.Logf("RSS before run %d MiB (the harness's contacts and norms), peak RSS during run %d MiB (matcher's share %d MiB) at %v", base/1024, peak/1024, (peak-base)/1024, peakAt.Round(time.Millisecond))
	t.Logf("%v", res.Stats)
	for _, r := range res.Stats.Rules {
		t.Logf("rule %-20s blocks %8d skipped %5d pairs %9d", r.Name, r.Blocks, r.SkippedBlocks, r.Pairs)
	}
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

// TestMatchScale runs MATCH_N contacts (MATCH_1M=1 too).
func TestMatchScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MATCH_N"))
	if testing.Short() || os.Getenv("MATCH_1M") == "" || n == 0 {
		t.Skip("set MATCH_1M=1 and MATCH_N")
	}
	runScale(t, n)
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
		d.addEncoded(id, in.norms[i], in.fp)
	}
	d.finish()
	nick := newNicknames(cfg.Nicknames)
	br, err := block(context.Background(), d, &cfg, nick, false)
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

// BenchmarkReadNorms measures the normalize phase's work on stored norms:
// validating (version, fingerprint, bounds) and interning 100,000 norms.
func BenchmarkReadNorms(b *testing.B) {
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 100000, Seed: 7, DupRate: 0.2})
	in := NewMemoryInput(org.Contacts, DefaultConfig())
	b.ResetTimer()
	for b.Loop() {
		d := newDataset()
		d.presize(len(in.ids))
		for i, id := range in.ids {
			if !d.addEncoded(id, in.norms[i], in.fp) {
				b.Fatal("stored norm not usable")
			}
		}
		d.finish()
	}
}
