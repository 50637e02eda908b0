package genesys

import (
	"context"
	"net/http"
)

// TokensService is the token information API (/api/v2/tokens).
type TokensService service

// Entity is an {id, name} reference.
type Entity struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	SelfURI string `json:"selfUri,omitempty"`
}

// RoleDivision is a role granted to an OAuth client in a division.
type RoleDivision struct {
	RoleID     string `json:"roleId,omitempty"`
	DivisionID string `json:"divisionId,omitempty"`
}

// OAuthClient is the OrgOAuthClient of a TokenInfo.
type OAuthClient struct {
	ID                  string         `json:"id,omitempty"`
	Name                string         `json:"name,omitempty"`
	DateCreated         string         `json:"dateCreated,omitempty"`
	DateModified        string         `json:"dateModified,omitempty"`
	CreatedBy           *Entity        `json:"createdBy,omitempty"`
	ModifiedBy          *Entity        `json:"modifiedBy,omitempty"`
	AuthorizedGrantType string         `json:"authorizedGrantType,omitempty"`
	Scope               []string       `json:"scope,omitempty"`
	RoleDivisions       []RoleDivision `json:"roleDivisions,omitempty"`
	State               string         `json:"state,omitempty"`
	DateToDelete        string         `json:"dateToDelete,omitempty"`
	Organization        *Entity        `json:"organization,omitempty"`
}

// ClonedUser is the user a token was cloned from.
type ClonedUser struct {
	ID           string  `json:"id,omitempty"`
	Organization *Entity `json:"organization,omitempty"`
}

// TokenInfo is the answer of GET /api/v2/tokens/me. Note the capitalised
// "OAuthClient" JSON key, as the platform sends it.
type TokenInfo struct {
	Organization     *Entity      `json:"organization,omitempty"`
	HomeOrganization *Entity      `json:"homeOrganization,omitempty"`
	AuthorizedScope  []string     `json:"authorizedScope,omitempty"`
	ClonedUser       *ClonedUser  `json:"clonedUser,omitempty"`
	DateTokenIdles   string       `json:"dateTokenIdles,omitempty"`
	OAuthClient      *OAuthClient `json:"OAuthClient,omitempty"`
}

// Me fetches GET /api/v2/tokens/me: the organization and OAuth client of the
// current token. It needs no permission, so it validates credentials.
func (s *TokensService) Me(ctx context.Context) (*TokenInfo, *Response, error) {
	req, err := s.client.NewRequest(ctx, http.MethodGet, "/api/v2/tokens/me", nil)
	if err != nil {
		return nil, nil, err
	}
	ti := new(TokenInfo)
	resp, err := s.client.Do(req, ti)
	if err != nil {
		return nil, resp, err
	}
	return ti, resp, nil
}
