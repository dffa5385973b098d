// Command workflow-agent is the reference Workflow Agent: the gRPC service
// app-svc calls once per chat turn. A deterministic planner asks
// clarification questions and drafts workflows from the node catalogue; with
// LLM_BASE_URL set an OpenAI-compatible model answers first. Probes and
// metrics are served over HTTP on ADMIN_PORT.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	"github.com/wfagent/gateway/services/workflow-agent/internal/agent"
	"github.com/wfagent/gateway/services/workflow-agent/internal/config"
	"github.com/wfagent/gateway/services/workflow-agent/internal/grpcapi"
	"github.com/wfagent/gateway/services/workflow-agent/internal/llm"
)

const service = "workflow-agent"

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

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
	// Configuration and logging.
	cfg, err := config.Load(pkgconfig.WithEnviron(environ))
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log, err := logx.New(out, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	log = log.With("service", service)
	log.LogAttrs(ctx, slog.LevelInfo, "starting", append([]slog.Attr{slog.String("version", version)}, pkgconfig.LogAttrs(cfg)...)...)

	stopTracing, err := telemetry.Setup(ctx, service, version, cfg.OTLPEndpoint, cfg.OTLPInsecure)
	if err != nil {
		return err
	}
	defer flushTraces(log, stopTracing)

	// The agent: the planner, and the language model when configured.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := agent.NewMetrics(reg)
	if err != nil {
		return err
	}
	opts := []agent.Option{agent.WithLogger(log), agent.WithMetrics(metrics), agent.WithResponseDelay(cfg.ResponseDelay)}
	if cfg.LLMEnabled() {
		opts = append(opts, agent.WithDrafter(llm.New(cfg.LLMBaseURL, cfg.LLMAPIKey, cfg.LLMModel, llm.WithTimeout(cfg.LLMTimeout))))
	}
	a := agent.New(opts...)

	// Servers: gRPC for the agent, HTTP for probes and metrics.
	grpcSrv, err := grpcapi.New(a, log, reg)
	if err != nil {
		return err
	}
	probes := httpx.NewProbes(nil, time.Second)
	admin, _, err := httpx.NewEngine(httpx.Options{Service: service, Logger: log, Registry: reg, Metrics: cfg.MetricsEnabled, Probes: probes})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr(), err)
	}
	sd := httpx.Shutdown{Probes: probes, DrainDelay: cfg.DrainDelay, Grace: cfg.ShutdownTimeout}

	// One server down takes the process down; both drain on the way out.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var grpcErr, adminErr error
	wg.Go(func() {
		grpcErr = grpcSrv.Serve(ctx, ln, sd)
		cancel()
	})
	wg.Go(func() {
		adminErr = httpx.Serve(ctx, log, httpx.NewServer(cfg.AdminAddr(), admin), nil, sd)
		cancel()
	})
	wg.Wait()
	return errors.Join(grpcErr, adminErr)
}

func flushTraces(log *slog.Logger, stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warn("flushing traces", "error", err)
	}
}
