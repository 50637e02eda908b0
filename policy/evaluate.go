package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/review"
)

// The guards, as the reasons of a Verdict name them ("guard: why").
const (
	GuardState        = "state"             // only proposed groups are the policy's
	GuardSteward      = "steward"           // a person linked or decided these contacts
	GuardCannotLink   = "cannotLink"        // a member is in a rejected pair
	GuardConfidence   = "minConfidence"     // below the threshold
	GuardGroupSize    = "maxGroupSize"      // too many members
	GuardExternalID   = "externalId"        // two different ids of one external source
	GuardBirthDate    = "birthDate"         // two different dates of birth
	GuardUniqueField  = "uniqueCustomField" // two values of a configured unique custom field
	GuardTypeRule     = "typeRule"          // not Ephemeral/Identified into one Curated record
	GuardSnapshot     = "snapshot"          // a member is not in the snapshot: nothing to check it by
	GuardCap          = "maxMergesPerCycle" // the cycle's cap was reached
	GuardChangedAfter = "changed"           // another process changed the group meanwhile (enforce)
)

// Verdict is the policy's judgement of one group: Approve, or the reasons
// it holds the group for a person, each starting with the guard's name.
type Verdict struct {
	Approve bool     `json:"approve"`
	Reasons []string `json:"reasons,omitempty"`
}

// Guard is one of the policy's guards with its setting, as the console and
// report policy show them.
type Guard struct {
	Name    string `json:"name"`
	Setting string `json:"setting"`
}

// Guards lists p's guards and their settings, in the order Evaluate checks
// them.
func (p *Policy) Guards() []Guard {
	or := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	conf, capN, size := "none (allowEverything)", "none (allowEverything)", "no limit"
	if p.MinConfidence > 0 {
		conf = "confidence ≥ " + strconv.FormatFloat(p.MinConfidence, 'g', -1, 64)
	}
	if p.MaxMergesPerCycle > 0 {
		capN = strconv.Itoa(p.MaxMergesPerCycle) + " approvals per cycle, most confident first"
	}
	if p.MaxGroupSize > 0 {
		size = "at most " + strconv.Itoa(p.MaxGroupSize) + " members"
	}
	types := "any types"
	if p.TypeRule == TypeIntoCurated {
		types = "only Ephemeral/Identified records into one Curated record"
	}
	return []Guard{
		{"mode", string(p.Mode)},
		{GuardState, "proposed groups only; never a group a person decided, rejected, split or linked"},
		{GuardCannotLink, "no member in a cannot-link pair"},
		{GuardConfidence, conf},
		{GuardGroupSize, size},
		{GuardExternalID, "no two different ids of one external source"},
		{GuardBirthDate, "no two different dates of birth in " + or(strings.Join(p.BirthDateFields, ", "), "(no field)")},
		{GuardUniqueField, "no two values of " + or(strings.Join(p.UniqueCustomFields, ", "), "(none configured)")},
		{GuardTypeRule, types},
		{GuardCap, capN},
	}
}

// Evaluate judges group g, given members (the snapshot records of its
// members; a member missing is held for GuardSnapshot) and constraints
// (the pair constraints with an end among g's members; others are
// ignored). It checks every guard and returns every reason that holds g:
//
//   - GuardState: g is not proposed;
//   - GuardCannotLink and GuardSteward: review.PolicyHold, the rule of
//     plan approve's policy (a rejected pair, or a steward's link the
//     group departs from);
//   - GuardConfidence, GuardGroupSize: the threshold and the size limit;
//   - GuardExternalID: two members whose ids of one external source are
//     all different (a CRM syncing two records);
//   - GuardBirthDate: two different dates of birth (BirthDateFields);
//   - GuardUniqueField: two different values of one of
//     UniqueCustomFields (compared trimmed, case-insensitively);
//   - GuardTypeRule: with TypeIntoCurated, not exactly one Curated member
//     with every other member Ephemeral or Identified.
//
// The cap (GuardCap) and a person's earlier decision on g (GuardSteward)
// are Apply's, which sees every group and the store.
func (p *Policy) Evaluate(g cm.Group, members []cm.Contact, constraints []cm.PairConstraint) Verdict {
	var reasons []string
	hold := func(guard, format string, args ...any) {
		reasons = append(reasons, guard+": "+fmt.Sprintf(format, args...))
	}
	if g.State != "" && g.State != cm.StateProposed {
		hold(GuardState, "the group is %s: the policy decides proposed groups only", g.State)
	}
	if why := review.PolicyHold(g, constraints); why != "" {
		guard := GuardSteward
		if strings.HasPrefix(why, "touches a rejected pair") {
			guard = GuardCannotLink
		}
		hold(guard, "%s", why)
	}
	if p.MinConfidence > 0 && g.Confidence < p.MinConfidence {
		hold(GuardConfidence, "confidence %s is below %s", fmtConf(g.Confidence), fmtConf(p.MinConfidence))
	}
	if p.MaxGroupSize > 0 && len(g.Members) > p.MaxGroupSize {
		hold(GuardGroupSize, "%d members, more than %d", len(g.Members), p.MaxGroupSize)
	}
	byID := make(map[string]*cm.Contact, len(members))
	for i := range members {
		byID[members[i].ID] = &members[i]
	}
	var in []*cm.Contact
	for _, id := range g.Members {
		c, ok := byID[id]
		if !ok {
			hold(GuardSnapshot, "member %s is not in the snapshot: scan again", id)
			continue
		}
		in = append(in, c)
	}
	reasons = append(reasons, externalIDConflicts(in)...)
	if a, b, ok := conflict(in, func(c *cm.Contact) []string { return birthDates(c, p.BirthDateFields) }); ok {
		hold(GuardBirthDate, "two dates of birth: %s", pairText(a, b))
	}
	for _, f := range p.UniqueCustomFields {
		if a, b, ok := conflict(in, func(c *cm.Contact) []string { return customValues(c, f) }); ok {
			hold(GuardUniqueField, "two values of %s: %s", f, pairText(a, b))
		}
	}
	if p.TypeRule == TypeIntoCurated {
		if why := intoCurated(in); why != "" {
			hold(GuardTypeRule, "%s", why)
		}
	}
	return Verdict{Approve: len(reasons) == 0, Reasons: reasons}
}

