package sandbox

import (
	"errors"
	"reflect"
	"testing"

	cm "github.com/contactmerge/contactmerge"
)

// TestGenerateStreamIsGenerate checks that the streamed organization is
// Generate's, contact for contact and cluster for cluster, over several
// flushes (more than streamUnits units) and in both modes.
func TestGenerateStreamIsGenerate(t *testing.T) {
	for _, cfg := range []GenConfig{
		{Contacts: 30000, Seed: 7},
		{Contacts: 12000, Seed: 3, CuratedDuplicates: true},
		{Contacts: 150, Seed: 1, DupRate: 0.5},
		{Contacts: 0, Seed: 1},
	} {
		want := Generate(cfg)
		var got []cm.Contact
		var truth [][]string
		err := GenerateStream(cfg, func(c *cm.Contact) error {
			got = append(got, *c)
			return nil
		}, func(ids []string) error {
			truth = append(truth, append([]string(nil), ids...))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want.Contacts) {
			t.Fatalf("%+v: %d contacts streamed, Generate makes %d", cfg, len(got), len(want.Contacts))
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], want.Contacts[i]) {
				t.Fatalf("%+v: contact %d differs:\n stream   %+v\n generate %+v", cfg, i, got[i], want.Contacts[i])
			}
		}
		if len(truth) != len(want.Truth) || (len(truth) > 0 && !reflect.DeepEqual(truth, want.Truth)) {
			t.Fatalf("%+v: %d clusters streamed, Generate has %d (or they differ)", cfg, len(truth), len(want.Truth))
		}
	}
}

func TestGenerateStreamStopsAndRefusesActivity(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := GenerateStream(GenConfig{Contacts: 20000, Seed: 1}, func(*cm.Contact) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("err %v after %d contacts, want stop after 10", err, n)
	}
	if err := GenerateStream(GenConfig{Contacts: 10, ActivityRate: 0.1}, func(*cm.Contact) error { return nil }, nil); err == nil {
		t.Fatal("activity requested: no error")
	}
	if err := GenerateStream(GenConfig{Contacts: 10, History: true}, func(*cm.Contact) error { return nil }, nil); err == nil {
		t.Fatal("history requested: no error")
	}
}
