package sandbox

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// authError is the token endpoint's error body (GO SDK AuthErrorResponse).
type authError struct {
	Error            string `json:"error"`
	Description      string `json:"description"`
	ErrorDescription string `json:"error_description"`
}

// handleToken serves POST /oauth/token (client credentials, Basic auth).
// The credentials are base64(id:secret) with the raw id and secret, as the
// official SDKs send them (GO configuration.go AuthorizeClientCredentials,
// PY api_client.py); percent-escaped ones are accepted only with
// URLDecodeCredentials.
func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	var cl *oauthClient
	if ok {
		cl = s.authenticate(id, secret)
	}
	if cl == nil {
		msg := "client authentication failed: unknown client id or wrong secret"
		if !ok {
			msg = "client authentication failed: use HTTP Basic authentication with the client id and secret"
		}
		s.writeJSON(w, http.StatusUnauthorized, authError{"invalid_client", msg, msg})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		msg := "grant_type must be client_credentials"
		s.writeJSON(w, http.StatusBadRequest, authError{"unsupported_grant_type", msg, msg})
		return
	}
	access := randomToken()
	s.amu.Lock()
	cl.stats.TokensIssued++
	tok := &token{client: cl, label: cl.id + "#" + strconv.Itoa(cl.stats.TokensIssued), expires: s.now().Add(s.cfg.TokenTTL)}
	tok.stats.Client = cl.id
	s.tokens[access] = tok
	s.issued = append(s.issued, tok)
	s.amu.Unlock()
	s.writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access,
		"token_type":   "bearer",
		"expires_in":   int(s.cfg.TokenTTL / time.Second),
	})
}

// authenticate returns the client whose credentials id and secret are
// (compared exactly, or after percent-decoding with URLDecodeCredentials),
// or nil.
func (s *Sandbox) authenticate(id, secret string) *oauthClient {
	match := func(id, secret string) *oauthClient {
		s.amu.Lock()
		cl := s.clients[id]
		s.amu.Unlock()
		if cl != nil && subtle.ConstantTimeCompare([]byte(secret), []byte(cl.secret)) == 1 {
			return cl
		}
		return nil
	}
	if cl := match(id, secret); cl != nil {
		return cl
	}
	if s.cfg.URLDecodeCredentials {
		uid, err1 := url.QueryUnescape(id)
		usec, err2 := url.QueryUnescape(secret)
		if err1 == nil && err2 == nil {
			return match(uid, usec)
		}
	}
	return nil
}

// handleTokensMe serves GET|HEAD /api/v2/tokens/me. TokenInfo carries no
// permissions (PY TokenInfo.md: organization, homeOrganization,
// authorizedScope, clonedUser, dateTokenIdles, OAuthClient), so neither does
// the sandbox's.
func (s *Sandbox) handleTokensMe(w http.ResponseWriter, r *http.Request) {
	// organization and homeOrganization are {id, name}, as TokenInfo
	// declares them (no selfUri).
	org := map[string]string{"id": s.orgID, "name": "Sandbox Organization"}
	clientID := s.cfg.ClientID
	if t := info(r).tok; t != nil {
		clientID = t.client.id
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"organization":     org,
		"homeOrganization": org,
		"authorizedScope":  []string{},
		"OAuthClient": map[string]any{
			"id":                  clientID,
			"name":                "contactmerge sandbox client",
			"authorizedGrantType": "CLIENT-CREDENTIALS",
			"state":               "active",
			"roleDivisions": []map[string]string{{
				"roleId":     "sandbox-role-contacts-admin",
				"divisionId": "*",
			}},
			"organization": map[string]string{"id": s.orgID},
		},
	})
}

// handleRevoke serves DELETE /api/v2/tokens/me.
func (s *Sandbox) handleRevoke(w http.ResponseWriter, r *http.Request) {
	s.amu.Lock()
	delete(s.tokens, info(r).token)
	s.amu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
