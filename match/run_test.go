package match

import (
	"context"
	"errors"
	"strings"
	"testing"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sandbox"
)

// failingInput fails Contacts, and serves no norm for some contacts so that
// Run must normalize them itself.
type failingInput struct {
	*MemoryInput
	fail    bool
	noNorms map[string]bool
}

func (f *failingInput) EachNorm(ctx context.Context, fn func(string, []byte) error) error {
	return f.MemoryInput.EachNorm(ctx, func(id string, norm []byte) error {
		if f.noNorms[id] {
			return fn(id, []byte{0}) // an old format version
		}
		return fn(id, norm)
	})
}

func (f *failingInput) Contacts(ctx context.Context, ids []string) (map[string]cm.Contact, error) {
	if f.fail {
		return nil, errors.New("store is down")
	}
	return f.MemoryInput.Contacts(ctx, ids)
}

func TestRunInputs(t *testing.T) {
	org := sandbox.Generate(sandbox.GenConfig{Contacts: 3000, Seed: 9})
	cfg := DefaultConfig()
	want, err := MatchContacts(context.Background(), org.Contacts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Old or missing norms: the same groups.
	in := &failingInput{MemoryInput: NewMemoryInput(org.Contacts, cfg), noNorms: map[string]bool{}}
	for i, c := range org.Contacts {
		if i%3 == 0 {
			in.noNorms[c.ID] = true
		}
	}
	got, err := Run(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stats.Normalized != len(in.noNorms) || len(got.Groups) != len(want.Groups) {
		t.Fatalf("normalized %d (want %d), groups %d (want %d)", got.Stats.Normalized, len(in.noNorms), len(got.Groups), len(want.Groups))
	}
	for i := range got.Groups {
		if got.Groups[i].ID != want.Groups[i].ID {
			t.Fatalf("group %d: %s, want %s", i, got.Groups[i].ID, want.Groups[i].ID)
		}
	}
	// A failing store fails the run.
	in.fail = true
	if _, err := Run(context.Background(), in, cfg); err == nil || !strings.Contains(err.Error(), "store is down") {
		t.Errorf("err = %v", err)
	}
	// A cancelled context stops the run.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, NewMemoryInput(org.Contacts, cfg), cfg); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	// An invalid config is refused.
	bad := DefaultConfig()
	bad.MaxGroupSize = 100
	if _, err := Run(context.Background(), in, bad); cm.ErrorCode(err) != cm.EINVALID {
		t.Errorf("invalid config: %v", err)
	}
}
