package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/importer"
	"github.com/contactmerge/contactmerge/store"
)

type importOptions struct {
	IO          IO
	CreateStore func(context.Context) (store.Store, error)
	StoreName   func() string
	// Normalizer is CreateStore's stores' (a JSONL file read into memory
	// is encoded for the store as it is read, before the store exists).
	Normalizer cm.Normalizer

	file        string
	skipInvalid bool
	streamAbove int64  // --stream-above (hidden): JSONL files larger than this are streamed
	org         string // --org: the organization the file was exported from
	asJSON      bool
}

func newCmdImport(f *Factory, runF func(*importOptions) error) *cobra.Command {
	o := &importOptions{IO: f.IO, CreateStore: f.CreateStore, StoreName: f.StoreName, Normalizer: f.Normalizer()}
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load contacts from JSONL or a CSV export into the store",
		Long: `Loads contacts into the snapshot from a file: JSONL with one Genesys Cloud ExternalContact
object per line (Genesys JSON field names), or, for a name ending in .csv, a CSV export whose
header names the fields (id, firstName, lastName, workEmail, cellPhone, address1, city,
postalCode, type, modifyDate, customFields.NAME, externalIds.SOURCE, ...).

Every line is validated first. A file with an invalid line imports nothing, and every bad
line is reported as FILE:LINE: field: problem — unless --skip-invalid is given, which imports
the valid lines and reports the others. A JSONL file over 1 GiB (1.4 million contacts) is
read twice, to validate it and then into the store, and never held in memory: files of
millions of contacts import in bounded memory.

The first import into a store creates it and records its organization: --org ID (the
organization id the file was exported from, as 'contactmerge auth check' shows it), else an
"offline import", which no organization's credentials may scan or run against. Importing
into a store of another organization exits 2 and imports nothing.`,
		Example: `  contactmerge import contacts.jsonl
  contactmerge import --org 6f1c5c2e-0c4b-4c7e-9d1a-3f1d2b8e7a10 export.csv
  contactmerge --db offline.db import --skip-invalid contacts.csv`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			if runF != nil {
				return runF(o)
			}
			return importRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.skipInvalid, "skip-invalid", false, "import the valid lines of a file that has invalid ones")
	cmd.Flags().StringVar(&o.org, "org", "", "the id of the organization the file was exported from (default: an offline import)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the result as one JSON object")
	cmd.Flags().Int64Var(&o.streamAbove, "stream-above", importInMemory, "stream JSONL files larger than this many bytes (tests and benchmarks)")
	_ = cmd.Flags().MarkHidden("stream-above")
	return cmd
}

// importInMemory is the size up to which a JSONL file is read once, into
// memory (encoded for the store: a peak RSS of about 2.2 KiB per contact,
// 2.2 GB at a million; 1 GiB is 1.4 million contacts), and beyond which it
// is read twice and streamed into the store in bounded memory (the second
// read costs about a third more CPU).
const importInMemory = 1 << 30

// importResult is what import prints.
type importResult struct {
	File         string   `json:"file"`
	Imported     int      `json:"imported"`
	Skipped      []string `json:"skipped,omitempty"` // FILE:LINE: field: problem
	Organization cm.Org   `json:"organization"`
}

func importRun(ctx context.Context, o *importOptions) error {
	// A large JSONL file is read twice and never held: once to validate
	// every line (a rejected file does not even create the store), then
	// again into the store, in one transaction, while it is decoded. Other
	// files are read once, into memory.
	stream := false
	if fi, err := os.Stat(o.file); err == nil && !importer.IsCSV(o.file) && fi.Size() > o.streamAbove {
		stream = true
	}
	var res importer.Result
	var n int
	var err error
	// encoded are the contacts of a JSONL file read into memory, encoded
	// for the store as they are decoded, on every core, with the lines as
	// their JSON (importer.StreamJSONLEncoded, store.Encoder): half the
	// memory of the contacts, and only the writing is left.
	var encoded [][]store.EncodedContact
	switch {
	case stream:
		res, n, err = importer.StreamFile(o.file, func([]cm.Contact) error { return nil })
	case importer.IsCSV(o.file):
		res, err = importer.ReadFile(o.file)
		n = len(res.Contacts)
	default:
		f, ferr := os.Open(o.file)
		if ferr != nil {
			return cm.Errorf(cm.EINVALID, "import: %v", ferr)
		}
		res, n, err = importer.StreamJSONLEncoded(f, filepath.Base(o.file), store.NewEncoder(o.Normalizer).Encode,
			func(rs []store.EncodedContact) error {
				encoded = append(encoded, rs)
				return nil
			})
		f.Close()
	}
	if err != nil {
		return err
	}
	if len(res.Invalid) > 0 && !o.skipInvalid {
		return res.Err()
	}
	org := cm.Org{ID: cm.OfflineOrgID, Name: "offline import", Source: "offline import"}
	if o.org != "" {
		org = cm.Org{ID: o.org, Source: "import --org"}
	}
	st, err := o.CreateStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.BindOrg(ctx, org); cm.IsCode(err, cm.ECONFLICT) {
		have, herr := st.Org(ctx)
		if herr != nil {
			return herr
		}
		hint := "use another store (--db)"
		if !have.Offline() {
			hint = "pass --org " + have.ID + " if " + o.file + " is an export of that organization, or " + hint
		}
		return cm.Errorf(cm.EINVALID, "store %s belongs to %s, and %s would be imported as %s: nothing was imported; %s",
			o.StoreName(), have, o.file, org, hint)
	} else if err != nil {
		return err
	}
	if org, err = st.Org(ctx); err != nil {
		return err
	}
	// One transaction: a failure or a kill -9 part-way leaves nothing
	// imported, as the command promises ("any invalid line → nothing
	// imported" holds for a failed write as well).
	switch {
	case stream:
		err = store.UpsertContactDataStream(ctx, st, n, func(put func(store.ContactData) error) error {
			again, m, err := importer.StreamFileData(o.file, func(cs []cm.Contact, data [][]byte) error {
				return put(store.ContactData{Contacts: cs, Data: data})
			})
			if err == nil && (m != n || len(again.Invalid) != len(res.Invalid)) {
				err = cm.Errorf(cm.EINVALID, "%s changed while it was imported (%d valid lines, then %d)", o.file, n, m)
			}
			return err
		})
	case encoded != nil:
		err = store.UpsertEncoded(ctx, st, encoded)
	default:
		err = st.UpsertContacts(ctx, res.Contacts)
	}
	if err != nil {
		return fmt.Errorf("import: nothing was imported: %w", err)
	}
	out := importResult{File: o.file, Imported: n, Organization: org}
	for _, e := range res.Invalid {
		out.Skipped = append(out.Skipped, e.Error())
	}
	if o.asJSON {
		return writeJSON(o.IO.Out, out)
	}
	for _, e := range out.Skipped {
		fmt.Fprintf(o.IO.ErrOut, "skipped %s\n", e)
	}
	fmt.Fprintf(o.IO.Out, "imported %d contacts from %s into %s (%s)", out.Imported, o.file, o.StoreName(), org)
	if len(res.Invalid) > 0 {
		fmt.Fprintf(o.IO.Out, " (%d invalid lines skipped)", len(res.Invalid))
	}
	fmt.Fprintln(o.IO.Out)
	return nil
}
