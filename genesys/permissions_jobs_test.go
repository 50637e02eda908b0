package genesys_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/sandbox"
)

// TestCheckPermissionsConversationJobs: the details jobs' probe (the status
// of a job that does not exist) passes for a client with the analytics
// permission, creates no job and changes nothing; without it, it names the
// capability and the permissions.
func TestCheckPermissionsConversationJobs(t *testing.T) {
	sb, c := newSandbox(t, 0, nil, nil)
	if err := c.CheckPermissions(t.Context(), genesys.CapConversationJobs); err != nil {
		t.Fatalf("permission held: %v", err)
	}
	st := sb.Stats().Requests
	if st["POST /api/v2/analytics/conversations/details/jobs"] != nil || st["GET /api/v2/analytics/conversations/details/jobs/{jobId}"] == nil || len(sb.Oplog()) != 0 {
		t.Errorf("the probe's requests: %v, oplog %v", st, sb.Oplog())
	}

	_, c = newSandbox(t, 0, func(cfg *sandbox.Config) { cfg.Permissions = []string{sandbox.PermContactView} }, nil)
	err := c.CheckPermissions(t.Context(), genesys.CapConversationJobs)
	var pe *genesys.PermissionError
	if !errors.As(err, &pe) || pe.Capability != genesys.CapConversationJobs ||
		!strings.Contains(err.Error(), "may not read conversation details jobs (403 missing.permissions): it needs one of the permissions analytics:conversationDetail:view") {
		t.Fatalf("err = %v", err)
	}
}
