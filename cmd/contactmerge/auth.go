package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	cm "github.com/contactmerge/contactmerge"
	"github.com/contactmerge/contactmerge/genesys"
	"github.com/contactmerge/contactmerge/store"
)

// newCmdAuth is the auth command group.
func newCmdAuth(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "auth", Short: "Credentials and permissions",
		Example: `  contactmerge auth check
  contactmerge auth check --json`}
	cmd.AddCommand(newCmdAuthCheck(f, nil))
	return cmd
}

type authCheckOptions struct {
	IO        IO
	Client    func(ctx context.Context, maxRate int, observe func(genesys.RequestInfo)) (*genesys.Client, error)
	OpenStore func(context.Context) (store.Store, error)
	StoreName func() string
	Now       func() time.Time
	// Profiles and ClientFor reach the further OAuth clients of a pool
	// (GENESYSCLOUD_OAUTHCLIENT_ID_2, …, or CONTACTMERGE_CLIENTS).
	Profiles  func() (string, []clientProfile, error)
	ClientFor func(ctx context.Context, region, id, secret string, ratePerMinute int, observe func(genesys.RequestInfo)) (*genesys.Client, error)

	asJSON bool
}

func newCmdAuthCheck(f *Factory, runF func(*authCheckOptions) error) *cobra.Command {
	o := &authCheckOptions{IO: f.IO, Client: f.Client, OpenStore: f.OpenStore, StoreName: f.StoreName, Now: f.Now,
		Profiles: f.Profiles, ClientFor: f.ClientFor}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the OAuth client and probe the permissions contactmerge needs",
		Long: `Gets a token with the client-credentials grant, reads GET /api/v2/tokens/me and reports
the organization and the OAuth client. Then probes, without changing anything, each permission
contactmerge needs, with the request run, discover and restore check before their first
mutation: a bulk read and the cases of a contact id no organization holds, an active-conversation
query of it, the status of a details job that does not exist, a merge of no contacts and an
update of the absent contact (refused as invalid once past authorization). Creating contacts
(restore) has no side-effect-free probe.

It also shows the store (--db, CONTACTMERGE_DB) and the organization it belongs to, when
there is one (it never creates one). When the store belongs to another organization than the
token, it reports everything and then exits 2: scan, run and worker would refuse it.

With several OAuth clients (GENESYSCLOUD_OAUTHCLIENT_ID_2 and _SECRET_2, ..., or a
CONTACTMERGE_CLIENTS file), it gets a token for each of the others too and checks that it
belongs to the same organization (exit 2 when one does not; exit 1 when one is refused).`,
		Example: `  contactmerge auth check
  contactmerge --db acme.db auth check --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return authCheckRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print one JSON object")
	return cmd
}

// authProbe is a capability auth check probes, under the key of the
// report's permissions that names it: its permission, and the route when
// two capabilities share one.
type authProbe struct {
	key string
	cap genesys.Capability
}

// authProbes are the capabilities auth check probes, in order.
func authProbes() []authProbe {
	return []authProbe{
		{"externalContacts:contact:view", genesys.CapReadContacts},
		{"analytics:conversationDetail:view", genesys.CapQueryConversations},
		{"analytics:conversationDetail:view (details jobs)", genesys.CapConversationJobs},
		{"caseManagement:caseExternalContact:view", genesys.CapLookUpCases},
		{"externalContacts:identity:merge", genesys.CapMergeContacts},
		{genesys.PermContactEdit + " (restore)", genesys.CapEditContacts},
		{genesys.PermContactAdd + " (restore)", genesys.CapCreateContacts},
	}
}

type authReport struct {
	Organization string            `json:"organization"`
	OrgID        string            `json:"organizationId"`
	Client       string            `json:"oauthClient"`
	ClientID     string            `json:"oauthClientId"`
	Grant        string            `json:"grantType,omitempty"`
	Roles        int               `json:"roles"`
	Permissions  map[string]string `json:"permissions"`
	Store        authStore         `json:"store"`
	// Others are the further OAuth clients of a pool.
	Others []authOther `json:"otherClients,omitempty"`
}

// authOther is the check of one further OAuth client of a pool.
type authOther struct {
	Name     string `json:"name"`
	ClientID string `json:"oauthClientId"`
	OrgID    string `json:"organizationId,omitempty"`
	// Status is "ok", "another organization" or "failed: …".
	Status string `json:"status"`
}

// authStore is the store auth check looked at and its binding.
type authStore struct {
	Location     string  `json:"location"`
	Exists       bool    `json:"exists"`
	Organization *cm.Org `json:"organization,omitempty"` // nil: none exists or none recorded
	// Matches reports whether the store's organization is the token's
	// (false also when the store is bound to none).
	Matches bool `json:"matches"`
}

func authCheckRun(ctx context.Context, o *authCheckOptions) error {
	client, err := o.Client(ctx, 0, nil)
	if err != nil {
		return err
	}
	info, _, err := client.Tokens.Me(ctx)
	if err != nil {
		return fmt.Errorf("auth check: %w", err)
	}
	rep := authReport{Permissions: map[string]string{}}
	if info.Organization != nil {
		rep.Organization, rep.OrgID = info.Organization.Name, info.Organization.ID
	}
	if info.OAuthClient != nil {
		rep.Client, rep.ClientID, rep.Grant = info.OAuthClient.Name, info.OAuthClient.ID, info.OAuthClient.AuthorizedGrantType
		rep.Roles = len(info.OAuthClient.RoleDivisions)
	}
	for _, pr := range authProbes() {
		v, err := client.Probe(ctx, pr.cap)
		var pe *genesys.PermissionError
		switch {
		case v == genesys.Allowed:
			rep.Permissions[pr.key] = "ok"
		case errors.Is(err, genesys.ErrNoProbe):
			rep.Permissions[pr.key] = "not checked (no side-effect-free probe)"
		case errors.As(err, &pe):
			rep.Permissions[pr.key] = "missing (" + pe.Err.Message + ")"
		case errors.Is(err, genesys.ErrUnauthorized):
			return fmt.Errorf("auth check: %w", err)
		default:
			rep.Permissions[pr.key] = "could not check: " + err.Error()
		}
	}
	if err := o.storeBinding(ctx, &rep); err != nil {
		return err
	}
	mismatch := rep.Store.Organization != nil && !rep.Store.Matches
	var merr error
	if mismatch {
		merr = orgMismatch(rep.Store.Location, *rep.Store.Organization, cm.Org{ID: rep.OrgID, Name: rep.Organization})
	}
	if err := o.checkOthers(ctx, &rep); merr == nil {
		merr = err
	}
	if o.asJSON {
		if err := writeJSON(o.IO.Out, rep); err != nil {
			return err
		}
		return merr
	}
	fmt.Fprintf(o.IO.Out, "organization  %s (%s)\noauth client  %s (%s)", rep.Organization, rep.OrgID, rep.Client, rep.ClientID)
	if rep.Grant != "" {
		fmt.Fprintf(o.IO.Out, ", grant %s, %d role(s)", rep.Grant, rep.Roles)
	}
	fmt.Fprintln(o.IO.Out)
	for _, p := range slices.Sorted(maps.Keys(rep.Permissions)) {
		fmt.Fprintf(o.IO.Out, "  %-36s %s\n", p, rep.Permissions[p])
	}
	for _, c := range rep.Others {
		fmt.Fprintf(o.IO.Out, "oauth client  %s (%s): %s\n", c.Name, c.ClientID, c.Status)
	}
	switch st := rep.Store; {
	case !st.Exists:
		fmt.Fprintf(o.IO.Out, "store         none at %s ('contactmerge scan' creates it for this organization)\n", st.Location)
	case st.Organization == nil:
		fmt.Fprintf(o.IO.Out, "store         %s, bound to no organization ('contactmerge scan' binds it to this one)\n", st.Location)
	case st.Matches:
		fmt.Fprintf(o.IO.Out, "store         %s, of this organization\n", st.Location)
	default:
		fmt.Fprintf(o.IO.Out, "store         %s, of ANOTHER organization: %s\n", st.Location, st.Organization)
	}
	return merr
}

// storeBinding fills rep.Store from the configured store, if one exists.
func (o *authCheckOptions) storeBinding(ctx context.Context, rep *authReport) error {
	rep.Store.Location = o.StoreName()
	st, err := o.OpenStore(ctx)
	if err != nil {
		if _, ok := errors.AsType[*noStoreError](err); ok {
			return nil
		}
		return err
	}
	defer st.Close()
	rep.Store.Exists = true
	org, err := st.Org(ctx)
	switch {
	case cm.IsCode(err, cm.ENOTFOUND):
		return nil
	case err != nil:
		return err
	}
	rep.Store.Organization = &org
	rep.Store.Matches = org.ID == rep.OrgID
	return nil
}

// checkOthers gets a token for every further OAuth client of the pool and
// reads its organization, filling rep.Others. It returns EINVALID (exit 2)
// when one belongs to another organization than the first client, else the
// first refusal (nil when all are fine).
func (o *authCheckOptions) checkOthers(ctx context.Context, rep *authReport) error {
	if o.Profiles == nil || o.ClientFor == nil {
		return nil
	}
	region, ps, err := o.Profiles()
	if err != nil || len(ps) < 2 {
		return err
	}
	var mismatch, failed error
	for _, p := range ps[1:] {
		c := authOther{Name: p.Name, ClientID: p.ID}
		client, err := o.ClientFor(ctx, region, p.ID, p.Secret, 0, nil)
		var info *genesys.TokenInfo
		if err == nil {
			info, _, err = client.Tokens.Me(ctx)
		}
		switch {
		case err != nil:
			c.Status = "failed: " + err.Error()
			if failed == nil {
				failed = fmt.Errorf("auth check: OAuth client %s: %w", p.Name, err)
			}
		case info.Organization == nil || info.Organization.ID != rep.OrgID:
			if info.Organization != nil {
				c.OrgID = info.Organization.ID
			}
			c.Status = "another organization"
			if mismatch == nil {
				mismatch = cm.Errorf(cm.EINVALID, "OAuth client %s (%s) belongs to organization %s, not %s (%s) like the first: "+
					"all clients of a pool must be of one organization", p.Name, p.ID, c.OrgID, rep.Organization, rep.OrgID)
			}
		default:
			c.OrgID, c.Status = info.Organization.ID, "ok"
		}
		rep.Others = append(rep.Others, c)
	}
	if mismatch != nil {
		return mismatch
	}
	return failed
}
