package cycle

import (
	"context"
	"fmt"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
)

// matchStateStore is a store that keeps the match state (schema v9): the
// match step is then incremental, as 'contactmerge match' is, reading only
// the contacts written or deleted since the last match.
type matchStateStore interface {
	match.StateStore
	SaveMatch(ctx context.Context, groups []cm.Group, unchanged []string, state map[string][]byte, consumed []int64, actor string) (cm.ProposalResult, error)
}

// matchStep runs the match: match.Match with the stored state and
// SaveMatch when the store keeps one, else match.Run and SaveProposals.
func (r *Runner) matchStep(ctx context.Context) (MatchResult, error) {
	ms, ok := r.cfg.Store.(matchStateStore)
	if !ok {
		mres, err := match.Run(ctx, r.cfg.Store, *r.cfg.Match)
		if err != nil {
			return MatchResult{}, err
		}
		saved, err := r.cfg.Store.SaveProposals(ctx, mres.Groups, "match")
		return MatchResult{Groups: len(mres.Groups), Created: saved.Created, Kept: saved.Kept, Superseded: saved.Superseded, Mode: "full match"}, err
	}
	prev, writes, unusable, err := match.LoadState(ctx, ms, true)
	if err != nil {
		return MatchResult{}, err
	}
	if unusable != nil {
		// Another version's state is not kept: a full match.
		r.log.Warn("cycle: the stored match state is not usable; matching every contact", "err", unusable)
	}
	res, state, err := match.Match(ctx, ms, *r.cfg.Match, match.MatchOptions{Prev: prev, Writes: writes})
	if err != nil {
		return MatchResult{}, err
	}
	enc, err := state.Parts()
	if err != nil {
		return MatchResult{}, err
	}
	saved, err := ms.SaveMatch(ctx, res.Groups, res.Unchanged, enc, state.Consumed(), "match")
	if err != nil {
		return MatchResult{}, fmt.Errorf("saving groups: %w", err)
	}
	out := MatchResult{Groups: len(res.Groups), Created: saved.Created, Kept: saved.Kept, Superseded: saved.Superseded, Mode: res.Mode.String()}
	if res.Mode.Incremental {
		out.New, out.Edited, out.Deleted = res.Changes.New, res.Changes.Edited, res.Changes.Deleted
	}
	return out, nil
}
