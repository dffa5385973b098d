// Package config is mcp-svc's configuration: the shared Base, the API-key,
// signature and internal-token settings of pkg/auth, the MCP rate limits,
// the browser origins the MCP endpoint accepts, and where app-svc is.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/wfagent/gateway/pkg/auth"
	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/ratelimit"
)

// Config is read once at startup by Load.
type Config struct {
	pkgconfig.Base
	// CORS is read for CORS_ORIGINS only: the edge answers CORS, and the
	// MCP endpoint refuses browser Origins outside this list (DNS-rebinding
	// protection, MCP transport spec).
	CORS pkgconfig.CORS
	// Auth issues the internal tokens workflow tools present to app-svc
	// (JWT_SECRET_KEY, AUTH_INTERNAL_*).
	Auth auth.Config
	// Keys is MCP_API_KEYS, MCP_API_KEY_REQUIRED, the key cache and the
	// request-signature settings (API_SECRET_KEY, MCP_SIGNATURE_*).
	Keys      auth.APIKeyConfig
	RateLimit ratelimit.Config

	// DatabaseURL, when set, adds the API keys users create in the App API
	// (app-svc's api_keys, through pkg/auth/pgkeys) to MCP_API_KEYS. Its role
	// needs membership of anon only. Unset: env keys only.
	DatabaseURL string `env:"DATABASE_URL" secret:"url"`

	// RedisURL backs the rate limits and the signature replay guard.
	RedisURL string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0" secret:"url"`

	// AppSvcURL is app-svc's base URL; the workflow tools call its App API.
	AppSvcURL string `env:"APP_SVC_URL" envDefault:"http://127.0.0.1:8082"`
	// AppSvcTimeout bounds one App API call of a workflow tool.
	AppSvcTimeout time.Duration `env:"APP_SVC_TIMEOUT" envDefault:"15s"`
	// HealthCheckTimeout bounds each dependency check of /readyz and
	// /api/mcp/health.
	HealthCheckTimeout time.Duration `env:"HEALTH_CHECK_TIMEOUT" envDefault:"1s"`
}

// defaults are mcp-svc's own; the ENVIRONMENT profile, .env and the
// environment override them.
var defaults = map[string]string{"PORT": "8083"}

// Load reads the configuration. opts are pkg/config's (tests pass
// WithEnviron and WithDotEnv).
func Load(opts ...pkgconfig.Option) (Config, error) {
	var c Config
	err := pkgconfig.Load(&c, append([]pkgconfig.Option{pkgconfig.WithDefaults(defaults)}, opts...)...)
	return c, err
}

// WorkflowToolsEnabled reports whether internal tokens can be minted, so
// the workflow tools can act for a key's owner.
func (c Config) WorkflowToolsEnabled() bool { return c.Auth.InternalSecret != "" }

// Validate refuses what would only fail later, naming the variable.
func (c Config) Validate() error {
	prod := c.IsProduction()
	errs := []error{c.Base.Validate(), c.CORS.Validate(), c.Auth.Validate(), c.Keys.Validate(prod), c.RateLimit.Validate()}
	if c.DatabaseURL != "" {
		if p, err := url.Parse(c.DatabaseURL); err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
			errs = append(errs, errors.New("DATABASE_URL: want postgres://user@host:port/db"))
		}
	}
	if p, err := url.Parse(c.RedisURL); err != nil || p.Host == "" {
		// The value may hold a password: never echo it.
		errs = append(errs, errors.New("REDIS_URL: want redis://host[:port]/db"))
	}
	if p, err := url.Parse(c.AppSvcURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		errs = append(errs, fmt.Errorf("APP_SVC_URL=%q: want an http or https URL", pkgconfig.MaskURL(c.AppSvcURL)))
	}
	if c.AppSvcTimeout <= 0 || c.AppSvcTimeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("APP_SVC_TIMEOUT=%s: want (0, 5m]", c.AppSvcTimeout))
	}
	if c.HealthCheckTimeout <= 0 {
		errs = append(errs, fmt.Errorf("HEALTH_CHECK_TIMEOUT=%s: want > 0", c.HealthCheckTimeout))
	}
	return errors.Join(errs...)
}
