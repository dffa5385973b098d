// Package config is the workflow-engine's configuration: the shared Base,
// the executions contract's names and retention (pkg/events.Config, the
// same variables app-svc reads), the consumer, concurrency and limits of
// runs, the HTTP node's allow-list, the LLM endpoint of AI nodes and the
// key that opens node credentials.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/events"
	"github.com/wfagent/gateway/pkg/secrets"
	"github.com/wfagent/gateway/services/workflow-engine/internal/safehttp"
)

// Config is read once at startup by Load.
type Config struct {
	pkgconfig.Base
	Events events.Config

	NATSURL string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222" secret:"url"`

	// Concurrency is the executions one engine runs at once;
	// BranchConcurrency the nodes of one execution at once.
	Concurrency       int           `env:"ENGINE_CONCURRENCY" envDefault:"16"`
	BranchConcurrency int           `env:"ENGINE_BRANCH_CONCURRENCY" envDefault:"4"`
	ExecutionTimeout  time.Duration `env:"ENGINE_EXECUTION_TIMEOUT" envDefault:"1h"`
	Consumer          string        `env:"ENGINE_CONSUMER" envDefault:"workflow-engine"`
	ClaimBucket       string        `env:"ENGINE_CLAIM_BUCKET" envDefault:"EXEC_CLAIMS"`
	AckWait           time.Duration `env:"ENGINE_ACK_WAIT" envDefault:"30s"`
	MaxDeliver        int           `env:"ENGINE_MAX_DELIVER" envDefault:"10"`
	MaxAttempts       int           `env:"ENGINE_MAX_ATTEMPTS" envDefault:"3"`
	MaxOutputBytes    int           `env:"ENGINE_MAX_OUTPUT_BYTES" envDefault:"262144"`
	InstanceID        string        `env:"ENGINE_INSTANCE_ID"`

	// HTTPAllow lets SEND_HTTP_REQUEST nodes reach otherwise refused
	// targets: CIDRs, IPs, host names, host:port.
	HTTPAllow            []string `env:"ENGINE_HTTP_ALLOW" envSeparator:","`
	HTTPMaxResponseBytes int64    `env:"ENGINE_HTTP_MAX_RESPONSE_BYTES" envDefault:"1048576"`

	LLMBaseURL string        `env:"LLM_BASE_URL"`
	LLMAPIKey  string        `env:"LLM_API_KEY" secret:"true"`
	LLMModel   string        `env:"LLM_MODEL" envDefault:"gpt-4o-mini"`
	LLMTimeout time.Duration `env:"LLM_TIMEOUT" envDefault:"60s"`

	// EncryptionKey opens the node credentials app-svc seals (the same
	// ENCRYPTION_KEY as app-svc's): 32 bytes as base64 or 64 hex
	// characters. Without it, a node with credentials fails.
	EncryptionKey string `env:"ENCRYPTION_KEY" secret:"true" prod:"required"`
}

// defaults are the engine's own; the ENVIRONMENT profile, .env and the
// environment override them.
var defaults = map[string]string{"PORT": "8084"}

// Load reads the configuration. opts are pkg/config's (tests pass
// WithEnviron and WithDotEnv).
func Load(opts ...pkgconfig.Option) (Config, error) {
	var c Config
	err := pkgconfig.Load(&c, append([]pkgconfig.Option{pkgconfig.WithDefaults(defaults)}, opts...)...)
	return c, err
}

// Validate refuses what would only fail later, naming the variable.
func (c Config) Validate() error {
	errs := []error{c.Base.Validate(), c.Events.Validate()}
	if u, err := url.Parse(c.NATSURL); err != nil || u.Host == "" {
		errs = append(errs, errors.New("NATS_URL: want nats://host:port"))
	}
	positive := []struct {
		name  string
		value int64
	}{
		{"ENGINE_CONCURRENCY", int64(c.Concurrency)},
		{"ENGINE_BRANCH_CONCURRENCY", int64(c.BranchConcurrency)},
		{"ENGINE_MAX_DELIVER", int64(c.MaxDeliver)},
		{"ENGINE_MAX_ATTEMPTS", int64(c.MaxAttempts)},
		{"ENGINE_MAX_OUTPUT_BYTES", int64(c.MaxOutputBytes)},
		{"ENGINE_HTTP_MAX_RESPONSE_BYTES", c.HTTPMaxResponseBytes},
	}
	for _, p := range positive {
		if p.value < 1 {
			errs = append(errs, fmt.Errorf("%s=%d: want ≥ 1", p.name, p.value))
		}
	}
	if c.Concurrency > 1000 {
		errs = append(errs, fmt.Errorf("ENGINE_CONCURRENCY=%d: at most 1000 (the consumer's max ack pending)", c.Concurrency))
	}
	if c.MaxOutputBytes > 900<<10 {
		errs = append(errs, fmt.Errorf("ENGINE_MAX_OUTPUT_BYTES=%d: an event must fit NATS's default 1 MiB payload; at most %d", c.MaxOutputBytes, 900<<10))
	}
	if c.ExecutionTimeout <= 0 {
		errs = append(errs, fmt.Errorf("ENGINE_EXECUTION_TIMEOUT=%s: want > 0", c.ExecutionTimeout))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("ENGINE_ACK_WAIT=%s: want ≥ 1s", c.AckWait))
	}
	if c.Consumer == "" || c.ClaimBucket == "" {
		errs = append(errs, errors.New("ENGINE_CONSUMER and ENGINE_CLAIM_BUCKET must not be empty"))
	}
	if _, err := safehttp.NewPolicy(c.HTTPAllow); err != nil {
		errs = append(errs, err)
	}
	if c.LLMBaseURL != "" {
		if u, err := url.Parse(c.LLMBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("LLM_BASE_URL=%q: want an http(s) URL such as https://api.openai.com/v1", c.LLMBaseURL))
		}
	}
	if c.LLMTimeout <= 0 {
		errs = append(errs, fmt.Errorf("LLM_TIMEOUT=%s: want > 0", c.LLMTimeout))
	}
	if c.EncryptionKey != "" {
		if _, err := secrets.ParseKey(c.EncryptionKey); err != nil {
			errs = append(errs, fmt.Errorf("ENCRYPTION_KEY: %w", err))
		}
		if c.IsProduction() && c.EncryptionKey == secrets.DevelopmentKey {
			errs = append(errs, errors.New("ENCRYPTION_KEY is the public development key: refused when ENVIRONMENT=production"))
		}
	}
	return errors.Join(errs...)
}

// Sealer opens node credentials with ENCRYPTION_KEY; nil when it is unset
// (development), and then a node with credentials fails.
func (c Config) Sealer() (*secrets.Sealer, error) {
	if c.EncryptionKey == "" {
		return nil, nil
	}
	key, err := secrets.ParseKey(c.EncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTION_KEY: %w", err)
	}
	return secrets.NewSealer(key)
}
