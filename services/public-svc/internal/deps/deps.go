// Package deps opens public-svc's connections to the platform's
// dependencies, lazily, so the service starts (and reports them down)
// while PostgreSQL, Redis, NATS or the Workflow Agent are unreachable, and
// turns them into health checks.
package deps

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/health"
	svcconfig "github.com/wfagent/gateway/services/public-svc/internal/config"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

// Deps holds the clients. Each is only used to ask "are you there?", so
// the pools are tiny.
type Deps struct {
	DB    *pgxpool.Pool
	Redis *redis.Client
	NATS  *nats.Conn
	Agent *grpc.ClientConn
	HTTP  *http.Client
	cfg   svcconfig.Config
}

// Open creates the clients without waiting for any server: pgxpool and
// go-redis dial on first use, grpc.NewClient is lazy, and NATS retries a
// failed first connect in the background. Only malformed settings fail.
func Open(cfg svcconfig.Config, log *slog.Logger) (*Deps, error) {
	d := &Deps{cfg: cfg}
	var err error
	if d.DB, err = openPostgres(cfg); err != nil {
		return nil, err
	}
	if d.Redis, err = openRedis(cfg); err != nil {
		d.Close()
		return nil, err
	}
	if d.NATS, err = openNATS(cfg, log); err != nil {
		d.Close()
		return nil, err
	}
	if d.Agent, err = openAgent(cfg); err != nil {
		d.Close()
		return nil, err
	}
	// Internal calls never go through an HTTP proxy from the environment.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConnsPerHost = 4
	d.HTTP = &http.Client{Transport: tr}
	return d, nil
}

func openPostgres(cfg svcconfig.Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		// pgx errors may quote the URL; name the variable only.
		return nil, fmt.Errorf("DATABASE_URL: cannot parse (%s)", config.MaskURL(cfg.DatabaseURL))
	}
	pc.MaxConns = 2
	pc.MinConns = 0
	pc.ConnConfig.ConnectTimeout = cfg.HealthCheckTimeout
	return pgxpool.NewWithConfig(context.Background(), pc)
}

func openRedis(cfg svcconfig.Config) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// A health ping must answer within the check timeout: no command
	// retries and one dial attempt.
	opts.MaxRetries, opts.DialerRetries = -1, 1
	opts.DialTimeout = cfg.HealthCheckTimeout
	opts.PoolSize = 2
	return redis.NewClient(opts), nil
}

func openNATS(cfg svcconfig.Config, log *slog.Logger) (*nats.Conn, error) {
	nc, err := nats.Connect(cfg.NATSURL,
		nats.Name("public-svc"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(2*time.Second),
		nats.Timeout(cfg.HealthCheckTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats connected", "server", nc.ConnectedServerId()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("NATS_URL: %w", err)
	}
	return nc, nil
}

func openAgent(cfg svcconfig.Config) (*grpc.ClientConn, error) {
	// The default reconnect backoff grows to two minutes; capped lower so
	// the health report notices a recovered agent within seconds.
	bc := backoff.DefaultConfig
	bc.MaxDelay = 5 * time.Second
	cc, err := grpc.NewClient(cfg.WorkflowServiceAddr(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: cfg.HealthCheckTimeout}),
	)
	if err != nil {
		return nil, fmt.Errorf("WORKFLOW_SERVICE_HOST/PORT: %w", err)
	}
	return cc, nil
}

// Checks returns the checks to run and the names reported false without
// running because their layer is switched off. public_api is this service:
// when it answers, the public layer is up.
func (d *Deps) Checks() (run map[string]health.Check, disabled []string) {
	run = map[string]health.Check{
		monitor.Database: health.PostgreSQL(d.DB),
		monitor.Redis:    health.Redis(d.Redis),
		monitor.NATS:     health.NATS(d.NATS),
		monitor.GRPC:     health.GRPC(d.Agent, ""),
	}
	layers := []struct {
		name    string
		enabled bool
		check   health.Check
	}{
		{monitor.PublicAPI, d.cfg.PublicEnabled, func(context.Context) error { return nil }},
		{monitor.AppAPI, d.cfg.AppEnabled, health.HTTP(d.HTTP, healthz(d.cfg.AppSvcURL))},
		{monitor.MCPAPI, d.cfg.MCPEnabled, health.HTTP(d.HTTP, healthz(d.cfg.MCPSvcURL))},
	}
	for _, l := range layers {
		if l.enabled {
			run[l.name] = l.check
		} else {
			disabled = append(disabled, l.name)
		}
	}
	return run, disabled
}

func healthz(base string) string { return strings.TrimRight(base, "/") + "/healthz" }

// Close releases every client that was opened.
func (d *Deps) Close() {
	if d.DB != nil {
		d.DB.Close()
	}
	if d.Redis != nil {
		_ = d.Redis.Close()
	}
	if d.NATS != nil {
		d.NATS.Close()
	}
	if d.Agent != nil {
		_ = d.Agent.Close()
	}
}
