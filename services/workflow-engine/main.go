// Command workflow-engine runs workflow executions: it consumes execution
// requests from NATS JetStream (a durable consumer shared by every replica),
// runs each workflow snapshot node by node, and publishes every step as an
// execution event. /healthz, /readyz and /metrics are served on PORT (8084).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/health"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/pkg/telemetry"
	"github.com/wfagent/gateway/services/workflow-engine/internal/config"
	"github.com/wfagent/gateway/services/workflow-engine/internal/executor"
	"github.com/wfagent/gateway/services/workflow-engine/internal/safehttp"
	"github.com/wfagent/gateway/services/workflow-engine/internal/worker"
)

const service = "workflow-engine"

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

// run works until ctx ends, then stops taking requests, lets running
// executions finish (or hands them back) and drains the probe server.
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
	if cfg.InstanceID == "" {
		cfg.InstanceID = instanceID()
	}
	log.LogAttrs(ctx, slog.LevelInfo, "starting", append([]slog.Attr{slog.String("service", service), slog.String("version", version)}, pkgconfig.LogAttrs(cfg)...)...)
	stopTracing, err := telemetry.Setup(ctx, service, version, cfg.OTLPEndpoint, cfg.OTLPInsecure)
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.Background()) }()

	// NATS: keeps reconnecting; /readyz says whether it is there.
	nc, err := nats.Connect(cfg.NATSURL, nats.Name(service+" "+cfg.InstanceID),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second))
	if err != nil {
		return fmt.Errorf("NATS_URL: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}

	// Probes and metrics, served from the start so a slow NATS shows.
	var consuming atomic.Bool
	probes := httpx.NewProbes(map[string]health.Check{
		"nats": health.NATS(nc),
		"consumer": func(context.Context) error {
			if !consuming.Load() {
				return errors.New("not consuming execution requests yet")
			}
			return nil
		},
	}, 2*time.Second)
	engine, reg, err := httpx.NewEngine(httpx.Options{Service: service, Logger: log, TrustedProxies: cfg.TrustedProxies, Metrics: cfg.MetricsEnabled, Probes: probes})
	if err != nil {
		return err
	}
	metrics, err := worker.NewMetrics(reg)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() {
		srv := httpx.NewServer(cfg.Addr(), engine)
		served <- httpx.Serve(ctx, log, srv, nil, httpx.Shutdown{Probes: probes, DrainDelay: cfg.DrainDelay, Grace: cfg.ShutdownTimeout})
	}()

	// The executions contract and the worker.
	bus, err := openBus(ctx, log, js, cfg.Events)
	if err != nil {
		if ctx.Err() != nil { // stopped while waiting: not a failure
			return <-served
		}
		return errors.Join(err, <-served)
	}
	nodeHTTP, err := safehttp.NewClient(safehttp.Options{Allow: cfg.HTTPAllow})
	if err != nil {
		return err
	}
	sealer, err := cfg.Sealer()
	if err != nil {
		return err
	}
	if sealer == nil {
		log.Warn("ENCRYPTION_KEY is not set: nodes with (sealed) credentials will fail")
	}
	runner := executor.New(executor.Options{
		BranchConcurrency: cfg.BranchConcurrency, Timeout: cfg.ExecutionTimeout, MaxOutputBytes: cfg.MaxOutputBytes,
		HTTP: nodeHTTP, MaxResponseBytes: cfg.HTTPMaxResponseBytes,
		LLM:    executor.LLMConfig{BaseURL: cfg.LLMBaseURL, APIKey: cfg.LLMAPIKey, Model: cfg.LLMModel, Timeout: cfg.LLMTimeout, Client: &http.Client{}},
		Sealer: sealer,
	})
	w, err := worker.New(ctx, worker.Options{
		Bus: bus, Runner: runner, Logger: log, Metrics: metrics,
		Consumer: cfg.Consumer, ClaimBucket: cfg.ClaimBucket, Concurrency: cfg.Concurrency,
		AckWait: cfg.AckWait, MaxDeliver: cfg.MaxDeliver, MaxAttempts: cfg.MaxAttempts,
		Grace: workGrace(cfg.ShutdownTimeout), InstanceID: cfg.InstanceID,
	})
	if err != nil {
		return errors.Join(err, <-served)
	}
	consuming.Store(true)
	log.Info("consuming execution requests", "stream", cfg.Events.Stream, "consumer", cfg.Consumer, "concurrency", cfg.Concurrency)
	werr := w.Run(ctx)
	return errors.Join(werr, <-served)
}

// openBus retries until NATS answers or ctx ends: the engine may start
// before NATS does.
func openBus(ctx context.Context, log *slog.Logger, js jetstream.JetStream, cfg events.Config) (*events.Bus, error) {
	for wait := time.Second; ; wait = min(2*wait, 15*time.Second) {
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		bus, err := events.Open(octx, js, cfg)
		cancel()
		if err == nil {
			return bus, nil
		}
		log.Warn("waiting for NATS JetStream", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("NATS JetStream never became available: %w", err)
		case <-time.After(wait):
		}
	}
}

// workGrace leaves the probe server and the process a margin inside
// SHUTDOWN_TIMEOUT after running executions had their time.
func workGrace(shutdown time.Duration) time.Duration {
	return max(shutdown-3*time.Second, shutdown/2)
}

func instanceID() string {
	host, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}
