package match

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	cm "github.com/contactmerge/contactmerge"
)

// takeFields are the cm.ContactFields names a reviewer may take from one
// member, in ContactFields order.
var takeFields = []string{ //nolint:gochecknoglobals // immutable table
	"type", "firstName", "middleName", "lastName", "salutation", "title",
	"workEmail", "personalEmail", "otherEmail", "workPhone", "cellPhone", "homePhone", "otherPhone",
	"address1", "address2", "city", "state", "postalCode", "countryCode",
	"customFields", "externalSystemUrl", "surveyOptOut",
}

// TakeFields returns the fields SurviveOptions.Take accepts: the fields of
// cm.ContactFields that survivorship fills from one member.
func TakeFields() []string { return slices.Clone(takeFields) }

// TakeField returns the canonical name of a field a reviewer may take (the
// name is matched without case), or an error saying why it cannot be taken.
func TakeField(name string) (string, error) {
	f, ok := cm.LookupField(name)
	if !ok {
		return "", fmt.Errorf("no field %q (fields that can be taken: %s)", name, strings.Join(takeFields, ", "))
	}
	if slices.Contains(takeFields, f.Name) {
		return f.Name, nil
	}
	if f.Name == "externalIds" {
		return "", fmt.Errorf("externalIds cannot be taken from one member: the merged record keeps every member's external ids")
	}
	return "", fmt.Errorf("%s is not a field survivorship fills (fields that can be taken: %s)", f.Name, strings.Join(takeFields, ", "))
}

// CheckTakes checks a reviewer's per-field choices against a group's
// members: every field can be taken (TakeField, canonical names), every
// contact is a member and has a value for the field, and the address parts
// name one member (the address is taken whole). It returns the first
// problem.
func CheckTakes(members []cm.Contact, take map[string]string) error {
	address := ""
	for _, field := range slices.Sorted(maps.Keys(take)) {
		id := take[field]
		name, err := TakeField(field)
		if err != nil {
			return err
		}
		if name != field {
			return fmt.Errorf("field %q is spelled %s", field, name)
		}
		i := slices.IndexFunc(members, func(c cm.Contact) bool { return c.ID == id })
		if i < 0 {
			return fmt.Errorf("%s=%s: %s is not a member of the group", field, id, id)
		}
		if !hasValue(&members[i], field) {
			return fmt.Errorf("%s=%s: %s has no %s", field, id, id, field)
		}
		if isAddressPart(field) {
			if address != "" && address != id {
				return fmt.Errorf("%s=%s: the address is taken whole from one member, and another address part names %s", field, id, address)
			}
			address = id
		}
	}
	return nil
}

func isAddressPart(field string) bool {
	switch field {
	case "address1", "address2", "city", "state", "postalCode", "countryCode":
		return true
	}
	return false
}

// hasValue reports whether c has a value that taking field would use.
func hasValue(c *cm.Contact, field string) bool {
	switch {
	case isAddressPart(field):
		return !c.Address.IsZero()
	case field == "customFields":
		return len(c.CustomFields) > 0
	}
	f, ok := cm.LookupField(field)
	return ok && strings.TrimSpace(f.Get(c)) != ""
}
