package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkScan1M builds a sandbox of 1,000,000 generated contacts and walks
// the scan endpoint over real HTTP (5,000 pages of 200). It reports the build
// time, the heap held per contact and the scan time (ns/op = one full scan).
//
//	go test ./sandbox/ -run '^$' -bench Scan1M -benchtime 1x
func BenchmarkScan1M(b *testing.B) {
	const n = 1_000_000
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	sb, err := New(Config{Contacts: n, Seed: 1, RateLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	build := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	srv := httptest.NewServer(sb)
	defer srv.Close()
	tok := benchToken(b, srv.URL)
	client := srv.Client()
	b.ResetTimer()
	for b.Loop() {
		got := 0
		cursor := ""
		for {
			q := url.Values{"limit": {"200"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			req, _ := http.NewRequest("GET", srv.URL+"/api/v2/externalcontacts/scan/contacts?"+q.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Entities []json.RawMessage `json:"entities"`
				Cursors  *cursors          `json:"cursors"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("status %d: %v", resp.StatusCode, err)
			}
			got += len(page.Entities)
			if page.Cursors == nil || page.Cursors.After == "" {
				break
			}
			cursor = page.Cursors.After
		}
		if got != n {
			b.Fatalf("scanned %d of %d", got, n)
		}
	}
	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "heapB/contact")
	runtime.KeepAlive(sb)
}

func benchToken(b *testing.B, base string) string {
	req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.SetBasicAuth("sandbox-client", "sandbox-secret")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		b.Fatal(err)
	}
	return tok.AccessToken
}
