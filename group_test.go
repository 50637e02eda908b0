package contactmerge_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

func TestGroupIDStableAndOrderFree(t *testing.T) {
	a := cm.GroupID([]string{"b", "a", "c"})
	b := cm.GroupID([]string{"c", "b", "a", "a", ""})
	if a != b {
		t.Fatalf("GroupID depends on order or duplicates: %s vs %s", a, b)
	}
	if a == cm.GroupID([]string{"a", "b"}) {
		t.Fatal("different members gave the same id")
	}
	if cm.IdempotencyKey([]string{"a", "b"}, 1) == cm.IdempotencyKey([]string{"a", "b"}, 2) {
		t.Fatal("plan version does not change the idempotency key")
	}
}

// TestCanTransition checks every one of the 121 (from, to) pairs against a
// literal matrix: adding or removing an edge means editing this table.
func TestCanTransition(t *testing.T) {
	// Rows: from. Columns, in AllStates order:
	// proposed approved rejected ready in_flight unknown merged quarantined split dropped failed
	want := map[cm.GroupState]string{
		cm.StateProposed:    "-XX--------",
		cm.StateApproved:    "--XX---XXXX",
		cm.StateRejected:    "XX---------",
		cm.StateReady:       "-XX-X-X--X-",
		cm.StateInFlight:    "---X-XXXX-X",
		cm.StateUnknown:     "---X--X---X",
		cm.StateMerged:      "-----------",
		cm.StateQuarantined: "-XX--------",
		cm.StateSplit:       "-----------",
		cm.StateDropped:     "-----------",
		cm.StateFailed:      "-X---------",
	}
	if len(cm.AllStates) != 11 || len(want) != 11 {
		t.Fatalf("%d states, %d rows: the matrix must cover every state", len(cm.AllStates), len(want))
	}
	pairs := 0
	for _, from := range cm.AllStates {
		row := want[from]
		for j, to := range cm.AllStates {
			pairs++
			if got, exp := cm.CanTransition(from, to), row[j] == 'X'; got != exp {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, exp)
			}
		}
	}
	if pairs != 121 {
		t.Fatalf("checked %d pairs, want 121", pairs)
	}
	if cm.CanTransition(cm.StateUnknown, cm.StateInFlight) {
		t.Error("unknown → in_flight would re-send a merge without verifying it")
	}
	for _, bogus := range []cm.GroupState{"bogus", ""} {
		if cm.CanTransition(bogus, cm.StateApproved) || cm.CanTransition(cm.StateProposed, bogus) {
			t.Errorf("an undefined state %q takes part in an edge", bogus)
		}
	}
}

func TestContactJSONRoundTrip(t *testing.T) {
	in := `{"id":"c1","firstName":"Ann","cellPhone":{"display":"+1 317-555-0100","e164":"+13175550100","acceptsSMS":true},"address":{"city":"Indianapolis"},"externalIds":[{"externalSource":{"id":"s1","name":"ssn"},"value":"123"}],"twitterId":{"screenName":"ann"},"modifyDate":"2026-05-01T10:00:00.000Z","customFields":{"dob":"1980-01-02"},"type":"Curated","mergedTo":{"id":"c9"}}`
	var c cm.Contact
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.CellPhone.E164 != "+13175550100" || c.ExternalIDs[0].SourceName() != "ssn" || !c.IsMerged() {
		t.Fatalf("decoded wrong: %+v", c)
	}
	out, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	var again cm.Contact
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, c) {
		t.Fatalf("round trip changed the contact:\n%+v\n%+v", c, again)
	}
}

func TestErrorCode(t *testing.T) {
	err := fmt.Errorf("wrap: %w", cm.Errorf(cm.EINVALID, "bad line %d", 3))
	if cm.ErrorCode(err) != cm.EINVALID || !cm.IsCode(err, cm.EINVALID) {
		t.Fatalf("code lost through wrapping: %v", cm.ErrorCode(err))
	}
	if cm.ErrorCode(fmt.Errorf("x")) != cm.EINTERNAL || cm.ErrorCode(nil) != "" {
		t.Fatal("default codes wrong")
	}
}
