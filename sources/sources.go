// Package sources says where duplicates come from: the duplicate records
// of a store's groups counted by contact type, division, external source,
// creation month and the identifier that linked them, and the new
// duplicates per day by source, so that an admin sees "the nightly CRM
// sync creates 40 a day" (contactmerge report sources, the console's
// sources page, the cycle summary).
//
// A group of n members holds n−1 duplicate records: every member but the
// survivor, whose record the merge keeps. The dimensions of a duplicate
// are those of its own record: its type, its division, the sources of its
// externalIds (ExternalSource.name, else its id; a record with none counts
// under "(none)", one with two sources under both) and its createDate's
// month. The linking identifier is the group's: the field whose comparison
// weighed most in its explanation (match's field names: "email", "phone",
// "custom.loyaltyId", "externalId.crm", ...). A group is new on the day it
// was first proposed (Group.CreatedAt, UTC).
//
// Groups a person rejected are not duplicates (Report.Rejected counts
// them), nor are split groups (their children are counted) or dropped
// ones. The records of a merged group are no longer in the snapshot: their
// before-images come from the ledger's merge rows.
package sources

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"

	cm "github.com/contactmerge/contactmerge"
)

// None is the key of a record without the dimension (no division, no
// external id, no creation date, no explanation).
const None = "(none)"

// Count is the duplicates under one value of a dimension.
type Count struct {
	Key string `json:"key"`
	// Groups counts the groups with at least one such duplicate (ByIdentifier:
	// the groups the identifier linked); Duplicates the duplicate records.
	Groups     int `json:"groups"`
	Duplicates int `json:"duplicates"`
}

// Day is the new duplicates of one source on one day.
type Day struct {
	Day        string `json:"day"` // YYYY-MM-DD, UTC
	Source     string `json:"source"`
	Groups     int    `json:"groups"`
	Duplicates int    `json:"duplicates"`
}

// Report is where a store's duplicates come from.
type Report struct {
	// Groups counts the groups of duplicates, Duplicates their duplicate
	// records, Contacts all their members.
	Groups     int `json:"groups"`
	Duplicates int `json:"duplicates"`
	Contacts   int `json:"contacts"`
	// Rejected counts the groups a person rejected (not duplicates).
	Rejected int `json:"rejected"`
	// Unknown counts duplicate records found neither in the snapshot nor
	// in the ledger's before-images (their dimensions are "(none)").
	Unknown      int     `json:"unknown,omitempty"`
	ByType       []Count `json:"byType"`
	ByDivision   []Count `json:"byDivision"`
	BySource     []Count `json:"bySource"`
	ByMonth      []Count `json:"byMonth"`
	ByIdentifier []Count `json:"byIdentifier"`
	// PerDay is the new duplicates per day and source, by day then source.
	PerDay []Day `json:"perDay"`
}

// counted reports whether a group in state s holds duplicates.
func counted(s cm.GroupState) bool {
	switch s {
	case cm.StateRejected, cm.StateSplit, cm.StateDropped:
		return false
	}
	return true
}

// Compute reads every group of st and says where its duplicates come from.
func Compute(ctx context.Context, st cm.Store) (Report, error) {
	var r Report
	groups, err := st.Groups(ctx, cm.GroupFilter{})
	if err != nil {
		return r, err
	}
	var ids []string
	for _, g := range groups {
		if counted(g.State) {
			ids = append(ids, g.Members...)
		}
	}
	contacts, err := st.Contacts(ctx, ids)
	if err != nil {
		return r, err
	}
	dims := map[string]*tally{"type": newTally(), "division": newTally(), "source": newTally(), "month": newTally(), "identifier": newTally()}
	days := map[[2]string]*Day{}
	dayGroups := map[[2]string]map[string]bool{}
	for _, g := range groups {
		if g.State == cm.StateRejected {
			r.Rejected++
		}
		if !counted(g.State) {
			continue
		}
		records, err := records(ctx, st, g, contacts)
		if err != nil {
			return r, err
		}
		r.Groups++
		r.Contacts += len(g.Members)
		day := None
		if !g.CreatedAt.IsZero() {
			day = g.CreatedAt.UTC().Format(time.DateOnly)
		}
		dims["identifier"].add(g.ID, linkedBy(g))
		for _, id := range g.Members {
			if id == g.SurvivorID {
				continue
			}
			r.Duplicates++
			c, ok := records[id]
			if !ok {
				r.Unknown++
			}
			dims["type"].add(g.ID, cmp.Or(c.Type, None))
			dims["division"].add(g.ID, division(c))
			dims["month"].add(g.ID, month(c))
			for _, s := range sourcesOf(c) {
				dims["source"].add(g.ID, s)
				k := [2]string{day, s}
				d := days[k]
				if d == nil {
					d = &Day{Day: day, Source: s}
					days[k], dayGroups[k] = d, map[string]bool{}
				}
				d.Duplicates++
				dayGroups[k][g.ID] = true
				d.Groups = len(dayGroups[k])
			}
		}
	}
	r.ByType, r.ByDivision, r.BySource = dims["type"].counts(), dims["division"].counts(), dims["source"].counts()
	r.ByMonth, r.ByIdentifier = dims["month"].counts(), dims["identifier"].counts()
	// Months read best in time order.
	slices.SortFunc(r.ByMonth, func(a, b Count) int { return cmp.Compare(a.Key, b.Key) })
	for _, k := range slices.SortedFunc(maps.Keys(days), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	}) {
		r.PerDay = append(r.PerDay, *days[k])
	}
	return r, nil
}

