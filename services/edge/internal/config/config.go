// Package config is the edge's typed configuration: the shared base, CORS
// and layer switches, plus where the three upstream services live and how
// long the edge waits for them.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/wfagent/gateway/pkg/config"
)

// Config is everything the edge reads from the environment.
type Config struct {
	config.Base
	config.CORS
	config.Layers

	PublicSvcURL string `env:"PUBLIC_SVC_URL" envDefault:"http://127.0.0.1:8081"`
	AppSvcURL    string `env:"APP_SVC_URL" envDefault:"http://127.0.0.1:8082"`
	MCPSvcURL    string `env:"MCP_SVC_URL" envDefault:"http://127.0.0.1:8083"`

	// MaxRequestBodyBytes bounds every proxied request body (413 beyond).
	MaxRequestBodyBytes int64 `env:"MAX_REQUEST_BODY_BYTES" envDefault:"10485760"`
	// UpstreamTimeout bounds the wait for an upstream's response headers
	// only: a response that has started (SSE) may stream for as long as
	// it likes.
	UpstreamTimeout     time.Duration `env:"UPSTREAM_TIMEOUT" envDefault:"60s"`
	UpstreamDialTimeout time.Duration `env:"UPSTREAM_DIAL_TIMEOUT" envDefault:"5s"`

	// AdminPort serves /healthz, /readyz and /metrics on HOST, apart from
	// the public port, as Kong's status API does.
	AdminPort int `env:"ADMIN_PORT" envDefault:"8100"`
}

// Load reads the configuration; opts are for tests (config.WithEnviron …).
func Load(opts ...config.Option) (Config, error) {
	var c Config
	opts = append([]config.Option{config.WithDefaults(map[string]string{"PORT": "8000"})}, opts...)
	if err := config.Load(&c, opts...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// AdminAddr is HOST:ADMIN_PORT.
func (c Config) AdminAddr() string { return fmt.Sprintf("%s:%d", c.Host, c.AdminPort) }

// Upstreams maps each layer name to its service URL, parsed. Call after
// Validate.
func (c Config) Upstreams() map[string]*url.URL {
	out := map[string]*url.URL{}
	for layer, raw := range map[string]string{"public": c.PublicSvcURL, "app": c.AppSvcURL, "mcp": c.MCPSvcURL} {
		out[layer], _ = url.Parse(raw)
	}
	return out
}

// Validate refuses settings the edge cannot run with, naming the variable.
func (c Config) Validate() error {
	errs := []error{c.Base.Validate(), c.CORS.Validate()}
	for name, raw := range map[string]string{"PUBLIC_SVC_URL": c.PublicSvcURL, "APP_SVC_URL": c.AppSvcURL, "MCP_SVC_URL": c.MCPSvcURL} {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want http(s)://host[:port][/prefix]", name, raw))
		}
	}
	if c.MaxRequestBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("MAX_REQUEST_BODY_BYTES=%d: want a positive byte count", c.MaxRequestBodyBytes))
	}
	if c.UpstreamTimeout <= 0 {
		errs = append(errs, fmt.Errorf("UPSTREAM_TIMEOUT=%s: want a positive duration", c.UpstreamTimeout))
	}
	if c.UpstreamDialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("UPSTREAM_DIAL_TIMEOUT=%s: want a positive duration", c.UpstreamDialTimeout))
	}
	switch {
	case c.AdminPort <= 0 || c.AdminPort > 65535:
		errs = append(errs, fmt.Errorf("ADMIN_PORT=%d: want 1-65535", c.AdminPort))
	case c.AdminPort == c.Port:
		errs = append(errs, errors.New("ADMIN_PORT must differ from PORT: probes and metrics stay off the public listener"))
	}
	return errors.Join(errs...)
}
