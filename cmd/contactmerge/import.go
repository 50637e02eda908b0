package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/contactmerge/contactmerge/importer"
	"github.com/contactmerge/contactmerge/store"
)

type importOptions struct {
	IO        IO
	OpenStore func(context.Context) (store.Store, error)

	file        string
	skipInvalid bool
}

func newCmdImport(f *Factory, runF func(*importOptions) error) *cobra.Command {
	o := &importOptions{IO: f.IO, OpenStore: f.OpenStore}
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
		RunE: func(cmd *cobra.Command, args []string) error {
			o.file = args[0]
			if runF != nil {
				return runF(o)
			}
			return importRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.skipInvalid, "skip-invalid", false, "import the valid lines of a file that has invalid ones")
	return cmd
}

func importRun(ctx context.Context, o *importOptions) error {
	res, err := importer.ReadFile(o.file)
	if err != nil {
		return err
	}
	if len(res.Invalid) > 0 && !o.skipInvalid {
		return res.Err()
	}
	st, err := o.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	for batch := range slices.Chunk(res.Contacts, 5000) {
		if err := st.UpsertContacts(ctx, batch); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	for _, e := range res.Invalid {
		fmt.Fprintf(o.IO.ErrOut, "skipped %s\n", e)
	}
	fmt.Fprintf(o.IO.Out, "imported %d contacts from %s", len(res.Contacts), o.file)
	if len(res.Invalid) > 0 {
		fmt.Fprintf(o.IO.Out, " (%d invalid lines skipped)", len(res.Invalid))
	}
	fmt.Fprintln(o.IO.Out)
	return nil
}
