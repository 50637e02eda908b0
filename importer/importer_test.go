package importer_test

import (
	"fmt"
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

// A CSV syntax error in a record's first field used to panic (FieldPos was
// called after the parse error); it is a LineError and the next records are
// still read.
func TestReadCSVParseError(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"id,firstName\nab\"c,Ann\nb,Bo\n", `x.csv:2: parse error: bare " in non-quoted-field (column 3)`},
		{"id,firstName\nb,Bo\n\"abc,Ann\n", `x.csv:3: parse error: extraneous or missing " in quoted-field (column 10)`},
		{"id,firstName\n\"c1\nx\"y,Ann\nb,Bo\n", `x.csv:2: parse error: extraneous or missing " in quoted-field (line 3, column 2)`},
		{"id,firstName\n\"a\"b,Ann\nb,Bo\n", `x.csv:2: parse error: extraneous or missing " in quoted-field (column 3)`},
	} {
		res, err := importer.ReadCSV(strings.NewReader(c.in), "x.csv")
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if len(res.Invalid) != 1 || res.Invalid[0].Error() != c.want {
			t.Errorf("%q: invalid = %v, want [%s]", c.in, res.Invalid, c.want)
		}
		if len(res.Contacts) != 1 || res.Contacts[0].ID != "b" {
			t.Errorf("%q: contacts = %+v, want b", c.in, res.Contacts)
		}
	}
}

