package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/contactmerge/contactmerge/genesys"
)

func TestForbiddenErrorText(t *testing.T) {
	deny := func(c genesys.Capability, named string) error {
		ae := &genesys.APIError{Status: 403, Code: "missing.permissions", CorrelationID: "c1"}
		if named != "" {
			ae.MessageParams = map[string]string{"permissions": named}
		}
		return genesys.AsPermissionError(c, ae)
	}
	two := &forbiddenError{err: errors.Join(deny(genesys.CapQueryConversations, ""), deny(genesys.CapMergeContacts, "externalContacts:identity:merge"))}
	want := "engine: the OAuth client may not query conversation details: it needs one of the permissions analytics:conversationDetail:view, " +
		"analytics:agentConversationDetail:view (403 missing.permissions, correlation id c1); the OAuth client may not merge contacts: " +
		"it needs the permission externalContacts:identity:merge (403 missing.permissions, correlation id c1); grant them to the client's role before running"
	if got := two.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if !errors.Is(two, ErrForbidden) || !errors.Is(two, genesys.ErrForbidden) {
		t.Error("sentinels do not match")
	}
	stopped := forbidden(genesys.CapMergeContacts, &genesys.APIError{Status: 403})
	if got := stopped.Error(); !strings.HasPrefix(got, "engine: stopped: the OAuth client may not merge contacts: it needs the permission externalContacts:identity:merge (403 forbidden)") ||
		!strings.HasSuffix(got, "run again (no group was marked failed for this)") {
		t.Errorf("stopped: %s", got)
	}
	if forbidden(genesys.CapMergeContacts, &genesys.APIError{Status: 400}) != nil {
		t.Error("a 400 is forbidden")
	}
}
