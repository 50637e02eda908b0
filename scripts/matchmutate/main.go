// Command matchmutate changes a share of a store's contacts the way a scan
// after some days of activity does, for the incremental match bench (make
// bench-match-incremental): of the changed contacts, 40% are edited (a new
// modifyDate and family name or email), 30% are new (copies of stored
// contacts under new ids, half with a typo: new duplicates), 20% are
// deleted and 10% are platform merges (a stored group's members deleted
// but its survivor, which is edited).
//
//	go run ./scripts/matchmutate -db contactmerge.db -share 0.01 -seed 1
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/match"
	"github.com/contactmerge/contactmerge/store"
)

func main() {
	db := flag.String("db", "", "the store (SQLite file or postgres:// URL)")
	share := flag.Float64("share", 0.01, "share of the contacts to change")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *db == "" || flag.NArg() > 0 || *share <= 0 || *share > 1 {
		fmt.Fprintln(os.Stderr, "usage: matchmutate -db DSN [-share 0<S<=1] [-seed N]")
		os.Exit(2)
	}
	if err := run(context.Background(), *db, *share, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "matchmutate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dsn string, share float64, seed uint64) error {
	st, err := store.Open(ctx, dsn, store.Options{Normalizer: match.NormalizerFunc(match.DefaultConfig()), MustExist: true})
	if err != nil {
		return err
	}
	defer st.Close()
	var ids []string
	if err := st.EachNorm(ctx, func(id string, _ []byte) error { ids = append(ids, id); return nil }); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 77))
	total := int(share * float64(len(ids)))
	used := map[string]bool{}
	pickN := func(k int) []string {
		var out []string
		for len(out) < k && len(used) < len(ids) {
			id := ids[rng.IntN(len(ids))]
			if !used[id] {
				used[id] = true
				out = append(out, id)
			}
		}
		return out
	}
	edits, copies, deletes := pickN(total*4/10), pickN(total*3/10), pickN(total*2/10)
	cs, err := st.Contacts(ctx, append(append([]string{}, edits...), copies...))
	if err != nil {
		return err
	}
	var up []cm.Contact
	for k, id := range edits {
		c := cs[id]
		c.ModifyDate = c.ModifyDate.Add(time.Hour)
		if k%2 == 0 {
			c.LastName += "s"
		} else {
			c.WorkEmail = fmt.Sprintf("changed.%d.%d@example.org", seed, k)
		}
		up = append(up, c)
	}
	for k, id := range copies {
		c := cs[id]
		c.ID = fmt.Sprintf("bench-%d-%d", seed, k)
		if k%2 == 0 {
			c.FirstName += "e"
		}
		up = append(up, c)
	}
	// Platform merges: groups of the last match, members deleted but the
	// survivor, which is edited.
	merged := 0
	gs, err := st.Groups(ctx, cm.GroupFilter{States: []cm.GroupState{cm.StateProposed}, Limit: 5000})
	if err != nil {
		return err
	}
	for _, g := range gs {
		if merged >= total/10 {
			break
		}
		clash := false
		for _, m := range g.Members {
			clash = clash || used[m]
		}
		if clash {
			continue
		}
		sv, err := st.Contacts(ctx, []string{g.SurvivorID})
		if err != nil {
			return err
		}
		c, ok := sv[g.SurvivorID]
		if !ok {
			continue
		}
		for _, m := range g.Members {
			used[m] = true
			if m != g.SurvivorID {
				deletes = append(deletes, m)
			}
		}
		c.ModifyDate = c.ModifyDate.Add(time.Hour)
		c.OtherEmail = fmt.Sprintf("merged.%d.%d@example.org", seed, merged)
		up = append(up, c)
		merged += len(g.Members)
	}
	if err := st.UpsertContacts(ctx, up); err != nil {
		return err
	}
	if err := st.DeleteContacts(ctx, deletes); err != nil {
		return err
	}
	fmt.Printf("changed %d of %d contacts: %d edited, %d new, %d deleted (with the platform merges), %d in platform merges\n",
		len(up)+len(deletes), len(ids), len(edits), len(copies), len(deletes), merged)
	return nil
}