// Bytes that are not UTF-8 (a Latin-1 export, say) used to be imported and
// later written as U+FFFD; they are errors naming the line and the byte.
func TestReadInvalidUTF8(t *testing.T) {
	res, err := importer.ReadJSONL(strings.NewReader("{\"id\":\"a\"}\n{\"id\":\"b\",\"lastName\":\"Ren\xe9\"}\n"), "c.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := "c.jsonl:2: invalid UTF-8 at byte 26 of the line (0xe9); save the file as UTF-8"
	if len(res.Invalid) != 1 || res.Invalid[0].Error() != want || len(res.Contacts) != 1 {
		t.Errorf("JSONL: invalid %v, contacts %d; want [%s]", res.Invalid, len(res.Contacts), want)
	}
	res, err = importer.ReadCSV(strings.NewReader("id,lastName,city\na,Ren\xe9,Paris\nb,\"Le\nRen\xe9\",Lyon\nc,Roy,Nice\n"), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(res.Invalid))
	for i, e := range res.Invalid {
		got[i] = e.Error()
	}
	wantCSV := []string{
		"x.csv:2: lastName: invalid UTF-8 at byte 6 of the line (0xe9); save the file as UTF-8",
		"x.csv:4: lastName: invalid UTF-8 at byte 4 of the line (0xe9); save the file as UTF-8",
	}
	if strings.Join(got, "\n") != strings.Join(wantCSV, "\n") || len(res.Contacts) != 1 || res.Contacts[0].ID != "c" {
		t.Errorf("CSV: invalid\n%s\nwant\n%s\ncontacts %+v", strings.Join(got, "\n"), strings.Join(wantCSV, "\n"), res.Contacts)
	}
	// A rune cut by the reader's buffer boundary is not an error.
	long := strings.Repeat("é𝄞", 3000)
	res, err = importer.ReadCSV(strings.NewReader("id,city\na,"+long+"\n"), "x.csv")
	if err != nil || len(res.Invalid) != 0 || res.Contacts[0].Address.City != long {
		t.Errorf("long UTF-8 value: %v %v", err, res.Invalid)
	}
}

// Two columns that set the same field used to let the last one win
// silently.
func TestReadCSVRepeatedColumn(t *testing.T) {
	for in, want := range map[string]string{
		"id,firstName,lastName,firstName\n":  `x.csv:1: "firstName" (column 2) and "firstName" (column 4) both set firstName`,
		"id,City,address.city\n":             `x.csv:1: "City" (column 2) and "address.city" (column 3) both set city`,
		"id,cellPhone,cellPhone.display\n":   `x.csv:1: "cellPhone" (column 2) and "cellPhone.display" (column 3) both set cellPhone`,
		"id,customFields.a,customFields.a\n": `x.csv:1: "customFields.a" (column 2) and "customFields.a" (column 3) both set customFields.a`,
		"ID,id,nope\n":                       `x.csv:1: unknown column(s) "nope" (column 3); "ID" (column 1) and "id" (column 2) both set id`,
		"id,customFields.\n":                 `x.csv:1: "customFields." (column 2): no custom field name after customFields.`,
		"id,externalIds.\n":                  `x.csv:1: "externalIds." (column 2): no source name after externalIds.`,
	} {
		_, err := importer.ReadCSV(strings.NewReader(in), "x.csv")
		if !cm.IsCode(err, cm.EINVALID) || err.Error() != want {
			t.Errorf("%q: err = %v\nwant %s", in, err, want)
		}
	}
	// Distinct custom fields and two ids of one source are fine.
	res, err := importer.ReadCSV(strings.NewReader("id,customFields.a,customFields.A,externalIds.crm,externalIds.crm\nx,1,2,c1,c2\n"), "x.csv")
	if err != nil || len(res.Contacts) != 1 || len(res.Contacts[0].CustomFields) != 2 || len(res.Contacts[0].ExternalIDs) != 2 {
		t.Fatalf("%v %+v", err, res)
	}
}

// A UTF-8 byte order mark used to be an error in JSONL; it is ignored in
// both formats (also before a quoted CSV header), and byte positions still
// count it.
func TestReadBOM(t *testing.T) {
	res, err := importer.ReadJSONL(strings.NewReader("\ufeff{\"id\":\"a\"}\n{\"id\":\"b\"}\n"), "c.jsonl")
	if err != nil || len(res.Invalid) != 0 || len(res.Contacts) != 2 {
		t.Fatalf("JSONL: %v %v", err, res.Invalid)
	}
	res, err = importer.ReadCSV(strings.NewReader("\ufeff\"id\",\"firstName\"\na,Ann\n"), "x.csv")
	if err != nil || len(res.Invalid) != 0 || len(res.Contacts) != 1 || res.Contacts[0].FirstName != "Ann" {
		t.Fatalf("CSV: %v %v", err, res)
	}
	res, _ = importer.ReadJSONL(strings.NewReader("\ufeff{\"id\":\"\xff\"}\n"), "c.jsonl")
	if len(res.Invalid) != 1 || !strings.Contains(res.Invalid[0].Msg, "at byte 11 of the line") {
		t.Fatalf("JSONL offset after a BOM: %v", res.Invalid)
	}
	_, err = importer.ReadCSV(strings.NewReader("\ufeffid,first\"Name\n"), "x.csv")
	if err == nil || err.Error() != `x.csv:1: cannot read the CSV header: parse error: bare " in non-quoted-field (column 12)` {
		t.Fatalf("CSV header offset after a BOM: %v", err)
	}
}

// Every field of cm.ContactFields that can be set from text is a CSV
// column: adding a field to the table makes it importable.
func TestReadCSVColumnsFromTable(t *testing.T) {
	values := map[string]string{"id": "x1", "type": "Curated", "modifyDate": "2026-05-01", "createDate": "2025-01-31", "surveyOptOut": "true",
		"workEmail": "w@example.com", "personalEmail": "p@example.com", "otherEmail": "o@example.com",
		"workPhone": "+13175550100", "cellPhone": "+13175550101", "homePhone": "+13175550102", "otherPhone": "+13175550103"}
	var names, row []string
	for _, f := range cm.ContactFields {
		if f.Set == nil {
			continue
		}
		v := values[f.Name]
		if v == "" {
			v = "v-" + f.Name
		}
		names, row = append(names, f.Name), append(row, v)
	}
	res, err := importer.ReadCSV(strings.NewReader(strings.Join(names, ",")+"\n"+strings.Join(row, ",")+"\n"), "x.csv")
	if err != nil || len(res.Invalid) != 0 || len(res.Contacts) != 1 {
		t.Fatalf("%v %v", err, res.Invalid)
	}
	for i, name := range names {
		f, _ := cm.LookupField(name)
		if got := f.Get(&res.Contacts[0]); got != row[i] {
			t.Errorf("%s: imported %q, want %q", name, got, row[i])
		}
	}
}

// The platform's rules come from (*cm.Contact).Validate, each refused field
// its own LineError; CSV errors name the column as the file spells it.
func TestValidationFromContact(t *testing.T) {
	in := fmt.Sprintf(`{"id":"a","title":"%s"}
{"id":"b","cellPhone":{"display":"%s"},"externalSystemUrl":"%s","type":"Weird"}
{"id":"c","modifyDate":"0000-01-01T00:00:00+01:00"}
`, strings.Repeat("t", 1001), strings.Repeat("1", 513), strings.Repeat("u", 1001))
	res, err := importer.ReadJSONL(strings.NewReader(in), "c.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.Invalid {
		got = append(got, e.Error())
	}
	want := []string{
		"c.jsonl:1: title: longer than 1000 characters",
		`c.jsonl:2: type: "Weird" is not Curated, Identified or Ephemeral`,
		"c.jsonl:2: cellPhone: display is longer than 512 characters",
		"c.jsonl:2: externalSystemUrl: longer than 1000 characters",
		"c.jsonl:3: modifyDate: -0001-12-31T23:00:00Z is outside the years 0000 to 9999 in UTC",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	res, _ = importer.ReadCSV(strings.NewReader("ID,WorkEmail\na, ann@ \n"), "x.csv")
	if len(res.Invalid) != 1 || res.Invalid[0].Error() != `x.csv:2: WorkEmail: "ann@" is not a valid email address` {
		t.Errorf("CSV: %v", res.Invalid)
	}
}
