// Package config is workflow-agent's configuration: the shared Base, the
// admin port for probes and metrics, the optional OpenAI-compatible LLM
// backend and the pacing of streamed responses.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
)

// Config is read once at startup by Load.
type Config struct {
	pkgconfig.Base

	// WorkflowServicePort is where the other services look for the agent;
	// the agent listens there unless PORT says otherwise, so one shared
	// .env names the port once.
	WorkflowServicePort int `env:"WORKFLOW_SERVICE_PORT" envDefault:"50051"`
	// AdminPort serves /healthz, /readyz and /metrics over HTTP, so probes
	// and Prometheus treat the agent like every other service.
	AdminPort int `env:"ADMIN_PORT" envDefault:"8085"`

	// LLMBaseURL switches the LLM backend on: an OpenAI-compatible API
	// root such as https://api.openai.com/v1 (/chat/completions is added).
	LLMBaseURL string        `env:"LLM_BASE_URL"`
	LLMAPIKey  string        `env:"LLM_API_KEY" secret:"true"`
	LLMModel   string        `env:"LLM_MODEL" envDefault:"gpt-4o-mini"`
	LLMTimeout time.Duration `env:"LLM_TIMEOUT" envDefault:"60s"`

	// ResponseDelay spaces the streamed responses of a turn, to show
	// streaming in a demo; 0 sends them as fast as the caller reads.
	ResponseDelay time.Duration `env:"AGENT_RESPONSE_DELAY" envDefault:"0s"`
}

// maxResponseDelay keeps a misconfigured delay from holding turns for minutes.
const maxResponseDelay = 10 * time.Second

// Load reads the configuration. opts are pkg/config's (tests pass
// WithEnviron and WithDotEnv).
func Load(opts ...pkgconfig.Option) (Config, error) {
	var c Config
	err := pkgconfig.Load(&c, opts...)
	c.Port = c.listenPort()
	return c, err
}

// listenPort is PORT when set, else WORKFLOW_SERVICE_PORT.
func (c Config) listenPort() int {
	if c.Port != 0 {
		return c.Port
	}
	return c.WorkflowServicePort
}

// AdminAddr is HOST:ADMIN_PORT.
func (c Config) AdminAddr() string { return fmt.Sprintf("%s:%d", c.Host, c.AdminPort) }

// LLMEnabled reports whether LLM_BASE_URL configures the LLM backend.
func (c Config) LLMEnabled() bool { return c.LLMBaseURL != "" }

// Validate refuses what would only fail later, naming the variable.
func (c Config) Validate() error {
	base := c.Base
	base.Port = c.listenPort()
	errs := []error{base.Validate()}
	if c.WorkflowServicePort <= 0 || c.WorkflowServicePort > 65535 {
		errs = append(errs, fmt.Errorf("WORKFLOW_SERVICE_PORT=%d: want 1-65535", c.WorkflowServicePort))
	}
	switch {
	case c.AdminPort <= 0 || c.AdminPort > 65535:
		errs = append(errs, fmt.Errorf("ADMIN_PORT=%d: want 1-65535", c.AdminPort))
	case c.AdminPort == base.Port:
		errs = append(errs, errors.New("ADMIN_PORT must differ from the gRPC port (PORT or WORKFLOW_SERVICE_PORT)"))
	}
	if c.LLMBaseURL != "" {
		u, err := url.Parse(c.LLMBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("LLM_BASE_URL=%q: want an http or https URL such as https://api.openai.com/v1", pkgconfig.MaskURL(c.LLMBaseURL)))
		}
	}
	if c.LLMTimeout <= 0 {
		errs = append(errs, fmt.Errorf("LLM_TIMEOUT=%s: want > 0", c.LLMTimeout))
	}
	if c.ResponseDelay < 0 || c.ResponseDelay > maxResponseDelay {
		errs = append(errs, fmt.Errorf("AGENT_RESPONSE_DELAY=%s: want 0-%s", c.ResponseDelay, maxResponseDelay))
	}
	return errors.Join(errs...)
}
