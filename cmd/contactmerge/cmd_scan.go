package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/engine"
	"github.com/contactmerge/contactmerge/importer"
	"github.com/contactmerge/contactmerge/match"
)

type scanOptions struct {
	restart  bool
	division string
	pageSize int
}

func newScanCmd(f *Factory) *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Fetch every contact into the store (resumable)",
		Long: `Walks all External Contacts with the cursor-paged scan endpoint (200 a page) and
upserts them into the snapshot. The cursor is saved with every page: an interrupted scan
(Ctrl-C, kill -9, crash) resumes where it stopped when run again. A completed scan starts
over.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runScan(cmd.Context(), f, o) },
	}
	cmd.Flags().BoolVar(&o.restart, "restart", false, "discard a saved cursor and start from the first page")
	cmd.Flags().StringVar(&o.division, "division", "", "scan one division only")
	cmd.Flags().IntVar(&o.pageSize, "page-size", 200, "contacts per page (10..200)")
	return cmd
}

func runScan(ctx context.Context, f *Factory, o *scanOptions) error {
	st, err := f.OpenStore(ctx, match.DefaultConfig())
	if err != nil {
		return err
	}
	defer st.Close()
	client, err := f.Client(ctx, 0, nil)
	if err != nil {
		return err
	}
	prev, err := st.ScanState(ctx, "contacts")
	if err != nil {
		return err
	}
	if prev.Cursor != "" && !prev.Done && !o.restart {
		fmt.Fprintf(f.IO.ErrOut, "resuming the scan after page %d (%d contacts)\n", prev.Pages, prev.Contacts)
	}
	start := f.Now()
	prog := newProgress(f, -1, "scanning")
	state, err := engine.Scan(ctx, client, st, engine.ScanOptions{
		Restart: o.restart, DivisionID: o.division, PageSize: o.pageSize, Now: f.Now,
		Progress: func(s cm.ScanState) { prog.Set(s.Contacts, fmt.Sprintf("page %d", s.Pages)) },
	})
	prog.Done()
	if err != nil {
		return err
	}
	el := f.Now().Sub(start)
	total, err := st.CountContacts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "scan complete: %d pages, %d contacts read in %s (%.0f contacts/s); %d contacts in the store\n",
		state.Pages, state.Contacts, el.Round(time.Millisecond), float64(state.Contacts)/max(el.Seconds(), 1e-9), total)
	return nil
}

type importOptions struct {
	skipInvalid bool
}

func newImportCmd(f *Factory) *cobra.Command {
	o := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load contacts from JSONL or a CSV export into the store",
		Long: `Loads contacts into the snapshot from a file: JSONL with one Genesys Cloud ExternalContact
object per line (Genesys JSON field names), or, for a name ending in .csv, a CSV export whose
header names the fields (id, firstName, lastName, workEmail, cellPhone, address1, city,
postalCode, type, modifyDate, customFields.NAME, externalIds.SOURCE, ...).

Every line is validated first. A file with an invalid line imports nothing, and every bad
line is reported as FILE:LINE: field: problem — unless --skip-invalid is given, which imports
the valid lines and reports the others.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runImport(cmd.Context(), f, o, args[0]) },
	}
	cmd.Flags().BoolVar(&o.skipInvalid, "skip-invalid", false, "import the valid lines of a file that has invalid ones")
	return cmd
}

func runImport(ctx context.Context, f *Factory, o *importOptions, path string) error {
	res, err := importer.ReadFile(path)
	if err != nil {
		return err
	}
	if len(res.Invalid) > 0 && !o.skipInvalid {
		return res.Err()
	}
	st, err := f.OpenStore(ctx, match.DefaultConfig())
	if err != nil {
		return err
	}
	defer st.Close()
	const batch = 5000
	for i := 0; i < len(res.Contacts); i += batch {
		if err := st.UpsertContacts(ctx, res.Contacts[i:min(i+batch, len(res.Contacts))]); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	for _, e := range res.Invalid {
		fmt.Fprintf(f.IO.ErrOut, "skipped %s\n", e)
	}
	fmt.Fprintf(f.IO.Out, "imported %d contacts from %s", len(res.Contacts), path)
	if len(res.Invalid) > 0 {
		fmt.Fprintf(f.IO.Out, " (%d invalid lines skipped)", len(res.Invalid))
	}
	fmt.Fprintln(f.IO.Out)
	return nil
}

// progress is a progress bar on a terminal and plain lines otherwise.
type progress struct {
	bar   *progressbar.ProgressBar
	out   io.Writer
	label string
	last  time.Time
	now   func() time.Time
}

func newProgress(f *Factory, total int64, label string) *progress {
	p := &progress{out: f.IO.ErrOut, label: label, now: f.Now}
	if f.IO.TTY {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(f.IO.ErrOut),
			progressbar.OptionSetDescription(label), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return p
}

// Set reports the current count with a short detail.
func (p *progress) Set(n int64, detail string) {
	if p.bar != nil {
		p.bar.Describe(p.label + " " + detail)
		_ = p.bar.Set64(n)
		return
	}
	if now := p.now(); now.Sub(p.last) >= 2*time.Second {
		p.last = now
		fmt.Fprintf(p.out, "%s: %d (%s)\n", p.label, n, detail)
	}
}

// Done ends the bar.
func (p *progress) Done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
