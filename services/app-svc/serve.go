package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/auth"
	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/health"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/pkg/secrets"
	"github.com/wfagent/gateway/pkg/telemetry"
	"github.com/wfagent/gateway/services/app-svc/internal/config"
	"github.com/wfagent/gateway/services/app-svc/internal/httpapi"
	"github.com/wfagent/gateway/services/app-svc/internal/store"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

// readinessTimeout bounds the database ping of /readyz.
const readinessTimeout = time.Second

// serve runs the API until ctx ends, then drains.
func serve(ctx context.Context, cfg config.Config, out io.Writer) error {
	// Configuration and logging.
	log, err := logx.New(out, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	log.LogAttrs(ctx, slog.LevelInfo, "starting", append([]slog.Attr{slog.String("service", service), slog.String("version", version)}, pkgconfig.LogAttrs(cfg)...)...)
	key, err := cfg.EncryptionKeyBytes()
	if err != nil {
		return err
	}
	sealer, err := secrets.NewSealer(key)
	if err != nil {
		return err
	}
	stopTracing, err := telemetry.Setup(ctx, service, version, cfg.OTLPEndpoint, cfg.OTLPInsecure)
	if err != nil {
		return err
	}
	defer func() { _ = stopTracing(context.Background()) }()

	// Dependencies: the database (migrated first when configured), Redis
	// for the limits and the remote token check's cache.
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Pool().Close()
	if cfg.MigrateAtStart() {
		applied, err := store.Migrate(ctx, st.Pool())
		if err != nil {
			return err
		}
		log.Info("migrations", "applied", applied)
	}
	var rdb *redis.Client
	if cfg.RateLimit.Storage == ratelimit.StorageRedis || cfg.Auth.RemoteVerify || cfg.Auth.RequireEmailConfirmed {
		if rdb, err = openRedis(cfg.RedisURL); err != nil {
			return err
		}
		defer func() { _ = rdb.Close() }()
	}
	verifierOpts := []auth.Option{auth.WithLogger(log)}
	if rdb != nil {
		verifierOpts = append(verifierOpts, auth.WithRedis(rdb))
	}
	verifier, err := auth.NewVerifier(ctx, cfg.Auth, verifierOpts...)
	if err != nil {
		return err
	}

	// HTTP.
	probes := httpx.NewProbes(map[string]health.Check{"database": health.PostgreSQL(st.Pool())}, readinessTimeout)
	engine, reg, err := httpx.NewEngine(httpx.Options{Service: service, Logger: log, TrustedProxies: cfg.TrustedProxies, Metrics: cfg.MetricsEnabled, Probes: probes})
	if err != nil {
		return err
	}
	limit, err := perUserLimits(cfg, rdb, log, reg)
	if err != nil {
		return err
	}
	chat, closeChat, err := openChat(cfg, st, probes, log)
	if err != nil {
		return err
	}
	defer closeChat()
	execs, closeExecs, err := openExecutions(cfg, st, probes, log)
	if err != nil {
		return err
	}
	defer closeExecs()
	httpapi.Register(engine, httpapi.Deps{
		DB: st, Codec: workflows.NewCodec(sealer),
		Auth: verifier.Middleware(), Limit: limit,
		MaxBodyBytes: cfg.MaxRequestBodyBytes, Chat: chat,
		Mount: []func(gin.IRouter){execs.Mount},
	})

	srv := httpx.NewServer(cfg.Addr(), engine)
	return httpx.Serve(ctx, log, srv, nil, httpx.Shutdown{Probes: probes, DrainDelay: cfg.DrainDelay, Grace: cfg.ShutdownTimeout})
}

// perUserLimits is the App table keyed by the verified user.
func perUserLimits(cfg config.Config, rdb redis.UniversalClient, log *slog.Logger, reg prometheus.Registerer) (gin.HandlerFunc, error) {
	table, err := cfg.RateLimit.Table(ratelimit.App)
	if err != nil {
		return nil, err
	}
	lim, err := cfg.RateLimit.Open(rdb)
	if err != nil {
		return nil, err
	}
	m, err := ratelimit.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("rate-limit metrics: %w", err)
	}
	return ratelimit.Middleware(lim, table, ratelimit.ByUser, cfg.RateLimit.Options(log, m)), nil
}

// openRedis makes the client lazily (it dials on first use), with the
// per-call deadline honoured as ratelimit requires.
func openRedis(redisURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	return redis.NewClient(opts), nil
}
