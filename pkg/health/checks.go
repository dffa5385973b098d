package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Pinger is what PostgreSQL's check needs: *pgxpool.Pool and *pgx.Conn have it.
// The pool is not imported here so that callers may pass any driver's handle.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PostgreSQL pings the database. A pgxpool.Pool acquires (and, when idle,
// dials) a connection under ctx, so an outage shows as an error or timeout.
func PostgreSQL(db Pinger) Check {
	return func(ctx context.Context) error {
		if db == nil {
			return errors.New("postgresql: not configured")
		}
		if err := db.Ping(ctx); err != nil {
			return fmt.Errorf("postgresql: %w", err)
		}
		return nil
	}
}

// RedisPinger is the part of a go-redis client (single, cluster, ring or
// universal) that the check needs.
type RedisPinger interface {
	Ping(ctx context.Context) *redis.StatusCmd
}

// Redis sends PING and wants PONG.
func Redis(c RedisPinger) Check {
	return func(ctx context.Context) error {
		if c == nil {
			return errors.New("redis: not configured")
		}
		if err := c.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		return nil
	}
}

// natsFlushTimeout bounds the round trip when the caller's context has no
// deadline, because nats.go refuses to flush without one.
const natsFlushTimeout = 2 * time.Second

// NATS wants the connection up and a PING/PONG round trip to succeed: a
// connection that still says CONNECTED while the server has gone silent
// fails the flush.
func NATS(nc *nats.Conn) Check {
	return func(ctx context.Context) error {
		if nc == nil {
			return errors.New("nats: not configured")
		}
		if !nc.IsConnected() {
			return fmt.Errorf("nats: connection %s", nc.Status())
		}
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, natsFlushTimeout)
			defer cancel()
		}
		if err := nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("nats: flush: %w", err)
		}
		return nil
	}
}

// GRPC asks a server's grpc.health.v1 service about service ("" is the
// server as a whole) and wants SERVING. With a lazily created client
// (grpc.NewClient) the first call dials, and a refused dial fails the call
// at once rather than waiting for the deadline.
func GRPC(cc grpc.ClientConnInterface, service string) Check {
	return func(ctx context.Context) error {
		if cc == nil {
			return errors.New("grpc: not configured")
		}
		resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			return fmt.Errorf("grpc health: %w", err)
		}
		if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("grpc health: status %s", s)
		}
		return nil
	}
}

// HTTP wants a 2xx from GET url, such as another service's /healthz.
func HTTP(client *http.Client, url string) Check {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("http %s: %w", url, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("http: %w", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("http %s: status %d", url, resp.StatusCode)
		}
		return nil
	}
}
