// Package httpapi is public-svc's HTTP transport: the /api/public routes
// (health, status, info, the OpenAPI document and its reference page, the
// public metrics summary), one file per resource. Handlers return errors;
// httpx's middleware renders them in the shared JSON shape.
package httpapi

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/services/public-svc/internal/edgemetrics"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

// Prefix is the public layer's path prefix at the edge and here.
const Prefix = "/api/public"

// HealthReporter produces the (cached) dependency health report.
type HealthReporter interface {
	Report(ctx context.Context) (monitor.Report, error)
}

// RequestCounter tells how many requests the edge has seen per layer.
type RequestCounter interface {
	Counts(ctx context.Context) (edgemetrics.Counts, error)
}

// Deps are what the handlers need.
type Deps struct {
	Version     string
	Environment string
	Layers      config.Layers
	Started     time.Time // process start, for uptime

	Health   HealthReporter
	Requests RequestCounter

	HealthEnabled    bool // HEALTH_CHECK_ENABLED
	DocsEnabled      bool // DOCS_ENABLED
	MetricsEnabled   bool // METRICS_ENABLED
	RateLimitEnabled bool // PUBLIC_RATE_LIMIT_ENABLED, reported by /info

	// Limiter, when set, runs before every /api/public handler (and not
	// before /healthz, /readyz or /metrics): the seam for per-IP rate limits.
	Limiter gin.HandlerFunc
}

type handlers struct{ Deps }

// Register mounts the public routes on r.
func Register(r gin.IRouter, d Deps) {
	h := &handlers{d}
	g := r.Group(Prefix)
	if d.Limiter != nil {
		g.Use(d.Limiter)
	}
	g.GET("/health", httpx.Handle(h.health))
	g.GET("/status", httpx.Handle(h.status))
	g.GET("/info", httpx.Handle(h.info))
	g.GET("/openapi.json", httpx.Handle(h.openAPI))
	g.GET("/docs", httpx.Handle(h.docsPage))
	g.GET("/docs/:asset", httpx.Handle(h.docsAsset))
	g.GET("/metrics", httpx.Handle(h.metrics))
}

// rfc3339 is how every timestamp of this layer is written.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// uptime is whole seconds since Started.
func (h *handlers) uptime() int64 { return int64(time.Since(h.Started).Seconds()) }
