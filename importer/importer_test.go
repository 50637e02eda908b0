package importer_test

import (
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/importer"
)

func TestReadJSONL(t *testing.T) {
	in := `{"id":"a","firstName":"Ann","workEmail":"ann@example.com","cellPhone":{"display":"+13175550100","e164":"+13175550100"}}

{"id":"b","lastName":"Lee","modifyDate":"2026-01-02T03:04:05.000Z"}
`
	res, err := importer.ReadJSONL(strings.NewReader(in), "c.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Invalid) != 0 || len(res.Contacts) != 2 || res.Contacts[0].CellPhone.E164 != "+13175550100" || res.Contacts[1].ModifyDate.Year() != 2026 {
		t.Fatalf("got %+v", res)
	}
}

func TestReadJSONLReportsEveryBadLine(t *testing.T) {
	in := `{"id":"a"}
{"id":"b","workEmail":"not-an-email"}
{"id":"c",
{"firstName":"NoID"}
{"id":"a"}
{"id":"d","bogusField":1}
{"id":"e","type":"Weird"}
{"id":"f","cellPhone":"+1317"}
`
	res, err := importer.ReadJSONL(strings.NewReader(in), "c.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{2: "workEmail", 3: "not an ExternalContact", 4: "id", 5: "duplicate of line 1", 6: "bogusField", 7: "type", 8: "cellPhone"}
	got := map[int]string{}
	for _, e := range res.Invalid {
		got[e.Line] = e.Error()
	}
	for line, frag := range want {
		if !strings.Contains(got[line], frag) {
			t.Errorf("line %d: error %q does not mention %q", line, got[line], frag)
		}
	}
	if len(res.Contacts) != 1 || res.Contacts[0].ID != "a" {
		t.Errorf("valid contacts = %v, want only a", res.Contacts)
	}
	err = res.Err()
	if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), "c.jsonl:2: workEmail") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Errorf("Err() = %v", err)
	}
}

func TestReadCSV(t *testing.T) {
	in := "id,firstName,lastName,workEmail,cellPhone,address.city,postalCode,customFields.loyaltyId,externalIds.crm,modifyDate\n" +
		"a,Ann,Lee,ann@example.com,+13175550100,Indianapolis,46201,L1,C9,2026-01-02\n" +
		"b,Bob,,bad-email,,,,,,\n" +
		"c,Cy,,,,,,,,yesterday\n"
	res, err := importer.ReadCSV(strings.NewReader(in), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Contacts) != 1 {
		t.Fatalf("contacts = %d, want 1 (invalid: %v)", len(res.Contacts), res.Invalid)
	}
	c := res.Contacts[0]
	if c.Address.City != "Indianapolis" || c.CellPhone.E164 != "+13175550100" || c.CustomFields["loyaltyId"] != "L1" ||
		c.ExternalIDs[0].SourceName() != "crm" || c.ExternalIDs[0].Value != "C9" || c.ModifyDate.Day() != 2 {
		t.Errorf("decoded %+v", c)
	}
	if len(res.Invalid) != 2 || res.Invalid[0].Line != 3 || res.Invalid[1].Line != 4 || res.Invalid[1].Field != "modifyDate" {
		t.Errorf("invalid = %v", res.Invalid)
	}
}

func TestReadCSVUnknownColumn(t *testing.T) {
	_, err := importer.ReadCSV(strings.NewReader("id,favouriteColour\na,blue\n"), "x.csv")
	if !cm.IsCode(err, cm.EINVALID) || !strings.Contains(err.Error(), `"favouriteColour" (column 2)`) {
		t.Fatalf("err = %v", err)
	}
}
