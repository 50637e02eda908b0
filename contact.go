package contactmerge

import (
	"encoding/json"
	"time"
)

// Contact types of Genesys Cloud (ExternalContact.type).
const (
	TypeCurated    = "Curated"
	TypeIdentified = "Identified"
	TypeEphemeral  = "Ephemeral"
)

// Ref is an AddressableEntityRef / DomainEntityRef: an id with an optional
// name and self URI.
type Ref struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	SelfURI string `json:"selfUri,omitempty"`
}

// PhoneNumber is a Genesys Cloud PhoneNumber. E164 and CountryCode are
// read-only on the platform: set only when Display parsed.
type PhoneNumber struct {
	Display                  string `json:"display,omitempty"`
	Extension                *int   `json:"extension,omitempty"`
	AcceptsSMS               *bool  `json:"acceptsSMS,omitempty"`
	NormalizationCountryCode string `json:"normalizationCountryCode,omitempty"`
	UserInput                string `json:"userInput,omitempty"`
	E164                     string `json:"e164,omitempty"`
	CountryCode              string `json:"countryCode,omitempty"`
}

// Address is a Genesys Cloud ContactAddress.
type Address struct {
	Address1    string `json:"address1,omitempty"`
	Address2    string `json:"address2,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	PostalCode  string `json:"postalCode,omitempty"`
	CountryCode string `json:"countryCode,omitempty"`
}

// IsZero reports whether a has no field set.
func (a *Address) IsZero() bool { return a == nil || *a == Address{} }

// ExternalSource names the system an ExternalID comes from.
type ExternalSource struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	SelfURI string `json:"selfUri,omitempty"`
}

// ExternalID is one entry of ExternalContact.externalIds.
type ExternalID struct {
	ExternalSource *ExternalSource `json:"externalSource,omitempty"`
	Value          string          `json:"value"`
}

// SourceName returns the external source's name, or its id when it has no
// name, or "" when the entry has no source.
func (e ExternalID) SourceName() string {
	if e.ExternalSource == nil {
		return ""
	}
	if e.ExternalSource.Name != "" {
		return e.ExternalSource.Name
	}
	return e.ExternalSource.ID
}

// Schema is the DataSchema reference a contact's customFields conform to.
type Schema struct {
	ID         string          `json:"id,omitempty"`
	Name       string          `json:"name,omitempty"`
	Version    int             `json:"version,omitempty"`
	JSONSchema json.RawMessage `json:"jsonSchema,omitempty"`
	SelfURI    string          `json:"selfUri,omitempty"`
}

// Contact is a Genesys Cloud ExternalContact with its JSON field names (see
// GENESYS_API.md §2). Fields contactmerge never interprets (social ids,
// identifiers, the external organization) are kept verbatim as raw JSON so
// that a snapshot round-trips without loss.
type Contact struct {
	ID         string `json:"id,omitempty"`
	Division   *Ref   `json:"division,omitempty"`
	FirstName  string `json:"firstName,omitempty"`
	MiddleName string `json:"middleName,omitempty"`
	LastName   string `json:"lastName,omitempty"`
	Salutation string `json:"salutation,omitempty"`
	Title      string `json:"title,omitempty"`

	WorkPhone  *PhoneNumber `json:"workPhone,omitempty"`
	CellPhone  *PhoneNumber `json:"cellPhone,omitempty"`
	HomePhone  *PhoneNumber `json:"homePhone,omitempty"`
	OtherPhone *PhoneNumber `json:"otherPhone,omitempty"`

	WorkEmail     string `json:"workEmail,omitempty"`
	PersonalEmail string `json:"personalEmail,omitempty"`
	OtherEmail    string `json:"otherEmail,omitempty"`

	Address *Address `json:"address,omitempty"`

	TwitterID      json.RawMessage `json:"twitterId,omitempty"`
	LineID         json.RawMessage `json:"lineId,omitempty"`
	WhatsAppID     json.RawMessage `json:"whatsAppId,omitempty"`
	FacebookID     json.RawMessage `json:"facebookId,omitempty"`
	InstagramID    json.RawMessage `json:"instagramId,omitempty"`
	AppleOpaqueIDs json.RawMessage `json:"appleOpaqueIds,omitempty"`
	ExternalIDs    []ExternalID    `json:"externalIds,omitempty"`
	Identifiers    json.RawMessage `json:"identifiers,omitempty"`

	ModifyDate           time.Time       `json:"modifyDate,omitzero"`
	CreateDate           time.Time       `json:"createDate,omitzero"`
	ExternalOrganization json.RawMessage `json:"externalOrganization,omitempty"`
	SurveyOptOut         *bool           `json:"surveyOptOut,omitempty"`
	ExternalSystemURL    string          `json:"externalSystemUrl,omitempty"`
	Schema               *Schema         `json:"schema,omitempty"`
	CustomFields         map[string]any  `json:"customFields,omitempty"`
	ExternalDataSources  json.RawMessage `json:"externalDataSources,omitempty"`

	Type             string          `json:"type,omitempty"`
	CanonicalContact *Ref            `json:"canonicalContact,omitempty"`
	MergeSet         []Ref           `json:"mergeSet,omitempty"`
	MergedFrom       []Ref           `json:"mergedFrom,omitempty"`
	MergedTo         *Ref            `json:"mergedTo,omitempty"`
	MergeOperation   json.RawMessage `json:"mergeOperation,omitempty"`
	SelfURI          string          `json:"selfUri,omitempty"`
}

// Phones returns the four phone slots in their fixed order (work, cell, home,
// other); absent slots are nil.
func (c *Contact) Phones() [4]*PhoneNumber {
	return [4]*PhoneNumber{c.WorkPhone, c.CellPhone, c.HomePhone, c.OtherPhone}
}

// SetPhones writes the four phone slots in the order of Phones.
func (c *Contact) SetPhones(p [4]*PhoneNumber) {
	c.WorkPhone, c.CellPhone, c.HomePhone, c.OtherPhone = p[0], p[1], p[2], p[3]
}

// Emails returns the three email slots in their fixed order (work, personal,
// other); absent slots are "".
func (c *Contact) Emails() [3]string {
	return [3]string{c.WorkEmail, c.PersonalEmail, c.OtherEmail}
}

// SetEmails writes the three email slots in the order of Emails.
func (c *Contact) SetEmails(e [3]string) {
	c.WorkEmail, c.PersonalEmail, c.OtherEmail = e[0], e[1], e[2]
}

// DivisionID returns the contact's division id, or "" when it has none.
func (c *Contact) DivisionID() string {
	if c.Division == nil {
		return ""
	}
	return c.Division.ID
}

// IsMerged reports whether the contact was an input of a merge (it is a
// read-only ancestor whose MergedTo names the merge's output).
func (c *Contact) IsMerged() bool { return c.MergedTo != nil && c.MergedTo.ID != "" }

// CanonicalID returns the id of the head of the contact's merge tree: the
// canonical contact when the platform reported one, else the contact itself.
func (c *Contact) CanonicalID() string {
	if c.CanonicalContact != nil && c.CanonicalContact.ID != "" {
		return c.CanonicalContact.ID
	}
	return c.ID
}

// TypeRank orders contact types for survivorship: Curated (3) over
// Identified (2) over Ephemeral (1); unknown types rank 0.
func TypeRank(t string) int {
	switch t {
	case TypeCurated:
		return 3
	case TypeIdentified:
		return 2
	case TypeEphemeral:
		return 1
	}
	return 0
}
