package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/auth/pgkeys"
	"github.com/wfagent/gateway/pkg/health"
	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/services/mcp-svc/internal/appclient"
	"github.com/wfagent/gateway/services/mcp-svc/internal/config"
	"github.com/wfagent/gateway/services/mcp-svc/internal/httpapi"
	"github.com/wfagent/gateway/services/mcp-svc/internal/keys"
	"github.com/wfagent/gateway/services/mcp-svc/internal/tools"
)

// dbLookupTimeout bounds one database key lookup (the key cache makes
// lookups rare: one per key per MCP_API_KEY_CACHE_TTL).
const dbLookupTimeout = 2 * time.Second

// deps are the service's dependencies, opened once. Nothing here dials at
// startup: Redis and app-svc are reached on first use, so an outage shows
// in /api/mcp/health instead of stopping the service.
type deps struct {
	pool       *pgxpool.Pool // nil without DATABASE_URL
	dbKeys     *pgkeys.Store // nil without DATABASE_URL
	keys       *auth.APIKeyAuth
	signatures *auth.SignatureVerifier
	rdb        *redis.Client // nil with RATE_LIMIT_STORAGE=memory
	limiter    ratelimit.Limiter
	registry   *tools.Registry
	checks     map[string]health.Check
}

func openDeps(ctx context.Context, cfg config.Config, log *slog.Logger) (*deps, error) {
	prod := cfg.IsProduction()
	d := &deps{checks: map[string]health.Check{}}

	// API keys: MCP_API_KEYS first, then the database when DATABASE_URL is
	// set (the keys users create in the App API).
	envKeys, err := auth.NewEnvKeyStore(cfg.Keys.Keys, prod)
	if err != nil {
		return nil, err
	}
	stores := keys.MultiStore{envKeys}
	if cfg.DatabaseURL != "" {
		if d.pool, err = pgxpool.New(ctx, cfg.DatabaseURL); err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		d.dbKeys = pgkeys.New(d.pool, pgkeys.Options{Logger: log})
		stores = append(stores, keys.Bounded(d.dbKeys, dbLookupTimeout))
		d.checks["database"] = health.PostgreSQL(d.pool)
	}
	log.Info("api keys", "env_keys", envKeys.Len(), "database_keys", d.dbKeys != nil, "required", cfg.Keys.Required)
	d.keys = auth.NewAPIKeyAuth(stores, auth.APIKeyOptionsFrom(cfg.Keys, prod, log))

	// Redis: the shared limiter and the replay guard of signatures.
	if cfg.RateLimit.Storage == ratelimit.StorageRedis {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		// Every call is bounded by its context (limit checks, replay
		// guard); retrying inside that bound only hides an outage.
		opts.ContextTimeoutEnabled = true
		opts.MaxRetries = -1
		d.rdb = redis.NewClient(opts)
		d.checks["redis"] = health.Redis(d.rdb)
	}
	if d.limiter, err = cfg.RateLimit.Open(d.rdb); err != nil {
		d.Close()
		return nil, err
	}

	if cfg.Keys.SignatureSecret != "" {
		var guard auth.ReplayGuard = auth.NewMemoryReplayGuard()
		if d.rdb != nil {
			guard = auth.NewRedisReplayGuard(d.rdb, cfg.RateLimit.KeyPrefix+"mcp:replay:")
		}
		d.signatures, err = auth.NewSignatureVerifier(cfg.Keys.SignatureSecret, guard, auth.SignatureOptions{
			Window: cfg.Keys.SignatureWindow, Required: cfg.Keys.SignatureRequired, Logger: log,
		})
		if err != nil {
			d.Close()
			return nil, err
		}
	}

	// The workflow tools act for a key's owner with internal tokens; without
	// JWT_SECRET_KEY only the node tools exist.
	var api tools.WorkflowAPI
	if cfg.WorkflowToolsEnabled() {
		tokens, err := auth.NewInternalTokens(cfg.Auth)
		if err != nil {
			d.Close()
			return nil, err
		}
		client, err := appclient.New(cfg.AppSvcURL, tokens, cfg.AppSvcTimeout)
		if err != nil {
			d.Close()
			return nil, err
		}
		api = client
		d.checks["app_api"] = health.HTTP(&http.Client{}, strings.TrimRight(cfg.AppSvcURL, "/")+"/healthz")
	} else {
		log.Warn("JWT_SECRET_KEY is not set: the workflow tools are off, only the node tools are served")
	}
	if d.registry, err = tools.New(api, log); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// httpDeps assembles the transport's dependencies; the limiter's metrics go
// to the engine's registry.
func (d *deps) httpDeps(cfg config.Config, log *slog.Logger, reg prometheus.Registerer) (httpapi.Deps, error) {
	table, err := cfg.RateLimit.Table(ratelimit.MCP)
	if err != nil {
		return httpapi.Deps{}, err
	}
	tiers, err := cfg.RateLimit.TierMultipliers()
	if err != nil {
		return httpapi.Deps{}, err
	}
	m, err := ratelimit.NewMetrics(reg)
	if err != nil {
		return httpapi.Deps{}, fmt.Errorf("rate-limit metrics: %w", err)
	}
	return httpapi.Deps{
		Registry: d.registry, Keys: d.keys, KeysRequired: cfg.Keys.Required, Signatures: d.signatures,
		Limiter: d.limiter, Table: table, Tiers: tiers, LimitOptions: cfg.RateLimit.Options(log, m),
		Origins: cfg.CORS.Origins, Checks: d.checks, CheckTimeout: cfg.HealthCheckTimeout,
	}, nil
}

// Close releases the Redis client and the database pool.
func (d *deps) Close() {
	if d.rdb != nil {
		_ = d.rdb.Close()
	}
	if d.pool != nil {
		d.pool.Close()
	}
}
