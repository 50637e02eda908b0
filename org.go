package contactmerge

import "time"

// OfflineOrgID is the Org.ID of a store filled by an import that named no
// organization (import without --org): its contacts were not read from any
// organization, so no organization's credentials may act on it.
const OfflineOrgID = "offline"

// Org is the Genesys Cloud organization a store holds the contacts of. The
// first scan or import into a store binds it (Store.BindOrg); every later
// command that calls the API compares the token's organization
// (GET /api/v2/tokens/me) with it and refuses another.
type Org struct {
	// ID is the organization id of tokens/me, or OfflineOrgID.
	ID string `json:"id"`
	// Name is the organization's name ("" when unknown, e.g. import --org).
	Name string `json:"name,omitempty"`
	// Source says what bound the store: "scan", "import --org" or
	// "offline import".
	Source string `json:"source,omitempty"`
	// BoundAt is when the binding was recorded (set by the store).
	BoundAt time.Time `json:"boundAt,omitzero"`
}

// Offline reports whether o is the binding of an import without an
// organization.
func (o Org) Offline() bool { return o.ID == OfflineOrgID }

// String returns "Name (ID)", or the ID alone when the name is unknown, or
// "an offline import" for OfflineOrgID.
func (o Org) String() string {
	switch {
	case o.Offline():
		return "an offline import (no organization)"
	case o.Name == "":
		return o.ID
	}
	return o.Name + " (" + o.ID + ")"
}
