package genesys

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Regions returns the Genesys Cloud region keys (the AWS-style keys used by
// the official CLI and Terraform provider, GENESYSCLOUD_REGION) mapped to
// their domain. The API host of a region is api.<domain> and its login host
// login.<domain>. The map is a fresh copy on every call.
func Regions() map[string]string {
	return map[string]string{
		"us-east-1":      "mypurecloud.com",
		"us-east-2":      "use2.us-gov-pure.cloud",
		"us-west-2":      "usw2.pure.cloud",
		"ca-central-1":   "cac1.pure.cloud",
		"sa-east-1":      "sae1.pure.cloud",
		"mx-central-1":   "mxc1.pure.cloud",
		"eu-west-1":      "mypurecloud.ie",
		"eu-west-2":      "euw2.pure.cloud",
		"eu-central-1":   "mypurecloud.de",
		"eu-central-2":   "euc2.pure.cloud",
		"eusc-de-east-1": "edee1.eusc-pure.cloud",
		"me-central-1":   "mec1.pure.cloud",
		"ap-south-1":     "aps1.pure.cloud",
		"ap-southeast-1": "apse1.pure.cloud",
		"ap-southeast-2": "mypurecloud.com.au",
		"ap-northeast-1": "mypurecloud.jp",
		"ap-northeast-2": "apne2.pure.cloud",
		"ap-northeast-3": "apne3.pure.cloud",
		"dca":            "inindca.com",
		"tca":            "inintca.com",
	}
}

// ResolveRegion turns a region key, a bare region domain or a base URL into
// the API base URL and the login base URL (where /oauth/token lives).
//
//   - A region key ("us-east-1", case-insensitive; the CLI's underscore
//     spellings such as "eu_central_2" are accepted) or a region domain
//     ("mypurecloud.de") gives https://api.<domain> and https://login.<domain>.
//   - A URL whose host starts with "api." ("https://api.x.com") gives that URL
//     and the same URL with the host's "api." replaced by "login.", as the
//     official SDKs do.
//   - Any other http or https URL ("http://127.0.0.1:8089", the sandbox) is
//     used for both: the server answers /oauth/token and /api/v2 itself.
//
// An unknown key is an error that lists the valid keys. Trailing slashes,
// queries and fragments are dropped from URLs.
func ResolveRegion(keyOrURL string) (apiBase, loginBase *url.URL, err error) {
	s := strings.TrimSpace(keyOrURL)
	if s == "" {
		return nil, nil, fmt.Errorf("genesys: region is empty; use a region key (%s) or a base URL", strings.Join(regionKeys(), ", "))
	}
	if strings.Contains(s, "://") {
		return resolveURL(s)
	}
	regions := Regions()
	key := strings.ReplaceAll(strings.ToLower(s), "_", "-")
	domain, ok := regions[key]
	if !ok {
		for _, d := range regions {
			if strings.EqualFold(d, s) {
				domain, ok = d, true
				break
			}
		}
	}
	if !ok {
		return nil, nil, fmt.Errorf("genesys: unknown region %q; valid region keys are %s, or give a base URL such as https://api.mypurecloud.com", s, strings.Join(regionKeys(), ", "))
	}
	return &url.URL{Scheme: "https", Host: "api." + domain}, &url.URL{Scheme: "https", Host: "login." + domain}, nil
}

func resolveURL(s string) (apiBase, loginBase *url.URL, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, nil, fmt.Errorf("genesys: invalid region URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, nil, fmt.Errorf("genesys: invalid region URL %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, nil, fmt.Errorf("genesys: invalid region URL %q: no host", s)
	}
	if u.User != nil {
		return nil, nil, fmt.Errorf("genesys: invalid region URL: credentials in the URL are not allowed")
	}
	api := &url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host), Path: strings.TrimRight(u.Path, "/")}
	login := *api
	if strings.HasPrefix(api.Host, "api.") {
		login.Host = "login." + strings.TrimPrefix(api.Host, "api.")
		login.Path = ""
	}
	return api, &login, nil
}

func regionKeys() []string {
	keys := make([]string, 0, 20)
	for k := range Regions() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
