package genesys_test

import (
	"fmt"

	"github.com/contactmerge/contactmerge/genesys"
)

func ExampleResolveRegion() {
	for _, r := range []string{"us-east-1", "eu-central-1", "https://api.mypurecloud.ie", "http://127.0.0.1:8089"} {
		api, login, err := genesys.ResolveRegion(r)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(api, login)
	}
	// Output:
	// https://api.mypurecloud.com https://login.mypurecloud.com
	// https://api.mypurecloud.de https://login.mypurecloud.de
	// https://api.mypurecloud.ie https://login.mypurecloud.ie
	// http://127.0.0.1:8089 http://127.0.0.1:8089
}
