package genesys

import (
	"strings"
	"testing"
)

func TestRegions(t *testing.T) {
	r := Regions()
	want := map[string]string{
		"us-east-1": "mypurecloud.com", "us-east-2": "use2.us-gov-pure.cloud", "us-west-2": "usw2.pure.cloud",
		"ca-central-1": "cac1.pure.cloud", "sa-east-1": "sae1.pure.cloud", "mx-central-1": "mxc1.pure.cloud",
		"eu-west-1": "mypurecloud.ie", "eu-west-2": "euw2.pure.cloud", "eu-central-1": "mypurecloud.de",
		"eu-central-2": "euc2.pure.cloud", "eusc-de-east-1": "edee1.eusc-pure.cloud", "me-central-1": "mec1.pure.cloud",
		"ap-south-1": "aps1.pure.cloud", "ap-southeast-1": "apse1.pure.cloud", "ap-southeast-2": "mypurecloud.com.au",
		"ap-northeast-1": "mypurecloud.jp", "ap-northeast-2": "apne2.pure.cloud", "ap-northeast-3": "apne3.pure.cloud",
		"dca": "inindca.com", "tca": "inintca.com",
	}
	if len(r) != len(want) {
		t.Errorf("Regions has %d entries, want %d", len(r), len(want))
	}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("Regions()[%q] = %q, want %q", k, r[k], v)
		}
	}
	r["us-east-1"] = "mutated"
	if Regions()["us-east-1"] != "mypurecloud.com" {
		t.Error("Regions returns a shared map")
	}
}

func TestResolveRegion(t *testing.T) {
	tests := []struct {
		in, api, login string
	}{
		{"us-east-1", "https://api.mypurecloud.com", "https://login.mypurecloud.com"},
		{"EU-CENTRAL-1", "https://api.mypurecloud.de", "https://login.mypurecloud.de"},
		{"eu_central_2", "https://api.euc2.pure.cloud", "https://login.euc2.pure.cloud"},
		{" eusc-de-east-1 ", "https://api.edee1.eusc-pure.cloud", "https://login.edee1.eusc-pure.cloud"},
		{"dca", "https://api.inindca.com", "https://login.inindca.com"},
		{"tca", "https://api.inintca.com", "https://login.inintca.com"},
		{"mypurecloud.jp", "https://api.mypurecloud.jp", "https://login.mypurecloud.jp"},
		{"http://127.0.0.1:8089", "http://127.0.0.1:8089", "http://127.0.0.1:8089"},
		{"http://127.0.0.1:8089/", "http://127.0.0.1:8089", "http://127.0.0.1:8089"},
		{"https://api.x.com", "https://api.x.com", "https://login.x.com"},
		{"https://api.mypurecloud.com.au/", "https://api.mypurecloud.com.au", "https://login.mypurecloud.com.au"},
		{"http://localhost:9000/base", "http://localhost:9000/base", "http://localhost:9000/base"},
	}
	for _, tt := range tests {
		api, login, err := ResolveRegion(tt.in)
		if err != nil {
			t.Errorf("ResolveRegion(%q): %v", tt.in, err)
			continue
		}
		if api.String() != tt.api || login.String() != tt.login {
			t.Errorf("ResolveRegion(%q) = %s, %s; want %s, %s", tt.in, api, login, tt.api, tt.login)
		}
	}
	// Every region key resolves.
	for k, d := range Regions() {
		api, login, err := ResolveRegion(k)
		if err != nil || api.Host != "api."+d || login.Host != "login."+d {
			t.Errorf("ResolveRegion(%q) = %v, %v, %v", k, api, login, err)
		}
	}
}

func TestResolveRegionErrors(t *testing.T) {
	for _, in := range []string{"", "mars-1", "ftp://api.x.com", "http://", "https://user:pw@api.x.com", "http://%zz"} {
		_, _, err := ResolveRegion(in)
		if err == nil {
			t.Errorf("ResolveRegion(%q) succeeded", in)
			continue
		}
		if strings.Contains(err.Error(), "pw@") {
			t.Errorf("error leaks URL credentials: %v", err)
		}
	}
	_, _, err := ResolveRegion("mars-1")
	for _, k := range []string{"us-east-1", "eusc-de-east-1", "ap-northeast-3", "dca", "tca"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("unknown-region error does not list %s: %v", k, err)
		}
	}
}
