package match

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestInternationalNANP compares the shortcut with phonenumbers' own
// international format on North American numbers across every area code,
// and checks that it declines every other number.
func TestInternationalNANP(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for area := 200; area <= 999; area++ {
		for range 8 {
			e164 := fmt.Sprintf("+1%03d%03d%04d", area, rng.IntN(1000), rng.IntN(10000))
			got, ok := internationalNANP(e164)
			num, err := phonenumbers.Parse(e164, "")
			if err != nil {
				t.Fatalf("phonenumbers cannot parse %s: %v", e164, err)
			}
			if want := phonenumbers.Format(num, phonenumbers.INTERNATIONAL); !ok || got != want {
				t.Fatalf("internationalNANP(%s) = %q, %v; phonenumbers formats %q", e164, got, ok, want)
			}
		}
	}
	for _, e164 := range []string{"", "+1", "+11234567890", "+10234567890", "+120155501234", "+1201555012", "+44201555012", "+1201555012a", "12015550123", "+33612345678"} {
		if got, ok := internationalNANP(e164); ok {
			t.Errorf("internationalNANP(%q) = %q, want it declined", e164, got)
		}
	}
}
