package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Storage backends.
const (
	StorageRedis  = "redis"
	StorageMemory = "memory"
)

// Config is the limiter's environment configuration; services embed it.
//
// RATE_LIMITS overrides or adds policies, comma-separated:
//
//	public.health=200/minute            change a default policy
//	app.global=20000/hour               change a layer's global limit
//	mcp.tools=off                       switch a policy off
//	app.reports@/reports|/exports=50/hour   add a policy on route patterns
//
// Periods: second, minute, hour, day (or s, m, h, d) or a Go duration such
// as 15m. Route patterns are relative to the layer prefix (/api/public,
// /api/app, /api/mcp); "*" matches one segment and a pattern also covers
// the routes below it.
//
// RATE_LIMIT_TIERS maps an API key's rate_limit_tier to the multiplier of
// the MCP limits; unknown tiers get 1.
type Config struct {
	Storage string `env:"RATE_LIMIT_STORAGE" envDefault:"redis"`
	// FailClosed answers 503 rate_limiter_unavailable when the store does
	// not answer in time; the default lets the request through.
	FailClosed   bool          `env:"RATE_LIMIT_FAIL_CLOSED"`
	CheckTimeout time.Duration `env:"RATE_LIMIT_CHECK_TIMEOUT" envDefault:"50ms"`
	Overrides    string        `env:"RATE_LIMITS"`
	Tiers        string        `env:"RATE_LIMIT_TIERS" envDefault:"basic=0.5,standard=1,premium=5,enterprise=20"`
	KeyPrefix    string        `env:"RATE_LIMIT_KEY_PREFIX" envDefault:"rl:"`
}

// Validate checks every setting, so Table and TierMultipliers cannot fail
// after a successful config.Load.
func (c Config) Validate() error {
	var errs []error
	if c.Storage != StorageRedis && c.Storage != StorageMemory {
		errs = append(errs, fmt.Errorf("RATE_LIMIT_STORAGE=%q: want redis or memory", c.Storage))
	}
	if c.CheckTimeout <= 0 || c.CheckTimeout > time.Second {
		errs = append(errs, fmt.Errorf("RATE_LIMIT_CHECK_TIMEOUT=%s: want (0, 1s]", c.CheckTimeout))
	}
	for _, l := range []Layer{Public, App, MCP} {
		if _, err := c.Table(l); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if _, err := c.TierMultipliers(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Table is the layer's default table with RATE_LIMITS applied.
func (c Config) Table(layer Layer) (Table, error) {
	return DefaultTable(layer).ApplyOverrides(c.Overrides)
}

// TierMultipliers parses RATE_LIMIT_TIERS.
func (c Config) TierMultipliers() (map[string]float64, error) {
	out := map[string]float64{}
	for _, entry := range strings.Split(c.Tiers, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, v, ok := strings.Cut(entry, "=")
		m, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || m <= 0 {
			return nil, fmt.Errorf("RATE_LIMIT_TIERS entry %q: want tier=multiplier (> 0)", entry)
		}
		out[strings.TrimSpace(name)] = m
	}
	return out, nil
}

// Open returns the limiter RATE_LIMIT_STORAGE names; rdb is needed for redis.
func (c Config) Open(rdb redis.UniversalClient) (Limiter, error) {
	if c.Storage == StorageMemory {
		return NewMemory(), nil
	}
	if rdb == nil {
		return nil, errors.New("ratelimit: RATE_LIMIT_STORAGE=redis needs a Redis client (REDIS_URL)")
	}
	return NewRedis(rdb, c.KeyPrefix)
}

// Options maps the configuration onto middleware options.
func (c Config) Options(log *slog.Logger, m *Metrics) Options {
	return Options{FailClosed: c.FailClosed, CheckTimeout: c.CheckTimeout, Logger: log, Metrics: m}
}

// OpenURL opens the limiter RATE_LIMIT_STORAGE names, creating the Redis
// client from redisURL itself (with ContextTimeoutEnabled, so the per-check
// bound holds). The returned close function releases the client.
func (c Config) OpenURL(redisURL string) (Limiter, func() error, error) {
	if c.Storage == StorageMemory {
		return NewMemory(), func() error { return nil }, nil
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	// A limiter check is bounded by RATE_LIMIT_CHECK_TIMEOUT; retrying
	// inside that bound only hides an outage.
	opts.MaxRetries = -1
	rdb := redis.NewClient(opts)
	l, err := c.Open(rdb)
	if err != nil {
		_ = rdb.Close()
		return nil, nil, err
	}
	return l, rdb.Close, nil
}
