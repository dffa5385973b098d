// Package router assembles the edge's two gin engines: the public one that
// routes /api/{public,app,mcp}/… to the three services behind CORS, body
// limits and the layer switches, and the admin one with probes and metrics.
package router

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/services/edge/internal/config"
	"github.com/wfagent/gateway/services/edge/internal/cors"
	"github.com/wfagent/gateway/services/edge/internal/metrics"
	"github.com/wfagent/gateway/services/edge/internal/proxy"
)

// proxiedMethods are the methods forwarded; CONNECT and TRACE get 405.
var proxiedMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// Public builds the engine of the public listener. Proxied event streams
// are registered on streams so shutdown can end them.
func Public(cfg config.Config, log *slog.Logger, reg *prometheus.Registry, streams *proxy.Streams) (*gin.Engine, error) {
	trusted, err := proxy.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	m, err := metrics.New(reg)
	if err != nil {
		return nil, err
	}
	e, _, err := httpx.NewEngine(httpx.Options{Service: "edge", Logger: log, TrustedProxies: cfg.TrustedProxies, Registry: reg})
	if err != nil {
		return nil, err
	}
	// An API answers an unknown path with 404 JSON, not a redirect.
	e.RedirectTrailingSlash = false
	e.Use(cors.Middleware(cfg.CORS))

	transport := proxy.NewTransport(cfg.UpstreamDialTimeout, cfg.UpstreamTimeout)
	upstreams := cfg.Upstreams()
	for _, l := range []struct {
		name    string
		enabled bool
	}{
		{metrics.Public, cfg.PublicEnabled},
		{metrics.App, cfg.AppEnabled},
		{metrics.MCP, cfg.MCPEnabled},
	} {
		handlers := []gin.HandlerFunc{countRequests(m, l.name)}
		if l.enabled {
			p := proxy.New(l.name, upstreams[l.name], transport, log,
				proxy.WithTrustedProxies(trusted),
				proxy.WithStreams(streams),
				proxy.WithLatency(m.Upstream.WithLabelValues(l.name)))
			handlers = append(handlers, rejectDotSegments(log), limitBody(cfg.MaxRequestBodyBytes, log), gin.WrapH(p))
		} else {
			handlers = append(handlers, layerDisabled(l.name, log))
		}
		for _, path := range []string{"/api/" + l.name, "/api/" + l.name + "/*path"} {
			for _, method := range proxiedMethods {
				e.Handle(method, path, handlers...)
			}
		}
	}
	return e, nil
}

// Admin builds the engine of the admin listener: /healthz, /readyz and,
// when metricsOn, /metrics for everything in reg. Readiness checks no
// upstream: one service down must not take the whole edge out of the load
// balancer; its layer answers 502 instead.
func Admin(probes *httpx.Probes, reg *prometheus.Registry, metricsOn bool, log *slog.Logger) (*gin.Engine, error) {
	// The admin engine's own request metrics go to a registry nobody
	// scrapes: on reg they would collide with the public engine's.
	e, _, err := httpx.NewEngine(httpx.Options{Service: "edge-admin", Logger: log, Registry: prometheus.NewRegistry(), Probes: probes})
	if err != nil {
		return nil, err
	}
	if metricsOn {
		e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	}
	return e, nil
}
