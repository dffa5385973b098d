package ratelimit

import (
	"context"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
)

// Options configures Middleware.
type Options struct {
	// FailClosed answers 503 when the limiter errs or times out; by
	// default the request goes through (logged and counted).
	FailClosed bool
	// CheckTimeout bounds all limiter calls of one request (default 50ms).
	CheckTimeout time.Duration
	Logger       *slog.Logger
	Metrics      *Metrics
}

// failureLogEvery throttles the fail-open log line: during an outage every
// request fails, and one line per interval says as much as a thousand.
const failureLogEvery = 10 * time.Second

// Middleware limits each request by the route policy its pattern matches
// (c.FullPath()) and by the layer's global policy, both counted against
// id's key. Both limits apply: a request the route policy refuses does not
// count against the global one. Every limited response carries
// RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-10)
// and X-RateLimit-Limit/-Remaining/-Reset for the tighter policy; a refusal
// is 429 rate_limit_exceeded with Retry-After and retry_after.
//
//	api := engine.Group("/api/public")
//	api.Use(ratelimit.Middleware(limiter, table, ratelimit.ByIP, cfg.RateLimit.Options(log, metrics)))
func Middleware(l Limiter, t Table, id Identity, o Options) gin.HandlerFunc {
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 50 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics, _ = NewMetrics(nil)
	}
	var lastFailureLog atomic.Int64
	layer := string(t.Layer)
	match := memoMatch(t)
	return func(c *gin.Context) {
		policies := make([]Policy, 0, 2)
		if p, ok := match(c.FullPath()); ok {
			policies = append(policies, p)
		}
		if !t.Global.Limit.IsZero() {
			policies = append(policies, t.Global)
		}
		if len(policies) == 0 {
			c.Next()
			return
		}
		key, mult := id(c)
		ctx, cancel := context.WithTimeout(c.Request.Context(), o.CheckTimeout)
		results := make([]Result, 0, len(policies))
		var err error
		for _, p := range policies {
			var r Result
			r, err = l.Allow(ctx, layer+":"+p.Name+":"+key, p.Limit.Scaled(mult))
			if err != nil {
				break
			}
			results = append(results, r)
			if !r.Allowed {
				break
			}
		}
		cancel()
		if err != nil {
			action := "fail_open"
			if o.FailClosed {
				action = "fail_closed"
			}
			o.Metrics.failures.WithLabelValues(layer, action).Inc()
			now := time.Now().UnixNano()
			if last := lastFailureLog.Load(); now-last > int64(failureLogEvery) && lastFailureLog.CompareAndSwap(last, now) {
				o.Logger.WarnContext(c.Request.Context(), "rate limiter unavailable", "layer", layer, "action", action, "error", err.Error())
			}
			if o.FailClosed {
				_ = c.Error(apperr.New(apperr.Unavailable, "rate_limiter_unavailable", "rate limiting is unavailable, try again shortly"))
				c.Abort()
				return
			}
			c.Next()
			return
		}
		writeHeaders(c, policies[:len(results)], results)
		last := results[len(results)-1]
		if !last.Allowed {
			o.Metrics.decisions.WithLabelValues(layer, policies[len(results)-1].Name, "limited").Inc()
			_ = c.Error(apperr.RateLimited(ceilSeconds(last.RetryAfter)))
			c.Abort()
			return
		}
		for _, p := range policies {
			o.Metrics.decisions.WithLabelValues(layer, p.Name, "allowed").Inc()
		}
		c.Next()
	}
}

// writeHeaders sets the draft-10 fields for every policy checked, e.g.
//
//	RateLimit-Policy: "health";q=100;w=60, "global";q=1000;w=3600
//	RateLimit: "health";r=42;t=17, "global";r=958;t=151
//
// and the X-RateLimit-* trio for the policy with the fewest requests left.
// t and X-RateLimit-Reset count until the policy's full quota is back;
// X-RateLimit-Reset is a Unix time, as GitHub and most clients expect.
func writeHeaders(c *gin.Context, policies []Policy, results []Result) {
	var pol, cur strings.Builder
	tight := 0
	for i, p := range policies {
		r := results[i]
		if i > 0 {
			pol.WriteString(", ")
			cur.WriteString(", ")
		}
		pol.WriteString(strconv.Quote(p.Name) + ";q=" + strconv.Itoa(r.Limit.Requests) + ";w=" + strconv.Itoa(ceilSeconds(r.Limit.Period)))
		cur.WriteString(strconv.Quote(p.Name) + ";r=" + strconv.Itoa(r.Remaining) + ";t=" + strconv.Itoa(ceilSeconds(r.ResetAfter)))
		if r.Remaining < results[tight].Remaining {
			tight = i
		}
	}
	h := c.Writer.Header()
	h.Set("RateLimit-Policy", pol.String())
	h.Set("RateLimit", cur.String())
	r := results[tight]
	h.Set("X-RateLimit-Limit", strconv.Itoa(r.Limit.Requests))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(r.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(r.ResetAfter).Add(time.Second-1).Unix(), 10))
}

// ceilSeconds rounds up: a client told to wait 19s after a 19.4s penalty
// would be refused again.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

// memoMatch remembers Table.Match per route pattern: the answer depends on
// the pattern alone, the router has a fixed set of them, and matching
// splits every policy's routes, which is not work for each request.
func memoMatch(t Table) func(route string) (Policy, bool) {
	type matched struct {
		p  Policy
		ok bool
	}
	var seen sync.Map
	return func(route string) (Policy, bool) {
		if v, ok := seen.Load(route); ok {
			m := v.(matched)
			return m.p, m.ok
		}
		p, ok := t.Match(route)
		seen.Store(route, matched{p, ok})
		return p, ok
	}
}
