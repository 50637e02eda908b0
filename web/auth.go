package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Security (doc.go says it in prose):
//
//   - Every browser holds a session cookie (cm_session, HttpOnly,
//     SameSite=Strict): anonymous until its holder logs in when the
//     console has a token, then naming the person. Its value is signed
//     (HMAC-SHA-256) with a key derived from the token, or with a random
//     key of the process when there is no token; it never holds the token.
//   - Every state-changing request carries the session's CSRF token (a
//     hidden form field, an HMAC of the session): a missing or forged one
//     is refused with 403 before anything is read or changed. Go's
//     http.CrossOriginProtection refuses cross-origin POSTs in front of it.
//   - With a token, every page, /metrics (which also takes "Authorization:
//     Bearer TOKEN") and /river need a login; /healthz and /static do not.

const (
	sessionCookie = "cm_session"
	csrfField     = "csrf"
)

// auth signs sessions and CSRF tokens.
type auth struct {
	token   string // "" : no login
	key     []byte // signs sessions and CSRF tokens
	ttl     time.Duration
	now     func() time.Time
	tokenID [32]byte // sha256 of the token, for constant-time comparison
}

func newAuth(token string, ttl time.Duration, now func() time.Time) (*auth, error) {
	a := &auth{token: token, ttl: ttl, now: now}
	if token != "" {
		m := hmac.New(sha256.New, []byte(token))
		m.Write([]byte("contactmerge console session key v1"))
		a.key = m.Sum(nil)
		a.tokenID = sha256.Sum256([]byte(token))
	} else {
		a.key = make([]byte, 32)
		if _, err := rand.Read(a.key); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// on reports whether the console needs a login.
func (a *auth) on() bool { return a.token != "" }

func (a *auth) mac(parts ...string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

// sessionInfo is a verified session cookie.
type sessionInfo struct {
	raw  string // the cookie's value
	name string // "" : anonymous
}

type sessionKey struct{}

// newSession returns the value of a session cookie for name ("" :
// anonymous): id.name.issued.mac.
func (a *auth) newSession(name string) string {
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	sid := hex.EncodeToString(id)
	n := base64.RawURLEncoding.EncodeToString([]byte(name))
	issued := strconv.FormatInt(a.now().Unix(), 10)
	return sid + "." + n + "." + issued + "." + a.mac("session", sid, n, issued)
}

// verify returns the session of a cookie value, ok false when it is forged
// or expired (a login expires after ttl; an anonymous session does not).
func (a *auth) verify(v string) (sessionInfo, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 4 {
		return sessionInfo{}, false
	}
	want := a.mac("session", parts[0], parts[1], parts[2])
	if !hmac.Equal([]byte(want), []byte(parts[3])) {
		return sessionInfo{}, false
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return sessionInfo{}, false
	}
	issued, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return sessionInfo{}, false
	}
	if len(name) > 0 && a.now().Sub(time.Unix(issued, 0)) > a.ttl {
		return sessionInfo{}, false
	}
	if len(name) > 0 && !a.on() {
		return sessionInfo{}, false
	}
	return sessionInfo{raw: v, name: string(name)}, true
}

func (a *auth) setCookie(w http.ResponseWriter, r *http.Request, v string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: maxAge,
	})
}

// session gives every request a verified session (a new anonymous one when
// it has none, or a forged or expired one), and refuses any request that
// is not GET or HEAD without the session's CSRF token: 403, before the
// handler runs.
func (a *auth) session(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s sessionInfo
		ok := false
		if c, err := r.Cookie(sessionCookie); err == nil {
			s, ok = a.verify(c.Value)
		}
		safe := r.Method == http.MethodGet || r.Method == http.MethodHead
		if !ok {
			if !safe {
				forbidden(w, "Your session is missing or expired: reload the page, then try again. Nothing was changed.")
				return
			}
			s = sessionInfo{raw: a.newSession("")}
			a.setCookie(w, r, s.raw, 0)
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		if !safe && !strings.HasPrefix(r.URL.Path, "/river/") {
			got := r.PostFormValue(csrfField)
			if got == "" {
				got = r.Header.Get("X-CSRF-Token")
			}
			if !hmac.Equal([]byte(got), []byte(a.csrfFor(s.raw))) {
				forbidden(w, "The form's security token is missing or wrong (a forged request, or a page from before the console restarted): reload the page, then try again. Nothing was changed.")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// forbidden writes a plain 403 page.
func forbidden(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("<!doctype html><meta charset=utf-8><title>Forbidden</title><link rel=stylesheet href=/static/app.css>" +
		"<main class=narrow><h1>Forbidden</h1><p class=error>" + htmlEscape(msg) + "</p><p><a href=/>Back to the console</a></p></main>"))
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

func (a *auth) csrfFor(session string) string { return a.mac("csrf", session)[:40] }

// csrfToken returns the CSRF token of r's session.
func (a *auth) csrfToken(r *http.Request) string {
	s, _ := r.Context().Value(sessionKey{}).(sessionInfo)
	if s.raw == "" {
		return ""
	}
	return a.csrfFor(s.raw)
}

// name returns the logged-in name of r's session ("" : none).
func (a *auth) name(r *http.Request) string {
	s, _ := r.Context().Value(sessionKey{}).(sessionInfo)
	return s.name
}

// require serves h only to a logged-in session when the console has a
// token; others are sent to the login form (or get 401 when api, which
// also accepts "Authorization: Bearer TOKEN").
func (a *auth) require(h http.Handler, api bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.on() || a.name(r) != "" {
			h.ServeHTTP(w, r)
			return
		}
		if api {
			if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && a.checkToken(tok) {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="contactmerge"`)
			http.Error(w, "log in to the console, or send Authorization: Bearer with the console's token", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet {
			forbidden(w, "Log in first. Nothing was changed.")
			return
		}
		http.Redirect(w, r, "/login?next="+urlPathEscape(r.URL.RequestURI()), http.StatusSeeOther)
	})
}

// checkToken compares tok with the console's token in constant time.
func (a *auth) checkToken(tok string) bool {
	if !a.on() {
		return false
	}
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], a.tokenID[:]) == 1
}

// validName checks a login name: 1 to 64 printable characters.
func validName(n string) bool {
	if n == "" || len([]rune(n)) > 64 {
		return false
	}
	for _, r := range n {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// safeNext returns next when it is a path of this console, else "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	return next
}

func urlPathEscape(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", "+", "%2B", " ", "%20", "?", "%3F", "=", "%3D").Replace(s)
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if !s.auth.on() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, "login", map[string]any{"Title": "Log in", "Next": safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.auth.on() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	next := safeNext(r.PostFormValue("next"))
	data := map[string]any{"Title": "Log in", "Next": next, "Name": name}
	switch {
	case !validName(name):
		data["Error"] = "Give your name (1 to 64 printable characters): it is recorded with your decisions."
		s.renderStatus(w, r, http.StatusBadRequest, "login", data)
		return
	case !s.auth.checkToken(r.PostFormValue("token")):
		s.log.Warn("console: login refused", "name", name, "remote", r.RemoteAddr)
		data["Error"] = "That is not the console's token."
		s.renderStatus(w, r, http.StatusUnauthorized, "login", data)
		return
	}
	s.auth.setCookie(w, r, s.auth.newSession(name), int(s.cfg.SessionTTL.Seconds()))
	s.log.Info("console: login", "name", name, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	s.auth.setCookie(w, r, s.auth.newSession(""), 0)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
