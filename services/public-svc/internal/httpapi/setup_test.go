package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/health"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/services/public-svc/internal/config"
	"github.com/wfagent/gateway/services/public-svc/internal/deps"
	"github.com/wfagent/gateway/services/public-svc/internal/edgemetrics"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

// The tests use the real local PostgreSQL, Redis and NATS at their default
// addresses (config defaults), an in-process gRPC health server standing in
// for the Workflow Agent, and httptest servers for app-svc and mcp-svc.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// closedAddr is a loopback host:port nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// agent starts a grpc.health.v1 server reporting SERVING and returns its address.
func agent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := grpchealth.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// layerService answers /healthz like app-svc and mcp-svc do.
func layerService(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte(`{"status":"ok"}`))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// environ points public-svc at the local servers, a fresh agent and fresh
// layer services; overrides come last and win.
func environ(t *testing.T, overrides ...string) []string {
	t.Helper()
	env := []string{
		"LOG_LEVEL=ERROR",
		"WORKFLOW_SERVICE_PORT=" + portOf(t, agent(t)),
		"APP_SVC_URL=" + layerService(t),
		"MCP_SVC_URL=" + layerService(t),
		"HEALTH_CHECK_TIMEOUT=1s",
	}
	return append(env, overrides...)
}

func loadConfig(t *testing.T, environ []string) config.Config {
	t.Helper()
	cfg, err := config.Load(pkgconfig.WithEnviron(environ), pkgconfig.WithDotEnv(""))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type setup struct {
	deps    Deps
	wrap    func(map[string]health.Check) // instruments the checks before the monitor gets them
	limiter gin.HandlerFunc
}

// newRouter wires the service as main does, from configuration to engine.
func newRouter(t *testing.T, cfg config.Config, s setup) *gin.Engine {
	t.Helper()
	d, err := deps.Open(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	checks, disabled := d.Checks()
	if s.wrap != nil {
		s.wrap(checks)
	}
	dd := s.deps
	dd.Version, dd.Environment, dd.Layers, dd.Started = "test", cfg.Environment, cfg.Layers, time.Now().Add(-90*time.Second)
	dd.HealthEnabled, dd.DocsEnabled, dd.MetricsEnabled = cfg.HealthEnabled, cfg.DocsEnabled, cfg.MetricsEnabled
	dd.RateLimitEnabled = cfg.PublicRateLimitEnabled
	if dd.Health == nil {
		dd.Health = monitor.New(monitor.Options{Checks: checks, Disabled: disabled, Timeout: cfg.HealthCheckTimeout, TTL: cfg.HealthCacheTTL, Logger: quiet})
	}
	if dd.Requests == nil {
		dd.Requests = edgemetrics.New(edgemetrics.Options{URL: cfg.EdgeAdminURL, Timeout: time.Second, TTL: time.Second, Logger: quiet})
	}
	dd.Limiter = s.limiter
	engine, _, err := httpx.NewEngine(httpx.Options{Service: "public-svc", Logger: quiet, Metrics: cfg.MetricsEnabled, Probes: httpx.NewProbes(nil, time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	Register(engine, dd)
	return engine
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
