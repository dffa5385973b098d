// Command mcp-svc serves the gateway's MCP layer (/api/mcp): the tool
// catalogue and tool invocation for LLM clients, as the original design's
// REST API and as the real Model Context Protocol (Streamable HTTP), with
// API keys, request signatures, scopes and per-client limits.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/pkg/telemetry"
	"github.com/wfagent/gateway/services/mcp-svc/internal/config"
	"github.com/wfagent/gateway/services/mcp-svc/internal/httpapi"
)

const service = "mcp-svc"

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Environ(), os.Stdout, nil); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		stop()
		os.Exit(1)
	}
}

// run serves until ctx ends, then drains. ln, when given, replaces
// listening on HOST:PORT (tests).
func run(ctx context.Context, environ []string, out io.Writer, ln net.Listener) error {
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

	// Dependencies: key stores, Redis, the App API client and the tools.
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	if d.dbKeys != nil {
		// last_used_at of database keys: batched in the background, flushed
		// once more at shutdown.
		flushed := make(chan struct{})
		go func() {
			defer close(flushed)
			if err := d.dbKeys.Run(ctx); err != nil {
				log.Warn("api key last use not recorded at shutdown", "error", err.Error())
			}
		}()
		defer func() { <-flushed }()
	}

	// HTTP. /readyz has no dependency checks: the node tools answer without
	// app-svc, and the limits fail open without Redis, so the layer stays in
	// rotation and /api/mcp/health reports what is degraded.
	probes := httpx.NewProbes(nil, cfg.HealthCheckTimeout)
	engine, reg, err := httpx.NewEngine(httpx.Options{Service: service, Logger: log, TrustedProxies: cfg.TrustedProxies, Metrics: cfg.MetricsEnabled, Probes: probes})
	if err != nil {
		return err
	}
	deps, err := d.httpDeps(cfg, log, reg)
	if err != nil {
		return err
	}
	deps.Version, deps.Logger = version, log
	httpapi.Register(engine, deps)

	srv := httpx.NewServer(cfg.Addr(), engine)
	return httpx.Serve(ctx, log, srv, ln, httpx.Shutdown{Probes: probes, DrainDelay: cfg.DrainDelay, Grace: cfg.ShutdownTimeout})
}
