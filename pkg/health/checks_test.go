package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// The local servers of DESIGN §8. A missing one fails the test by name:
// skipping would let CI pass without ever exercising a check.
const (
	localPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	localRedis    = "redis://127.0.0.1:6379/0"
	localNATS     = "nats://127.0.0.1:4222"
)

const checkTimeout = 2 * time.Second

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func postgresAt(t *testing.T, url string) Check {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("pgxpool.New(%s): %v", url, err)
	}
	t.Cleanup(pool.Close)
	return PostgreSQL(pool)
}

func redisAt(t *testing.T, url string) Check {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	// As services configure it: no command retries, so a down server is
	// reported within the check timeout instead of after the backoffs.
	opts.MaxRetries, opts.DialerRetries = -1, 1
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return Redis(c)
}

// natsAt connects the way services do: a server that is down at start is
// retried in the background instead of failing the process.
func natsAt(t *testing.T, url string) Check {
	t.Helper()
	nc, err := nats.Connect(url, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.Timeout(time.Second))
	if err != nil {
		t.Fatalf("nats.Connect(%s): %v", url, err)
	}
	t.Cleanup(nc.Close)
	return NATS(nc)
}

// grpcServer starts an in-process server with grpc/health's service and
// returns its address and the health server to flip statuses on.
func grpcServer(t *testing.T) (string, *grpchealth.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := grpchealth.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), hs
}

func grpcAt(t *testing.T, addr, service string) Check {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", addr, err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return GRPC(cc, service)
}

func TestChecksAgainstRealServers(t *testing.T) {
	grpcAddr, hs := grpcServer(t)
	hs.SetServingStatus("workflowagent.v1.WorkflowAgent", healthpb.HealthCheckResponse_NOT_SERVING)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(web.Close)

	tests := []struct {
		name    string
		server  string // named in the failure so a missing local server is obvious
		check   func(t *testing.T) Check
		wantErr string // "" = must pass
	}{
		{"postgres up", "PostgreSQL at 127.0.0.1:5432 (user postgres, db test)", func(t *testing.T) Check { return postgresAt(t, localPostgres) }, ""},
		{"postgres closed port", "", func(t *testing.T) Check {
			return postgresAt(t, "postgres://postgres@"+closedPort(t)+"/test?sslmode=disable&connect_timeout=1")
		}, "postgresql:"},
		{"redis up", "Redis at 127.0.0.1:6379", func(t *testing.T) Check { return redisAt(t, localRedis) }, ""},
		{"redis closed port", "", func(t *testing.T) Check { return redisAt(t, "redis://"+closedPort(t)+"/0") }, "redis:"},
		{"nats up", "NATS at 127.0.0.1:4222", func(t *testing.T) Check { return natsAt(t, localNATS) }, ""},
		{"nats closed port", "", func(t *testing.T) Check { return natsAt(t, "nats://"+closedPort(t)) }, "nats: connection"},
		{"grpc serving", "in-process gRPC health server", func(t *testing.T) Check { return grpcAt(t, grpcAddr, "") }, ""},
		{"grpc not serving", "", func(t *testing.T) Check { return grpcAt(t, grpcAddr, "workflowagent.v1.WorkflowAgent") }, "NOT_SERVING"},
		{"grpc unknown service", "", func(t *testing.T) Check { return grpcAt(t, grpcAddr, "no.such.Service") }, "NotFound"},
		{"grpc closed port", "", func(t *testing.T) Check { return grpcAt(t, closedPort(t), "") }, "grpc health:"},
		{"http 200", "httptest server", func(t *testing.T) Check { return HTTP(web.Client(), web.URL+"/healthz") }, ""},
		{"http 503", "", func(t *testing.T) Check { return HTTP(web.Client(), web.URL+"/other") }, "status 503"},
		{"http closed port", "", func(t *testing.T) Check { return HTTP(nil, "http://"+closedPort(t)+"/healthz") }, "http:"},
		{"nil handles", "", func(t *testing.T) Check { return PostgreSQL(nil) }, "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := tt.check(t)
			ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
			defer cancel()
			start := time.Now()
			err := check(ctx)
			took := time.Since(start)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("%s must be running for this test: %v", tt.server, err)
			case tt.wantErr != "" && err == nil:
				t.Fatal("check passed against a server that is down or unhealthy")
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
			}
			// A failing check must answer by itself, not by hitting the
			// caller's deadline: health.Run would report a bare timeout.
			if took >= checkTimeout {
				t.Fatalf("check took %s, want under %s", took, checkTimeout)
			}
		})
	}
}

// nats.go refuses to flush without a deadline; the check supplies one so a
// caller outside health.Run need not know.
func TestNATSCheckWithoutDeadline(t *testing.T) {
	check := natsAt(t, localNATS)
	if err := check(context.Background()); err != nil {
		t.Fatalf("NATS at 127.0.0.1:4222 must be running for this test: %v", err)
	}
}

// Run bounds checks by the timeout even when the server is up but slow.
func TestRunWithRealChecks(t *testing.T) {
	addr, _ := grpcServer(t)
	res := Run(context.Background(), map[string]Check{
		"grpc":  grpcAt(t, addr, ""),
		"redis": redisAt(t, "redis://"+closedPort(t)+"/0"),
	}, checkTimeout)
	if !res["grpc"].OK || res["redis"].OK || res["redis"].Error == "" {
		t.Fatalf("results = %+v", res)
	}
}
