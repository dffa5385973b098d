package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Limit allows Requests per Period, all of them at once if the client has
// been quiet (burst = Requests), refilling one every Period/Requests.
type Limit struct {
	Requests int
	Period   time.Duration
}

// IsZero reports an unset limit (the policy is off).
func (l Limit) IsZero() bool { return l.Requests <= 0 || l.Period <= 0 }

// Scaled multiplies the request count (API-key tiers), keeping at least 1.
func (l Limit) Scaled(m float64) Limit {
	if m <= 0 || m == 1 {
		return l
	}
	return Limit{Requests: max(1, int(math.Round(float64(l.Requests)*m))), Period: l.Period}
}

func (l Limit) String() string {
	for _, u := range periodUnits {
		if l.Period == u.d {
			return fmt.Sprintf("%d/%s", l.Requests, u.name)
		}
	}
	return fmt.Sprintf("%d/%s", l.Requests, l.Period)
}

// errZeroLimit refuses a check against a limit that is off: the caller
// should not have asked.
var errZeroLimit = errors.New("ratelimit: zero limit")

// Result is the outcome of one check.
type Result struct {
	Allowed bool
	Limit   Limit
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is, when refused, the wait until one request is allowed.
	RetryAfter time.Duration
	// ResetAfter is the wait until the full burst is available again.
	ResetAfter time.Duration
}

// Limiter counts one request against key under limit. Implementations
// share the GCRA semantics so the contract tests run on each of them. An
// error means the backend did not answer; the caller decides what to do.
type Limiter interface {
	Allow(ctx context.Context, key string, limit Limit) (Result, error)
}
