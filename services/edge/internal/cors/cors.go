// Package cors enforces the cross-origin policy at the edge, so the three
// services never have to: preflights are answered here and the edge's
// Access-Control-* headers are the only ones a browser sees.
//
// A disallowed origin gets no CORS headers at all: its preflight is answered
// 204 without Access-Control-Allow-Origin (as Kong's cors plugin and rs/cors
// do), and the browser blocks the call. A 403 would tell the browser nothing
// more and would make the answer depend on a header anyone can forge.
package cors

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/config"
)

// ExposedHeaders are the response headers a browser script may read: rate
// limit state, the request id for support tickets, and the MCP session.
var ExposedHeaders = []string{
	"RateLimit", "RateLimit-Policy", "X-RateLimit-Limit", "X-RateLimit-Remaining",
	"X-RateLimit-Reset", "Retry-After", "X-Request-ID", "Mcp-Session-Id",
}

// policy is config.CORS prepared for matching on every request.
type policy struct {
	origins      map[string]bool
	anyOrigin    bool
	credentials  bool
	methods      string
	headers      string
	reflectHdrs  bool
	maxAge       string
	exposeHeader string
}

// Middleware applies c. The caller has validated c (config.CORS.Validate),
// so a wildcard origin never meets credentials here; it is still checked so
// that this package alone cannot emit that combination.
func Middleware(c config.CORS) gin.HandlerFunc {
	p := policy{
		origins:      map[string]bool{},
		credentials:  c.AllowCredentials,
		methods:      strings.Join(c.AllowMethods, ", "),
		headers:      strings.Join(c.AllowHeaders, ", "),
		reflectHdrs:  slices.Contains(c.AllowHeaders, "*"),
		maxAge:       strconv.Itoa(int(c.MaxAge.Seconds())),
		exposeHeader: strings.Join(ExposedHeaders, ", "),
	}
	for _, o := range c.Origins {
		if o == "*" {
			p.anyOrigin = !c.AllowCredentials
			continue
		}
		p.origins[normalize(o)] = true
	}
	return p.handle
}

// normalize makes a configured origin comparable with the Origin header,
// which browsers send lower-case and without a trailing slash.
func normalize(origin string) string {
	return strings.ToLower(strings.TrimSuffix(origin, "/"))
}

func (p policy) handle(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if origin == "" {
		c.Next()
		return
	}
	h := c.Writer.Header()
	// Caches must not serve one origin's answer to another.
	if !p.anyOrigin {
		h.Add("Vary", "Origin")
	}
	allowed := p.anyOrigin || p.origins[normalize(origin)]
	preflight := c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != ""
	if preflight {
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		if allowed {
			p.allowOrigin(h, origin)
			h.Set("Access-Control-Allow-Methods", p.methods)
			allowHeaders := p.headers
			if p.reflectHdrs {
				// "*" is taken literally by browsers on credentialed
				// requests; echoing what was asked works for both.
				allowHeaders = c.GetHeader("Access-Control-Request-Headers")
			}
			if allowHeaders != "" {
				h.Set("Access-Control-Allow-Headers", allowHeaders)
			}
			h.Set("Access-Control-Max-Age", p.maxAge)
		}
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	if allowed {
		p.allowOrigin(h, origin)
		h.Set("Access-Control-Expose-Headers", p.exposeHeader)
	}
	c.Next()
}

func (p policy) allowOrigin(h http.Header, origin string) {
	if p.anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}
