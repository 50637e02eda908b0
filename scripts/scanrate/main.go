// Command scanrate measures how fast a platform serves the contact scan to
// one client that does nothing else with the pages (no store, no
// normalization): the ceiling `contactmerge scan` is measured against in
// the scale bench (make bench-scale). It reads the GENESYSCLOUD_REGION,
// GENESYSCLOUD_OAUTHCLIENT_ID and GENESYSCLOUD_OAUTHCLIENT_SECRET
// variables, walks every page once and prints pages, contacts and pages/s.
//
//	go run ./scripts/scanrate [-pages N]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/contactmerge/contactmerge/genesys"
)

func main() {
	limit := flag.Int("pages", 0, "stop after this many pages (0: every page)")
	flag.Parse()
	if flag.NArg() > 0 || *limit < 0 {
		fmt.Fprintln(os.Stderr, "usage: scanrate [-pages N]")
		os.Exit(2)
	}
	if err := run(*limit); err != nil {
		fmt.Fprintln(os.Stderr, "scanrate:", err)
		os.Exit(1)
	}
}

func run(limit int) error {
	ctx := context.Background()
	c, err := genesys.NewClient(ctx, genesys.Config{
		Region:       os.Getenv("GENESYSCLOUD_REGION"),
		ClientID:     os.Getenv("GENESYSCLOUD_OAUTHCLIENT_ID"),
		ClientSecret: os.Getenv("GENESYSCLOUD_OAUTHCLIENT_SECRET"),
	})
	if err != nil {
		return err
	}
	start := time.Now()
	pages, contacts := 0, 0
	for page, err := range c.Contacts.ScanAll(ctx, &genesys.ScanOptions{Limit: genesys.ScanLimitMax}) {
		if err != nil {
			return fmt.Errorf("page %d: %w", pages+1, err)
		}
		pages++
		contacts += len(page.Entities)
		if pages == limit {
			break
		}
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("served %d pages (%d contacts) in %.1f s: %.0f pages/s, %.0f contacts/s\n",
		pages, contacts, secs, float64(pages)/secs, float64(contacts)/secs)
	return nil
}