// tally counts the duplicates and distinct groups under each key.
type tally struct {
	dups   map[string]int
	groups map[string]map[string]bool
}

func newTally() *tally {
	return &tally{dups: map[string]int{}, groups: map[string]map[string]bool{}}
}

func (t *tally) add(group, key string) {
	t.dups[key]++
	if t.groups[key] == nil {
		t.groups[key] = map[string]bool{}
	}
	t.groups[key][group] = true
}

// counts returns the tally, most duplicates first, then by key.
func (t *tally) counts() []Count {
	out := make([]Count, 0, len(t.dups))
	for k, n := range t.dups {
		out = append(out, Count{Key: k, Groups: len(t.groups[k]), Duplicates: n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Duplicates, a.Duplicates), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// records returns the records of g's members: the snapshot's, else, for
// members merged away, the before-images the ledger's merge rows of g
// recorded.
func records(ctx context.Context, st cm.Store, g cm.Group, snapshot map[string]cm.Contact) (map[string]cm.Contact, error) {
	out := make(map[string]cm.Contact, len(g.Members))
	missing := false
	for _, id := range g.Members {
		if c, ok := snapshot[id]; ok {
			out[id] = c
		} else {
			missing = true
		}
	}
	if !missing {
		return out, nil
	}
	err := st.Ledger(ctx, cm.LedgerFilter{GroupID: g.ID, Kinds: []cm.LedgerKind{cm.LedgerAPI}}, func(ev cm.LedgerEvent) error {
		if len(ev.BeforeImages) == 0 {
			return nil
		}
		var cs []cm.Contact
		if json.Unmarshal(ev.BeforeImages, &cs) != nil {
			return nil // a before-image that does not decode tells nothing
		}
		for _, c := range cs {
			if _, ok := out[c.ID]; !ok && slices.Contains(g.Members, c.ID) {
				out[c.ID] = c
			}
		}
		return nil
	})
	return out, err
}

// linkedBy is the field whose comparison weighed most in g's explanation.
func linkedBy(g cm.Group) string {
	if g.Explanation == nil {
		return None
	}
	best, bestW := None, 0.0
	for _, l := range g.Explanation.Links {
		for _, f := range l.Fields {
			if f.Field == "prior" || f.Weight <= bestW {
				continue
			}
			best, bestW = f.Field, f.Weight
		}
	}
	return best
}

func division(c cm.Contact) string {
	if c.Division == nil {
		return None
	}
	return cmp.Or(c.Division.Name, c.Division.ID, None)
}

func month(c cm.Contact) string {
	if c.CreateDate.IsZero() {
		return None
	}
	return c.CreateDate.UTC().Format("2006-01")
}

// sourcesOf returns the distinct external sources of c's ids, or None.
func sourcesOf(c cm.Contact) []string {
	var out []string
	for _, e := range c.ExternalIDs {
		if s := e.SourceName(); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return []string{None}
	}
	slices.Sort(out)
	return out
}

// LastDays returns the rows of days (ordered by day, as Report.PerDay) on
// the last n distinct days among them; n ≤ 0 returns days unchanged.
func LastDays(days []Day, n int) []Day {
	if n <= 0 {
		return days
	}
	seen := 0
	for i := len(days) - 1; i >= 0; i-- {
		if i == len(days)-1 || days[i].Day != days[i+1].Day {
			seen++
		}
		if seen > n {
			return days[i+1:]
		}
	}
	return days
}

// Rate is a source's new duplicates per day over the days of a trend.
type Rate struct {
	Source string `json:"source"`
	// Days is the number of distinct days of the trend; PerDay the
	// source's duplicates divided by it.
	Days       int     `json:"days"`
	Duplicates int     `json:"duplicates"`
	PerDay     float64 `json:"perDay"`
}

// Rates returns each source's average new duplicates per day over days (a
// Report.PerDay, or LastDays of it), most first: the figure a cycle
// summary says ("crm: 40 a day").
func Rates(days []Day) []Rate {
	distinct := map[string]bool{}
	by := map[string]int{}
	for _, d := range days {
		distinct[d.Day] = true
		by[d.Source] += d.Duplicates
	}
	out := make([]Rate, 0, len(by))
	for s, n := range by {
		out = append(out, Rate{Source: s, Days: len(distinct), Duplicates: n, PerDay: float64(n) / float64(len(distinct))})
	}
	slices.SortFunc(out, func(a, b Rate) int {
		return cmp.Or(cmp.Compare(b.Duplicates, a.Duplicates), cmp.Compare(a.Source, b.Source))
	})
	return out
}
