// Command public-svc serves the gateway's public layer (/api/public):
// aggregated health, status, info, the OpenAPI document with its reference
// page, and a public metrics summary. No authentication; per-IP limits.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/pkg/telemetry"
	"github.com/wfagent/gateway/services/public-svc/internal/config"
	"github.com/wfagent/gateway/services/public-svc/internal/deps"
	"github.com/wfagent/gateway/services/public-svc/internal/edgemetrics"
	"github.com/wfagent/gateway/services/public-svc/internal/httpapi"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

const service = "public-svc"

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

// edgeMetricsTTL bounds how often the public summary scrapes the edge.
const edgeMetricsTTL = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Environ(), os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		stop()
		os.Exit(1)
	}
}

// run serves until ctx ends, then drains.
func run(ctx context.Context, environ []string, out io.Writer) error {
	started := time.Now()

	// Configuration and logging.
	cfg, err := config.Load(pkgconfig.WithEnviron(environ))
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log, err := logx.New(out, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	log.LogAttrs(ctx, slog.LevelInfo, "starting", append([]slog.Attr{slog.String("service", service), slog.String("version", version)}, pkgconfig.LogAttrs(cfg)...)...)

	stopTracing, err := telemetry.Setup(ctx, service, version, cfg.OTLPEndpoint, cfg.OTLPInsecure)
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.Background()) }()

	// Dependencies: opened lazily, so an outage shows in /health instead
	// of stopping the service that reports it.
	d, err := deps.Open(cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	checks, disabled := d.Checks()
	mon := monitor.New(monitor.Options{Checks: checks, Disabled: disabled, Timeout: cfg.HealthCheckTimeout, TTL: cfg.HealthCacheTTL, Logger: log})
	edge := edgemetrics.New(edgemetrics.Options{URL: cfg.EdgeAdminURL, Client: d.HTTP, Timeout: cfg.HealthCheckTimeout, TTL: edgeMetricsTTL, Logger: log})

	// HTTP. /readyz has no dependency checks: a health service must stay
	// in rotation to report an outage, so readiness only reflects draining.
	probes := httpx.NewProbes(nil, cfg.HealthCheckTimeout)
	engine, reg, err := httpx.NewEngine(httpx.Options{Service: service, Logger: log, TrustedProxies: cfg.TrustedProxies, Metrics: cfg.MetricsEnabled, Probes: probes})
	if err != nil {
		return err
	}
	limiter, closeLimiter, err := perIPLimits(cfg, log, reg)
	if err != nil {
		return err
	}
	defer closeLimiter()
	httpapi.Register(engine, httpapi.Deps{
		Version: version, Environment: cfg.Environment, Layers: cfg.Layers, Started: started,
		Health: mon, Requests: edge,
		HealthEnabled: cfg.HealthEnabled, DocsEnabled: cfg.DocsEnabled, MetricsEnabled: cfg.MetricsEnabled,
		RateLimitEnabled: cfg.PublicRateLimitEnabled, Limiter: limiter,
	})

	srv := httpx.NewServer(cfg.Addr(), engine)
	return httpx.Serve(ctx, log, srv, nil, httpx.Shutdown{Probes: probes, DrainDelay: cfg.DrainDelay, Grace: cfg.ShutdownTimeout})
}
