package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/contactmerge/contactmerge/genesys"
)

// newCmdAuth is the auth command group.
func newCmdAuth(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "auth", Short: "Credentials and permissions"}
	cmd.AddCommand(newCmdAuthCheck(f, nil))
	return cmd
}

type authCheckOptions struct {
	IO     IO
	Client func(ctx context.Context, maxRate int, observe func(genesys.RequestInfo)) (*genesys.Client, error)
	Now    func() time.Time

	asJSON bool
}

func newCmdAuthCheck(f *Factory, runF func(*authCheckOptions) error) *cobra.Command {
	o := &authCheckOptions{IO: f.IO, Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the OAuth client and probe the permissions contactmerge needs",
		Long: `Gets a token with the client-credentials grant, reads GET /api/v2/tokens/me and reports
the organization and the OAuth client. Then probes, without changing anything, the read
permissions contactmerge needs (a one-page scan and an analytics query). The merge
permission (externalContacts:identity:merge) has no side-effect-free probe.`,
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

type authReport struct {
	Organization string            `json:"organization"`
	OrgID        string            `json:"organizationId"`
	Client       string            `json:"oauthClient"`
	ClientID     string            `json:"oauthClientId"`
	Grant        string            `json:"grantType,omitempty"`
	Roles        int               `json:"roles"`
	Permissions  map[string]string `json:"permissions"`
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
	probe := func(perm string, err error) {
		var ae *genesys.APIError
		switch {
		case err == nil:
			rep.Permissions[perm] = "ok"
		case errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized):
			rep.Permissions[perm] = "missing (" + ae.Message + ")"
		default:
			rep.Permissions[perm] = "could not check: " + err.Error()
		}
	}
	_, _, err = client.Contacts.Scan(ctx, &genesys.ScanOptions{Limit: 10})
	probe("externalContacts:contact:view", err)
	_, err = client.Analytics.ActiveConversations(ctx, []string{"00000000-0000-0000-0000-000000000000"},
		genesys.Interval{Start: o.Now().Add(-time.Hour), End: o.Now()})
	probe("analytics:conversationDetail:view", err)
	rep.Permissions["externalContacts:identity:merge"] = "not checked (no side-effect-free probe)"
	if o.asJSON {
		return writeJSON(o.IO.Out, rep)
	}
	fmt.Fprintf(o.IO.Out, "organization  %s (%s)\noauth client  %s (%s)", rep.Organization, rep.OrgID, rep.Client, rep.ClientID)
	if rep.Grant != "" {
		fmt.Fprintf(o.IO.Out, ", grant %s, %d role(s)", rep.Grant, rep.Roles)
	}
	fmt.Fprintln(o.IO.Out)
	for _, p := range slices.Sorted(maps.Keys(rep.Permissions)) {
		fmt.Fprintf(o.IO.Out, "  %-36s %s\n", p, rep.Permissions[p])
	}
	return nil
}
