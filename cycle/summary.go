package cycle

import (
	"time"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/sources"
	"github.com/contactmerge/contactmerge/store"
)

// Summary is a cycle's report: kept in the store (store.Cycle.Summary)
// and POSTed to the notify webhook. It holds no secret: no token, no
// credentials, no webhook address.
type Summary struct {
	Cycle        int64            `json:"cycle"`
	State        store.CycleState `json:"state"`
	Trigger      string           `json:"trigger"`
	Actor        string           `json:"actor"`
	Slot         time.Time        `json:"slot,omitzero"`
	Organization cm.Org           `json:"organization,omitzero"`
	StartedAt    time.Time        `json:"startedAt"`
	EndedAt      time.Time        `json:"endedAt,omitzero"`
	// Resumes counts the times the cycle was resumed after its process
	// stopped (a crash, an interrupt).
	Resumes  int             `json:"resumes"`
	Scan     *ScanResult     `json:"scan,omitempty"`
	Discover *DiscoverResult `json:"discover,omitempty"`
	Match    *MatchResult    `json:"match,omitempty"`
	Policy   *PolicyResult   `json:"policy,omitempty"`
	Run      *RunResult      `json:"run,omitempty"`
	// Sources says where the store's duplicates come from (package
	// sources), at the end of the cycle.
	Sources *SourcesResult `json:"sources,omitempty"`
	// Error is why the cycle failed (or was skipped).
	Error string `json:"error,omitempty"`
	// Alert is set when the failure needs a person now (the store is
	// another organization's).
	Alert string `json:"alert,omitempty"`
}

// ScanResult is the scan step's.
type ScanResult struct {
	Pages           int   `json:"pages"`
	Contacts        int64 `json:"contacts"`
	ContactsInStore int64 `json:"contactsInStore"`
	// Budget is the share of the window the scan could spend and
	// CeilingPerMinute the ceiling it ran under (WindowAllowed: the
	// platform's requests a minute).
	Budget           float64 `json:"budget,omitempty"`
	CeilingPerMinute int     `json:"ceilingPerMinute,omitempty"`
	WindowAllowed    int     `json:"windowAllowed,omitempty"`
}

// MatchResult is the match step's.
type MatchResult struct {
	Groups     int `json:"groups"`
	Created    int `json:"created"`
	Kept       int `json:"kept"`
	Superseded int `json:"superseded"`
	// Proposed counts the groups waiting for a decision after the step.
	Proposed int `json:"proposed"`
	// Mode says whether the match was incremental, and why
	// (match.Mode); New, Edited and Deleted are the contacts an
	// incremental match found changed since the last.
	Mode    string `json:"mode,omitempty"`
	New     int    `json:"new,omitempty"`
	Edited  int    `json:"edited,omitempty"`
	Deleted int    `json:"deleted,omitempty"`
}

// RunResult is the run step's.
type RunResult struct {
	// Skipped says why the step merged nothing without trying ("" when
	// it ran).
	Skipped       string                `json:"skipped,omitempty"`
	MergedThisRun int                   `json:"mergedThisRun"`
	Requests      float64               `json:"requests"`
	Counts        map[cm.GroupState]int `json:"counts,omitempty"`
}

// SourcesResult is the report's summary of sources.Compute.
type SourcesResult struct {
	Groups     int             `json:"groups"`
	Duplicates int             `json:"duplicates"`
	BySource   []sources.Count `json:"bySource"` // the five largest
}
