package match

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// LoadFEBRL reads one FEBRL CSV file (see bench-data/febrl/README.md) as
// contacts: given_name → firstName, surname → lastName, street_number +
// address_1 → address.address1, address_2 → address2, suburb → city,
// postcode → postalCode, state → state, date_of_birth →
// customFields.dateOfBirth, soc_sec_id → an external id of source "ssn".
// rec_id becomes the contact id. truth groups the ids by entity
// ("rec-<N>-…"). Fields are trimmed (every field after a comma starts with a
// space) and CRLF line endings are accepted.
func LoadFEBRL(path string) ([]cm.Contact, [][]string, error) {
	return LoadFEBRLFiles(path)
}

// LoadFEBRLFiles reads several FEBRL files as one set (4a + 4b): the truth
// joins records of the same entity across files.
func LoadFEBRLFiles(paths ...string) ([]cm.Contact, [][]string, error) {
	var cs []cm.Contact
	entities := map[string][]string{}
	var order []string
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("febrl: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		line := 0
		var header []string
		for sc.Scan() {
			line++
			text := strings.TrimRight(sc.Text(), "\r")
			if strings.TrimSpace(text) == "" {
				continue
			}
			fields := strings.Split(text, ",")
			for i := range fields {
				fields[i] = strings.TrimSpace(fields[i])
			}
			if header == nil {
				header = fields
				if len(header) != 11 || header[0] != "rec_id" {
					f.Close()
					return nil, nil, fmt.Errorf("febrl: %s: unexpected header %q", path, text)
				}
				continue
			}
			if len(fields) != 11 {
				f.Close()
				return nil, nil, fmt.Errorf("febrl: %s:%d: %d fields, want 11", path, line, len(fields))
			}
			c := cm.Contact{ID: fields[0], FirstName: fields[1], LastName: fields[2], Type: cm.TypeCurated}
			addr := cm.Address{
				Address1:   strings.TrimSpace(fields[3] + " " + fields[4]),
				Address2:   fields[5],
				City:       fields[6],
				PostalCode: fields[7],
				State:      fields[8],
			}
			if !addr.IsZero() {
				c.Address = &addr
			}
			if fields[9] != "" {
				c.CustomFields = map[string]any{"dateOfBirth": fields[9]}
				c.Schema = &cm.Schema{ID: "febrl", Version: 1}
			}
			if fields[10] != "" {
				c.ExternalIDs = []cm.ExternalID{{ExternalSource: &cm.ExternalSource{Name: "ssn"}, Value: fields[10]}}
			}
			cs = append(cs, c)
			parts := strings.Split(fields[0], "-")
			if len(parts) < 3 || parts[0] != "rec" {
				f.Close()
				return nil, nil, fmt.Errorf("febrl: %s:%d: rec_id %q is not rec-<N>-org|dup-<k>", path, line, fields[0])
			}
			if _, ok := entities[parts[1]]; !ok {
				order = append(order, parts[1])
			}
			entities[parts[1]] = append(entities[parts[1]], fields[0])
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("febrl: %s: %w", path, err)
		}
	}
	truth := make([][]string, 0, len(order))
	for _, e := range order {
		truth = append(truth, entities[e])
	}
	return cs, truth, nil
}
