// Package deps finds the stack's backing servers before anything starts:
// PostgreSQL must be there; Redis may be missing (the services then limit in
// memory); NATS may be missing (an embedded nats-server with JetStream
// stands in, its data in a temporary folder).
package deps

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
)

// URLs are where the servers are expected.
type URLs struct{ Database, Redis, NATS string }

// Prepare checks each server and returns the environment the services get
// (DATABASE_URL, REDIS_URL, NATS_URL, RATE_LIMIT_STORAGE) and a cleanup.
func Prepare(ctx context.Context, log *slog.Logger, u URLs) (map[string]string, func(), error) {
	env := map[string]string{"DATABASE_URL": u.Database, "REDIS_URL": u.Redis, "NATS_URL": u.NATS}
	cleanup := func() {}

	if err := pingPostgres(ctx, u.Database); err != nil {
		return nil, cleanup, fmt.Errorf("PostgreSQL is not reachable at DATABASE_URL (%v).\n"+
			"  Start the local server:  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"+
			"  or point DATABASE_URL at one (postgres://user@host:5432/db?sslmode=disable)", err)
	}
	log.Info("postgres: reachable")

	if err := pingRedis(ctx, u.Redis); err != nil {
		log.Warn("redis: not reachable, services will rate-limit in memory (single instance only)", "error", err)
		env["RATE_LIMIT_STORAGE"] = "memory"
	} else {
		log.Info("redis: reachable")
	}

	if err := pingNATS(u.NATS); err != nil {
		log.Warn("nats: not reachable, hosting an embedded nats-server with JetStream", "error", err)
		ns, dir, err := startEmbeddedNATS()
		if err != nil {
			return nil, cleanup, fmt.Errorf("embedded nats-server: %w", err)
		}
		env["NATS_URL"] = ns.ClientURL()
		cleanup = func() {
			ns.Shutdown()
			ns.WaitForShutdown()
			_ = os.RemoveAll(dir)
		}
		log.Info("nats: embedded server up", "url", ns.ClientURL())
	} else {
		log.Info("nats: reachable")
	}
	return env, cleanup, nil
}

func pingPostgres(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

func pingRedis(ctx context.Context, rawURL string) error {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.DialTimeout, opts.MaxRetries = time.Second, -1
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

func pingNATS(rawURL string) error {
	nc, err := nats.Connect(rawURL, nats.Timeout(2*time.Second), nats.MaxReconnects(0))
	if err != nil {
		return err
	}
	defer nc.Close()
	return nc.FlushTimeout(2 * time.Second)
}

// startEmbeddedNATS listens on the standard port when it is free (so the
// printed URL is the usual one), else on a free port.
func startEmbeddedNATS() (*server.Server, string, error) {
	dir, err := os.MkdirTemp("", "devstack-nats-")
	if err != nil {
		return nil, "", err
	}
	port := 4222
	if l, err := net.Listen("tcp", "127.0.0.1:4222"); err != nil {
		port = server.RANDOM_PORT
	} else {
		_ = l.Close()
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		return nil, dir, err
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, dir, fmt.Errorf("not ready after 10s")
	}
	if _, err := url.Parse(ns.ClientURL()); err != nil {
		return nil, dir, err
	}
	return ns, dir, nil
}
