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

func TestCanTransition(t *testing.T) {
	cases := []struct {
		from, to cm.GroupState
		ok       bool
	}{
		{cm.StateProposed, cm.StateApproved, true},
		{cm.StateProposed, cm.StateMerged, false},
		{cm.StateApproved, cm.StateReady, true},
		{cm.StateReady, cm.StateInFlight, true},
		{cm.StateInFlight, cm.StateMerged, true},
		{cm.StateInFlight, cm.StateUnknown, true},
		{cm.StateUnknown, cm.StateMerged, true},
		{cm.StateUnknown, cm.StateReady, true},
		{cm.StateQuarantined, cm.StateApproved, true},
		{cm.StateMerged, cm.StateFailed, false},
		{cm.StateMerged, cm.StateInFlight, false},
		{cm.StateReady, cm.StateFailed, true},
		{cm.GroupState("bogus"), cm.StateApproved, false},
	}
	for _, c := range cases {
		if got := cm.CanTransition(c.from, c.to); got != c.ok {
			t.Errorf("CanTransition(%s, %s) = %v, want %v", c.from, c.to, got, c.ok)
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
