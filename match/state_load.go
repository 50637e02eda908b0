package match

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
)

// StateStore is a StateInput that keeps the match state as named parts
// (store.Store's backends do).
type StateStore interface {
	StateInput
	// LoadMatchState returns every stored part (nil: no state).
	LoadMatchState(ctx context.Context) (map[string][]byte, error)
	// LoadMatchStatePart returns one stored part (nil: not stored).
	LoadMatchStatePart(ctx context.Context, name string) ([]byte, error)
}

// Writes are the reads an incremental match starts with, against a state
// whose newest contact write seen is since: the contacts written in the
// margin before it (counted), the write mark and the contacts written
// after it. They depend on since alone, so that LoadState reads them while
// it loads the state (MatchOptions.Writes).
type Writes struct {
	since   int64
	counted bool
	n, sum  int64 // WrittenBetween(since-writeMargin, since)
	wm      *writeMark
	ws      []stamp // written after since
	lastUp  int64
	err     error
}

// readWritesFor reads the Writes of since. The count comes before the
// deleted contacts and the writes: a contact written again or deleted in
// between makes the count differ (and the margin is read), it never hides
// a late write.
func readWritesFor(ctx context.Context, in StateInput, since int64) *Writes {
	w := &Writes{since: since}
	wc, counted := in.(WindowCounter)
	if counted {
		var err error
		if w.n, w.sum, err = wc.WrittenBetween(ctx, since-writeMargin, since); err != nil {
			w.err = fmt.Errorf("match: count the contacts written before the last match: %w", err)
			return w
		}
	}
	if w.wm, w.err = readWriteMark(ctx, in); w.err != nil {
		return w
	}
	if counted {
		w.ws, w.lastUp, w.err = readWrites(ctx, in, since+1)
		w.counted = w.err == nil
	}
	return w
}

// LoadState loads the stored match state of st and decodes it (prev nil:
// none) and, meanwhile, when incremental, reads the Writes an incremental
// match against it starts with (the state's meta part is read first, for
// its newest write): at a million contacts those reads are a tenth of a
// second that loading the state hides. A state that is not usable
// (another version's) is nil, with the reason in unusable: the match is
// then a full one.
func LoadState(ctx context.Context, st StateStore, incremental bool) (prev *State, w *Writes, unusable, err error) {
	var writes chan *Writes
	if incremental {
		meta, err := st.LoadMatchStatePart(ctx, partMeta)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("match: %w", err)
		}
		var m stateMeta
		if meta != nil && gob.NewDecoder(bytes.NewReader(meta)).Decode(&m) == nil && m.Version == stateVersion {
			writes = make(chan *Writes, 1)
			go func() { writes <- readWritesFor(ctx, st, m.MaxUpdated) }()
		}
	}
	parts, err := st.LoadMatchState(ctx)
	if writes != nil {
		w = <-writes
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("match: %w", err)
	}
	if prev, unusable = DecodeState(parts); unusable != nil {
		return nil, nil, unusable, nil
	}
	return prev, w, nil, nil
}
