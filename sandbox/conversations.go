package sandbox

import (
	"math"
	"math/rand/v2"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// Conversation history (GenConfig.History). The platform creates an
// Ephemeral or Identified contact from an interaction, and such a contact
// ages out after about 60 days without one (GENESYS_API.md §7), so every
// auto-created contact that still exists had a conversation in the last
// autoLifetime; customers come back, so some had more. Curated contacts talk
// to the contact center too, at curatedRate.
//
// The contacts' createDate and modifyDate are not aligned with these
// dates (they are drawn before, and must stay as they were for a seed).
const (
	// historyDays is how far back the history reaches (also the longest
	// lookback a test of discovery asks for).
	historyDays = 62
	// autoLifetime is how long an auto-created contact lives without an
	// interaction.
	autoLifetime = 60 * day
	// autoReturn is the mean time between two conversations of the customer
	// of an auto-created contact after its first.
	autoReturn = 30 * day
	// curatedRate is the mean number of conversations a Curated contact has
	// in historyDays.
	curatedRate = 0.6
)

// history returns the ended conversations of the historyDays before
// g.epoch, each with one customer participant (the contact's id): for an
// auto-created contact, its latest (less than autoLifetime old, uniformly)
// and the earlier ones of its customer; for a Curated contact, curatedRate
// on average, uniformly over the span. An auto-created contact is so found
// in the last 31 days about 31/60 of the time, in the last 60 days always.
// It draws
// from a generator of its own, after every contact was made, so turning it
// on changes no contact and no other activity of a seed.
func (g *gen) history() []Activity {
	if !g.cfg.History || len(g.out) == 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(uint64(g.cfg.Seed), 0x415))
	span := time.Duration(historyDays) * day
	var acts []Activity
	add := func(id string, age time.Duration) {
		start := g.epoch.Add(-age).Truncate(time.Millisecond)
		end := start.Add(time.Minute + time.Duration(r.Int64N(int64(40*time.Minute)))).Truncate(time.Millisecond)
		if end.After(g.epoch) {
			end = g.epoch
		}
		acts = append(acts, Activity{ExternalContactID: id, ConversationID: newUUID(r), Start: start, End: end})
	}
	for i := range g.out {
		c := &g.out[i]
		switch c.Type {
		case cm.TypeEphemeral, cm.TypeIdentified:
			// It is alive, so its latest interaction is less than
			// autoLifetime old; before that the customer came back now
			// and then (a Poisson process, looking back).
			for age := time.Duration(r.Int64N(int64(autoLifetime))); age < span; age += expDuration(r, autoReturn) {
				add(c.ID, age)
			}
		default:
			for n := poisson(r, curatedRate); n > 0; n-- {
				add(c.ID, time.Duration(r.Int64N(int64(span))))
			}
		}
	}
	return acts
}

// expDuration draws an exponentially distributed duration of mean m.
func expDuration(r *rand.Rand, m time.Duration) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(m))
}

// poisson draws a Poisson-distributed count of mean lambda (Knuth; lambda is
// small).
func poisson(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
