package main

import (
	"fmt"
	"log/slog"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/services/public-svc/internal/config"
)

// perIPLimits builds the per-IP limiter of the public layer, or nil when
// PUBLIC_RATE_LIMIT_ENABLED is off. The client IP is the TCP peer unless
// the peer is in TRUSTED_PROXIES (gin's ClientIP, set up by httpx).
func perIPLimits(cfg config.Config, log *slog.Logger, reg prometheus.Registerer) (gin.HandlerFunc, func(), error) {
	if !cfg.PublicRateLimitEnabled {
		return nil, func() {}, nil
	}
	table, err := cfg.RateLimit.Table(ratelimit.Public)
	if err != nil {
		return nil, nil, err
	}
	lim, closeFn, err := cfg.RateLimit.OpenURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, err
	}
	m, err := ratelimit.NewMetrics(reg)
	if err != nil {
		_ = closeFn()
		return nil, nil, fmt.Errorf("rate-limit metrics: %w", err)
	}
	log.Info("per-IP rate limits on", "storage", cfg.RateLimit.Storage, "fail_closed", cfg.RateLimit.FailClosed)
	return ratelimit.Middleware(lim, table, ratelimit.ByIP, cfg.RateLimit.Options(log, m)), func() { _ = closeFn() }, nil
}
