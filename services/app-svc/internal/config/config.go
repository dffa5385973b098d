// Package config is app-svc's configuration: the shared base, token
// verification (auth.Config) and rate limits (ratelimit.Config), plus the
// database, the encryption key of node credentials and the request bounds.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/wfagent/gateway/pkg/auth"
	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/pkg/secrets"
)

// Config is read once at startup by Load.
type Config struct {
	pkgconfig.Base
	Auth      auth.Config
	RateLimit ratelimit.Config

	DatabaseURL string `env:"DATABASE_URL" envDefault:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" secret:"url"`
	// RedisURL serves the rate limits (RATE_LIMIT_STORAGE=redis) and the
	// remote token check's cache.
	RedisURL string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0" secret:"url"`

	// EncryptionKey seals node credentials (AES-256-GCM): 32 bytes as
	// base64 or 64 hex characters. `serve` refuses to start without it.
	EncryptionKey string `env:"ENCRYPTION_KEY" secret:"true" prod:"required"`

	// DBStatementTimeout bounds every statement of a request.
	DBStatementTimeout time.Duration `env:"DB_STATEMENT_TIMEOUT" envDefault:"5s"`
	// MaxRequestBodyBytes bounds JSON request bodies (413 beyond).
	MaxRequestBodyBytes int64 `env:"MAX_REQUEST_BODY_BYTES" envDefault:"1048576"`
	// MigrateOnStart applies pending migrations before serving: "true",
	// "false", or empty for the default (on in development, off elsewhere,
	// where `app-svc migrate` runs as a deployment step).
	MigrateOnStart string `env:"APP_MIGRATE_ON_START"`

	Chat Chat
	// Executions: NATS, the engine contract, the event consumer, the sweeper.
	Executions Executions
}

// Chat locates the Workflow Agent and paces the chat stream.
type Chat struct {
	AgentHost string `env:"WORKFLOW_SERVICE_HOST" envDefault:"127.0.0.1"`
	AgentPort int    `env:"WORKFLOW_SERVICE_PORT" envDefault:"50051"`
	// TurnTimeout bounds one turn with the agent, streaming included.
	TurnTimeout time.Duration `env:"AGENT_TURN_TIMEOUT" envDefault:"120s"`
	// Heartbeat spaces the stream's `: ping` comments, which keep proxies
	// from closing a stream the agent is slow to answer.
	Heartbeat time.Duration `env:"CHAT_HEARTBEAT_INTERVAL" envDefault:"15s"`
}

// AgentAddr is WORKFLOW_SERVICE_HOST:WORKFLOW_SERVICE_PORT.
func (c Chat) AgentAddr() string { return net.JoinHostPort(c.AgentHost, strconv.Itoa(c.AgentPort)) }

// Validate names the variable of a setting that cannot work.
func (c Chat) Validate() error {
	var errs []error
	if c.AgentHost == "" {
		errs = append(errs, errors.New("WORKFLOW_SERVICE_HOST is empty: want the agent's host name or IP"))
	}
	if c.AgentPort <= 0 || c.AgentPort > 65535 {
		errs = append(errs, fmt.Errorf("WORKFLOW_SERVICE_PORT=%d: want 1-65535", c.AgentPort))
	}
	if c.TurnTimeout <= 0 {
		errs = append(errs, fmt.Errorf("AGENT_TURN_TIMEOUT=%s: want a positive duration", c.TurnTimeout))
	}
	if c.Heartbeat <= 0 {
		errs = append(errs, fmt.Errorf("CHAT_HEARTBEAT_INTERVAL=%s: want a positive duration", c.Heartbeat))
	}
	return errors.Join(errs...)
}

// defaults are app-svc's own; the ENVIRONMENT profile, .env and the
// environment override them.
var defaults = map[string]string{"PORT": "8082"}

// Load reads the configuration. opts are pkg/config's (tests pass
// WithEnviron and WithDotEnv).
func Load(opts ...pkgconfig.Option) (Config, error) {
	var c Config
	err := pkgconfig.Load(&c, append([]pkgconfig.Option{pkgconfig.WithDefaults(defaults)}, opts...)...)
	return c, err
}

// knownDevKey is the development ENCRYPTION_KEY that deploy/devstack hands
// to the local stack. It is public, so production refuses it.
const knownDevKey = secrets.DevelopmentKey

// Validate refuses what would only fail later, naming the variable.
func (c Config) Validate() error {
	errs := []error{c.Base.Validate(), c.Auth.Validate(), c.RateLimit.Validate(), c.Chat.Validate(), c.Executions.Validate()}
	for _, u := range []struct{ name, value string }{{"DATABASE_URL", c.DatabaseURL}, {"REDIS_URL", c.RedisURL}} {
		if p, err := url.Parse(u.value); err != nil || p.Host == "" {
			// The value itself may hold a password: never echo it.
			errs = append(errs, fmt.Errorf("%s: want scheme://host[:port]/…", u.name))
		}
	}
	if c.EncryptionKey != "" {
		if _, err := secrets.ParseKey(c.EncryptionKey); err != nil {
			errs = append(errs, fmt.Errorf("ENCRYPTION_KEY: %w", err))
		}
		if c.IsProduction() && c.EncryptionKey == knownDevKey {
			errs = append(errs, errors.New("ENCRYPTION_KEY is the public development key: refused when ENVIRONMENT=production"))
		}
	}
	if c.DBStatementTimeout <= 0 {
		errs = append(errs, fmt.Errorf("DB_STATEMENT_TIMEOUT=%s: want a positive duration", c.DBStatementTimeout))
	}
	if c.MaxRequestBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("MAX_REQUEST_BODY_BYTES=%d: want at least 1024", c.MaxRequestBodyBytes))
	}
	if c.MigrateOnStart != "" {
		if _, err := strconv.ParseBool(c.MigrateOnStart); err != nil {
			errs = append(errs, fmt.Errorf("APP_MIGRATE_ON_START=%q: want true or false", c.MigrateOnStart))
		}
	}
	return errors.Join(errs...)
}

// EncryptionKeyBytes is ENCRYPTION_KEY decoded; an error when it is unset.
func (c Config) EncryptionKeyBytes() ([]byte, error) {
	if c.EncryptionKey == "" {
		return nil, errors.New("ENCRYPTION_KEY is required: 32 bytes as base64 or hex (openssl rand -base64 32); `make run` provides a development one")
	}
	return secrets.ParseKey(c.EncryptionKey)
}

// MigrateAtStart resolves APP_MIGRATE_ON_START.
func (c Config) MigrateAtStart() bool {
	if b, err := strconv.ParseBool(c.MigrateOnStart); err == nil {
		return b
	}
	return c.Environment == pkgconfig.Development
}
