// Command genorg writes a generated organization as JSONL, one Genesys
// Cloud ExternalContact a line, streaming (sandbox.GenerateStream): the
// input of `contactmerge import` and `contactmerge sandbox --load` for the
// scale bench (make bench-scale). By default it writes the contacts a scan
// of `contactmerge sandbox --contacts N --seed S` lists (its Curated
// records, the same ones; the auto-created records the sandbox hides are
// left out); -listed=false writes every record of the mode where all are
// listed. The duplicate clusters go to -truth when given, one JSON array of
// the ids written a line.
//
//	go run ./scripts/genorg -n 1000000 -seed 1 -o org.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

func main() {
	n := flag.Int("n", 1000000, "contacts to generate")
	seed := flag.Int64("seed", 1, "generator seed")
	dup := flag.Float64("dup-rate", 0.2, "fraction of contacts in duplicate clusters")
	out := flag.String("o", "", "output file (default: standard output)")
	truth := flag.String("truth", "", "also write the duplicate clusters to this file")
	listed := flag.Bool("listed", true, "only the contacts the sandbox lists (Curated), as `contactmerge sandbox --contacts N` has them")
	flag.Parse()
	if flag.NArg() > 0 || *n < 0 || *dup <= 0 || *dup > 1 {
		fmt.Fprintln(os.Stderr, "usage: genorg [-n CONTACTS] [-seed N] [-dup-rate 0<R<=1] [-listed=false] [-o FILE] [-truth FILE]")
		os.Exit(2)
	}
	cfg := sandbox.GenConfig{Contacts: *n, Seed: *seed, DupRate: *dup, CuratedDuplicates: *listed}
	if err := run(cfg, *out, *truth); err != nil {
		fmt.Fprintln(os.Stderr, "genorg:", err)
		os.Exit(1)
	}
}

func run(cfg sandbox.GenConfig, out, truth string) error {
	w, closeOut, err := create(out)
	if err != nil {
		return err
	}
	var tw *bufio.Writer
	closeTruth := func() error { return nil }
	if truth != "" {
		if tw, closeTruth, err = create(truth); err != nil {
			return err
		}
	}
	line := func(bw *bufio.Writer, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		_, err = bw.Write(b)
		return err
	}
	hidden := map[string]bool{} // records left out (not listed)
	var onCluster func([]string) error
	if tw != nil {
		onCluster = func(ids []string) error {
			kept := make([]string, 0, len(ids))
			for _, id := range ids {
				if !hidden[id] {
					kept = append(kept, id)
				}
			}
			if len(kept) < 2 {
				return nil
			}
			return line(tw, kept)
		}
	}
	err = sandbox.GenerateStream(cfg, func(c *cm.Contact) error {
		if cfg.CuratedDuplicates && c.Type != cm.TypeCurated {
			if tw != nil {
				hidden[c.ID] = true
			}
			return nil
		}
		return line(w, c)
	}, onCluster)
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if cerr := closeTruth(); err == nil {
		err = cerr
	}
	return err
}

// create opens path for writing ("" = standard output) and returns a
// buffered writer and the function that flushes and closes it.
func create(path string) (*bufio.Writer, func() error, error) {
	var f io.WriteCloser = os.Stdout
	if path != "" {
		fh, err := os.Create(path)
		if err != nil {
			return nil, nil, err
		}
		f = fh
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	return bw, func() error {
		err := bw.Flush()
		if path != "" {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		return err
	}, nil
}
