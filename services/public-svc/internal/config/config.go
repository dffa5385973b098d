// Package config is public-svc's configuration: the shared Base and Layers
// plus the addresses of everything /api/public/health checks and the edge
// admin endpoint the public metrics summary reads.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/ratelimit"
)

// Config is read once at startup by Load.
type Config struct {
	pkgconfig.Base
	pkgconfig.Layers
	RateLimit ratelimit.Config

	DatabaseURL string `env:"DATABASE_URL" envDefault:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" secret:"url"`
	RedisURL    string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0" secret:"url"`
	// NATS URLs may carry user:password too.
	NATSURL string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222" secret:"url"`

	WorkflowServiceHost string `env:"WORKFLOW_SERVICE_HOST" envDefault:"127.0.0.1"`
	WorkflowServicePort int    `env:"WORKFLOW_SERVICE_PORT" envDefault:"50051"`

	// The other layers' services; health asks their /healthz.
	AppSvcURL string `env:"APP_SVC_URL" envDefault:"http://127.0.0.1:8082"`
	MCPSvcURL string `env:"MCP_SVC_URL" envDefault:"http://127.0.0.1:8083"`
	// EdgeAdminURL serves the edge's Prometheus metrics, summed per layer
	// for the public metrics summary.
	EdgeAdminURL string `env:"EDGE_ADMIN_URL" envDefault:"http://127.0.0.1:8100"`

	HealthCacheTTL     time.Duration `env:"HEALTH_CACHE_TTL" envDefault:"2s"`
	HealthCheckTimeout time.Duration `env:"HEALTH_CHECK_TIMEOUT" envDefault:"1s"`

	DocsEnabled bool `env:"DOCS_ENABLED" envDefault:"true"`
	// PublicRateLimitEnabled turns the per-IP limits on (off in the
	// development profile, as in the original design).
	PublicRateLimitEnabled bool `env:"PUBLIC_RATE_LIMIT_ENABLED"`
}

// defaults are public-svc's own; the ENVIRONMENT profile, .env and the
// environment override them.
var defaults = map[string]string{"PORT": "8081"}

// Load reads the configuration. opts are pkg/config's (tests pass
// WithEnviron and WithDotEnv).
func Load(opts ...pkgconfig.Option) (Config, error) {
	var c Config
	err := pkgconfig.Load(&c, append([]pkgconfig.Option{pkgconfig.WithDefaults(defaults)}, opts...)...)
	return c, err
}

// WorkflowServiceAddr is the agent's gRPC host:port.
func (c Config) WorkflowServiceAddr() string {
	return fmt.Sprintf("%s:%d", c.WorkflowServiceHost, c.WorkflowServicePort)
}

// Validate refuses what would only fail later, naming the variable.
func (c Config) Validate() error {
	errs := []error{c.Base.Validate(), c.RateLimit.Validate()}
	for _, u := range []struct{ name, value, scheme string }{
		{"DATABASE_URL", c.DatabaseURL, ""},
		{"REDIS_URL", c.RedisURL, ""},
		{"NATS_URL", c.NATSURL, ""},
		{"APP_SVC_URL", c.AppSvcURL, "http"},
		{"MCP_SVC_URL", c.MCPSvcURL, "http"},
		{"EDGE_ADMIN_URL", c.EdgeAdminURL, "http"},
	} {
		p, err := url.Parse(u.value)
		switch {
		case err != nil || p.Host == "":
			// The value itself may hold a password: never echo it.
			errs = append(errs, fmt.Errorf("%s: want scheme://host[:port]/…", u.name))
		case u.scheme == "http" && p.Scheme != "http" && p.Scheme != "https":
			errs = append(errs, fmt.Errorf("%s=%q: want an http or https URL", u.name, pkgconfig.MaskURL(u.value)))
		}
	}
	if c.WorkflowServiceHost == "" {
		errs = append(errs, errors.New("WORKFLOW_SERVICE_HOST is required"))
	}
	if c.WorkflowServicePort <= 0 || c.WorkflowServicePort > 65535 {
		errs = append(errs, fmt.Errorf("WORKFLOW_SERVICE_PORT=%d: want 1-65535", c.WorkflowServicePort))
	}
	if c.HealthCheckTimeout <= 0 {
		errs = append(errs, fmt.Errorf("HEALTH_CHECK_TIMEOUT=%s: want > 0", c.HealthCheckTimeout))
	}
	if c.HealthCacheTTL < 0 {
		errs = append(errs, fmt.Errorf("HEALTH_CACHE_TTL=%s: want ≥ 0", c.HealthCacheTTL))
	}
	return errors.Join(errs...)
}
