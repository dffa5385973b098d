// Package httpx is the gin scaffolding every HTTP service shares: request
// ids, access logs, panic recovery, one error-mapping middleware, RED
// metrics by route pattern, /healthz and /readyz probes, and a server that
// drains gracefully.
package httpx

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wfagent/gateway/pkg/apperr"
)

func init() { gin.SetMode(gin.ReleaseMode) }

// Options configures NewEngine.
type Options struct {
	Service string
	Logger  *slog.Logger
	// TrustedProxies are the CIDRs or IPs whose X-Forwarded-For is believed.
	// Empty means none: the client IP is always the TCP peer.
	TrustedProxies []string
	// Registry receives the HTTP metrics; nil creates one with the Go and
	// process collectors. Metrics serves it at /metrics when true.
	Registry *prometheus.Registry
	Metrics  bool
	// Probes serves /healthz and /readyz when set.
	Probes *Probes
}

// NewEngine returns a gin engine with the standard middleware chain:
// trace span → request id → metrics → access log → recovery → error mapping.
func NewEngine(o Options) (*gin.Engine, *prometheus.Registry, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
		o.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(nilIfEmpty(o.TrustedProxies)); err != nil {
		return nil, nil, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	m, err := newMetrics(o.Registry)
	if err != nil {
		return nil, nil, err
	}
	e.Use(Trace(o.Service), RequestID(), m.middleware(), AccessLog(o.Logger), Recovery(o.Logger), Errors(o.Logger))
	e.NoRoute(func(c *gin.Context) {
		_ = c.Error(apperr.New(apperr.NotFound, "not_found", "no route for "+c.Request.Method+" "+c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		_ = c.Error(&apperr.Error{Kind: apperr.InvalidArgument, Code: "method_not_allowed", Message: c.Request.Method + " is not allowed here"})
		c.Status(http.StatusMethodNotAllowed)
	})
	if o.Probes != nil {
		o.Probes.Register(e)
	}
	if o.Metrics {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{Registry: o.Registry})))
	}
	return e, o.Registry, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Handle adapts a handler that returns an error; the Errors middleware
// renders it.
func Handle(fn func(*gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := fn(c); err != nil {
			_ = c.Error(err)
			c.Abort()
		}
	}
}
