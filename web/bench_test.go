package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/store"
	"github.com/contactmerge/contactmerge/web"
)

// benchGroups is the size of the queue benchmark's store.
const benchGroups = 100_000

// benchStore is the benchmark's store, built once per test binary: 100,000
// proposed groups (one in five of three members, the others pairs, with a
// confidence spread over [0, 1) and a two-link explanation) over 220,000
// contacts in four divisions and three types.
var benchStore struct {
	once  sync.Once
	dir   string
	path  string
	err   error
	build time.Duration
}

func buildBenchStore() (string, error) {
	benchStore.once.Do(func() {
		start := time.Now()
		benchStore.dir, benchStore.err = os.MkdirTemp("", "contactmerge-web-bench")
		if benchStore.err != nil {
			return
		}
		benchStore.path = filepath.Join(benchStore.dir, "queue.db")
		ctx := context.Background()
		st, err := store.Open(ctx, benchStore.path, store.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			benchStore.err = err
			return
		}
		defer st.Close()
		types := []string{cm.TypeCurated, cm.TypeIdentified, cm.TypeEphemeral}
		var cs []cm.Contact
		gs := make([]cm.Group, benchGroups)
		for i := range gs {
			ids := []string{fmt.Sprintf("c%07da", i), fmt.Sprintf("c%07db", i)}
			if i%5 == 0 {
				ids = append(ids, fmt.Sprintf("c%07dc", i))
			}
			div := &cm.Ref{ID: fmt.Sprintf("div-%d", i%4)}
			for k, id := range ids {
				cs = append(cs, cm.Contact{ID: id, FirstName: "Ann", LastName: fmt.Sprint("Lee", i), WorkEmail: fmt.Sprintf("ann%d@example.com", i),
					Type: types[(i+k)%3], Division: div, ModifyDate: time.Unix(1700000000, 0).UTC()})
			}
			var links []cm.PairEvidence
			for j := 1; j < len(ids); j++ {
				var fe []cm.FieldEvidence
				for _, f := range []string{"prior", "firstName", "lastName", "email", "phone", "address", "externalId.crm"} {
					fe = append(fe, cm.FieldEvidence{Field: f, Level: "exact", Weight: 3.2, A: "a value", B: "a value"})
				}
				links = append(links, cm.PairEvidence{A: ids[0], B: ids[j], Weight: 22.4, Probability: 0.99, Fields: fe})
			}
			gs[i] = cm.Group{ID: cm.GroupID(ids), Members: cm.SortedIDs(ids), SurvivorID: ids[0], Confidence: float64((i*7919)%100000) / 100000,
				Merged:      &cm.Contact{FirstName: "Ann", LastName: fmt.Sprint("Lee", i), WorkEmail: fmt.Sprintf("ann%d@example.com", i)},
				Explanation: &cm.Explanation{Links: links}}
		}
		for c := range slices.Chunk(cs, 5000) {
			if benchStore.err = st.UpsertContacts(ctx, c); benchStore.err != nil {
				return
			}
		}
		if _, benchStore.err = st.SaveProposals(ctx, gs, "match"); benchStore.err != nil {
			return
		}
		benchStore.build = time.Since(start)
	})
	return benchStore.path, benchStore.err
}

// BenchmarkQueue measures the review queue page on a 100,000-group store:
// the HTTP GET of /queue (filter, order and page in memory, then the
// page's 50 groups read from the store, then the template) for the default
// view (groups that need a person, least confident first), a filtered
// view, a page deep in the queue, and another order. It reports the
// median and 90th-percentile latency (target: a median under 200 ms) and
// logs the time the index took to load at start.
func BenchmarkQueue(b *testing.B) {
	path, err := buildBenchStore()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("store of %d groups built in %s", benchGroups, benchStore.build.Round(time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, path, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(web.Config{Store: st, ApproveThreshold: 0.999, SampleEvery: time.Hour, LedgerPoll: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	loadStart := time.Now()
	srv.Start(ctx)
	hs := httptest.NewServer(srv)
	defer func() {
		hs.Close()
		cancel()
		srv.Wait()
		st.Close()
	}()
	get := func(path string) (string, error) {
		res, err := http.Get(hs.URL + path)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			return "", fmt.Errorf("GET %s = %d: %.300s", path, res.StatusCode, body)
		}
		return string(body), err
	}
	// The first request waits for the index.
	first, err := get("/queue")
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(loadStart)
	if !strings.Contains(first, fmt.Sprintf(`id="queue-total">%d<`, benchGroups)) {
		b.Fatalf("the queue does not count %d groups: %.500s", benchGroups, first)
	}
	b.Logf("the queue index of %d groups loaded in %s (once, at start)", benchGroups, load.Round(time.Millisecond))
	for _, bc := range []struct{ name, path string }{
		{"needs-a-person", "/queue"},
		{"filtered", "/queue?min=0.2&max=0.8&minsize=3&division=div-2&type=Curated"},
		{"deep-page", "/queue?after=0.5~g_8"}, // half way: the groups after confidence 0.5
		{"by-size-all-states", "/queue?state=all&sort=-size"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := get(bc.path); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			med := lat[len(lat)/2]
			b.ReportMetric(float64(med.Microseconds())/1000, "ms/median")
			b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "ms/p90")
			if med > 200*time.Millisecond {
				b.Logf("%s: median %s is over the 200 ms target", bc.name, med)
			}
		})
	}
}