// fmtConf shows a confidence with enough digits to tell 0.999 from 0.9989.
func fmtConf(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// valueOf is one member's value of an identifier.
type valueOf struct {
	contact, value string
}

// pairText shows two conflicting values with their contacts.
func pairText(a, b valueOf) string {
	return fmt.Sprintf("%s (%s), %s (%s)", a.value, a.contact, b.value, b.contact)
}

// conflict finds two members whose values (values returns each member's,
// normalized) are both non-empty and share none: two different
// identifiers of what should be one customer.
func conflict(cs []*cm.Contact, values func(*cm.Contact) []string) (a, b valueOf, found bool) {
	type member struct {
		id string
		vs []string
	}
	var ms []member
	for _, c := range cs {
		if vs := values(c); len(vs) > 0 {
			ms = append(ms, member{c.ID, vs})
		}
	}
	for i := range ms {
		for j := i + 1; j < len(ms); j++ {
			shared := false
			for _, v := range ms[i].vs {
				if slices.Contains(ms[j].vs, v) {
					shared = true
					break
				}
			}
			if !shared {
				return valueOf{ms[i].id, ms[i].vs[0]}, valueOf{ms[j].id, ms[j].vs[0]}, true
			}
		}
	}
	return valueOf{}, valueOf{}, false
}

// externalIDConflicts returns a GuardExternalID reason for every external
// source two members hold different ids of.
func externalIDConflicts(cs []*cm.Contact) []string {
	var sources []string
	for _, c := range cs {
		for _, e := range c.ExternalIDs {
			if s := e.SourceName(); s != "" && !slices.Contains(sources, s) {
				sources = append(sources, s)
			}
		}
	}
	slices.Sort(sources)
	var out []string
	for _, s := range sources {
		a, b, ok := conflict(cs, func(c *cm.Contact) []string {
			var vs []string
			for _, e := range c.ExternalIDs {
				if v := strings.TrimSpace(e.Value); e.SourceName() == s && v != "" {
					vs = append(vs, v)
				}
			}
			return vs
		})
		if ok {
			out = append(out, fmt.Sprintf("%s: two different %s ids: %s", GuardExternalID, s, pairText(a, b)))
		}
	}
	return out
}

// customValues returns c's value of custom field f, trimmed and lower-cased
// (none when it is absent or empty).
func customValues(c *cm.Contact, f string) []string {
	v, ok := c.CustomFields[f]
	if !ok || v == nil {
		return nil
	}
	s := strings.ToLower(strings.TrimSpace(fmt.Sprint(v)))
	if s == "" {
		return nil
	}
	return []string{s}
}

// birthDates returns c's dates of birth from fields, each as YYYY-MM-DD
// when it parses as a date (an RFC 3339 time or a date), else trimmed.
func birthDates(c *cm.Contact, fields []string) []string {
	var out []string
	for _, f := range fields {
		for _, v := range customValues(c, f) {
			for _, layout := range []string{time.DateOnly, time.RFC3339, "2006-01-02T15:04:05"} {
				if t, err := time.Parse(layout, strings.ToUpper(v)); err == nil {
					v = t.Format(time.DateOnly)
					break
				}
			}
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// intoCurated says why members break TypeIntoCurated, or "".
func intoCurated(cs []*cm.Contact) string {
	var curated []string
	for _, c := range cs {
		switch c.Type {
		case cm.TypeCurated:
			curated = append(curated, c.ID)
		case cm.TypeEphemeral, cm.TypeIdentified:
		default:
			return fmt.Sprintf("member %s has type %q: only Ephemeral and Identified records merge into a Curated one", c.ID, c.Type)
		}
	}
	switch len(curated) {
	case 1:
		return ""
	case 0:
		return "no Curated member to merge the Ephemeral and Identified records into"
	}
	return fmt.Sprintf("%d Curated members (%s): a person merges Curated records", len(curated), strings.Join(curated, ", "))
}
