package ratelimit

import (
	"net/netip"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/auth"
)

// Identity names the client a request counts against, and the multiplier
// of its limits (1 unless an API key's tier says otherwise).
type Identity func(c *gin.Context) (key string, multiplier float64)

// ByIP keys by c.ClientIP(): the TCP peer, or X-Forwarded-For only when the
// peer is one of the engine's trusted proxies (httpx.Options.TrustedProxies),
// so clients cannot pick their own bucket. IPv6 clients are keyed by their
// /64, which one subscriber usually holds whole.
func ByIP(c *gin.Context) (string, float64) {
	return ipKey(c.ClientIP()), 1
}

func ipKey(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "ip:" + s
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "ip6:" + p.String()
	}
	return "ip:" + a.String()
}

// ByUser keys by the authenticated user (auth.Middleware must run first);
// requests without one fall back to ByIP.
func ByUser(c *gin.Context) (string, float64) {
	if u, ok := auth.UserFrom(c.Request.Context()); ok {
		return "user:" + u.ID.String(), 1
	}
	return ByIP(c)
}

// ByAPIKey keys by the authenticated API key's id (auth.APIKeyAuth's
// middleware must run first), scaling limits by its tier; requests without a
// key fall back to ByIP.
func ByAPIKey(tiers map[string]float64) Identity {
	return func(c *gin.Context) (string, float64) {
		k, ok := auth.APIKeyFrom(c.Request.Context())
		if !ok {
			return ByIP(c)
		}
		m, ok := tiers[k.Tier]
		if !ok {
			m = 1
		}
		return "key:" + k.ID, m
	}
}
