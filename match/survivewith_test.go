package match

import (
	"testing"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

func TestSurviveWithKeepsTheChosenSurvivor(t *testing.T) {
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	members := []cm.Contact{
		{ID: "a", Type: cm.TypeCurated, FirstName: "Ann", LastName: "Lee", WorkEmail: "ann@x.com", CreateDate: old},
		{ID: "b", Type: cm.TypeIdentified, FirstName: "Annie", PersonalEmail: "annie@y.com", ModifyDate: old.AddDate(1, 0, 0)},
	}
	pol := DefaultConfig().Survivor
	if s, _, _ := Survive(members, pol); s != "a" {
		t.Fatalf("policy survivor = %s, want a (Curated)", s)
	}
	s, merged, _ := SurviveWith(members, "b", pol)
	if s != "b" || merged.FirstName != "Annie" || merged.LastName != "Lee" {
		t.Fatalf("SurviveWith(b) = %s, %+v; want b's values first, gaps filled from a", s, merged)
	}
	if merged.PersonalEmail != "annie@y.com" || merged.WorkEmail != "ann@x.com" {
		t.Errorf("emails not packed: %+v", merged)
	}
	if s, _, _ := SurviveWith(members, "zzz", pol); s != "a" {
		t.Errorf("a non-member survivor did not fall back to the policy: %s", s)
	}
}
