package sandbox

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Fault kinds accepted by ParseFaults and Config.Faults.
const (
	FaultError503   = "error503"    // 503 Service Unavailable
	FaultError500   = "error500"    // 500 Internal Server Error
	FaultReset      = "reset"       // the connection is dropped without a response
	FaultTimeout504 = "timeout504"  // merges only: the merge is applied, the gateway answers 504 after GatewayTimeout
	FaultThrottle   = "throttle429" // a burst of 429s (1 to 3 seconds of the token's requests)
)

// faultKinds is the fixed order in which fault probabilities are laid out on
// [0,1) when a request draws its fault.
func faultKinds() []string {
	return []string{FaultError503, FaultError500, FaultReset, FaultTimeout504, FaultThrottle}
}

// Faults maps a fault kind (FaultError503, FaultError500, FaultReset,
// FaultTimeout504, FaultThrottle) to the probability that an /api/v2 request
// gets it. Probabilities are laid out one after the other on [0,1), so their
// sum should not exceed 1.
type Faults map[string]float64

// ParseFaults parses a fault specification such as
// "timeout504=0.05,error503=0.05,reset=0.02". An empty spec gives no faults.
// An unknown kind, a malformed entry or a probability outside [0,1] is an
// error naming the offending entry.
func ParseFaults(spec string) (Faults, error) {
	f := Faults{}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return f, nil
	}
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return nil, fmt.Errorf("fault %q: want kind=probability", part)
		}
		if !slices.Contains(faultKinds(), k) {
			return nil, fmt.Errorf("fault %q: unknown kind (want one of %s)", k, strings.Join(faultKinds(), ", "))
		}
		p, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || p < 0 || p > 1 || p != p {
			return nil, fmt.Errorf("fault %q: probability %q is not a number in [0,1]", k, strings.TrimSpace(v))
		}
		f[k] = p
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// validate checks kinds and probabilities.
func (f Faults) validate() error {
	sum := 0.0
	for k, p := range f {
		if !slices.Contains(faultKinds(), k) {
			return fmt.Errorf("fault %q: unknown kind (want one of %s)", k, strings.Join(faultKinds(), ", "))
		}
		if p < 0 || p > 1 || p != p {
			return fmt.Errorf("fault %q: probability %v is not in [0,1]", k, p)
		}
		sum += p
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("faults: probabilities add up to %.3f, more than 1", sum)
	}
	return nil
}

// String formats f in the syntax ParseFaults reads, kinds in a fixed order.
func (f Faults) String() string {
	var parts []string
	for _, k := range faultKinds() {
		if p, ok := f[k]; ok {
			parts = append(parts, k+"="+strconv.FormatFloat(p, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}

// drawReset draws, for a request whose fault is a reset, whether its
// connection drops before the operation (true) or after it, and counts the
// fault (reset.before / reset.after).
func (s *Sandbox) drawReset() (before bool) {
	s.amu.Lock()
	defer s.amu.Unlock()
	before = s.frand.IntN(2) == 0
	s.stats.Faults[FaultReset]++
	if before {
		s.stats.Faults["reset.before"]++
	} else {
		s.stats.Faults["reset.after"]++
	}
	return before
}
