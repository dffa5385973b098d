// Command edge is the gateway's front door: it routes /api/public, /api/app
// and /api/mcp to their services and owns CORS, request ids, access logs,
// body limits and upstream errors. Probes and metrics are on ADMIN_PORT.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/pkg/telemetry"
	"github.com/wfagent/gateway/services/edge/internal/config"
	"github.com/wfagent/gateway/services/edge/internal/proxy"
	"github.com/wfagent/gateway/services/edge/internal/router"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	cfg, err := config.Load()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}

	log, err := logx.New(out, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	log = log.With("service", "edge")
	log.LogAttrs(ctx, slog.LevelInfo, "starting",
		append([]slog.Attr{slog.String("version", version)}, pkgconfig.LogAttrs(cfg)...)...)

	stopTracing, err := telemetry.Setup(ctx, "edge", version, cfg.OTLPEndpoint, cfg.OTLPInsecure)
	if err != nil {
		return err
	}
	defer flushTraces(log, stopTracing)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	streams := proxy.NewStreams()
	public, err := router.Public(cfg, log, reg, streams)
	if err != nil {
		return err
	}
	probes := httpx.NewProbes(nil, time.Second)
	admin, err := router.Admin(probes, reg, cfg.MetricsEnabled, log)
	if err != nil {
		return err
	}

	publicSrv := httpx.NewServer(cfg.Addr(), public)
	publicSrv.RegisterOnShutdown(streams.CloseAll)
	adminSrv := httpx.NewServer(cfg.AdminAddr(), admin)
	return serve(ctx, log, httpx.Shutdown{Probes: probes, DrainDelay: cfg.DrainDelay, Grace: cfg.ShutdownTimeout},
		publicSrv, adminSrv)
}

// serve runs every server until ctx ends or one of them fails, then drains
// them all.
func serve(ctx context.Context, log *slog.Logger, sd httpx.Shutdown, servers ...*http.Server) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Go(func() {
			errs[i] = httpx.Serve(ctx, log, srv, nil, sd)
			cancel() // one listener down takes the process down
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func flushTraces(log *slog.Logger, stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warn("flushing traces", "error", err)
	}
}
