package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/wfagent/gateway/pkg/auth"
)

// devSecrets are well-known, development-only values the runner hands to
// every service so a fresh checkout works with no setup (as the Supabase
// CLI does for its local stack). The runner refuses ENVIRONMENT=production,
// and the services refuse to start in production without their own.
var devSecrets = map[string]string{
	"SUPABASE_JWT_SECRET": "dev-only-supabase-jwt-secret-not-for-production",
	"JWT_SECRET_KEY":      "dev-only-internal-jwt-secret-not-for-production",
	"ENCRYPTION_KEY":      "ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM=",
	"API_SECRET_KEY":      "dev-only-request-signing-secret-not-for-production",
}

// DevUser is the user `make run` prints a token for.
const (
	DevUserID    = "00000000-0000-4000-8000-000000000001"
	DevUserEmail = "dev@example.com"
)

// Config is what the runner reads; the services read their own.
type Config struct {
	Environment string `env:"ENVIRONMENT" envDefault:"development"`
	Auth        auth.Config
	// Development secrets, passed on to the services (see devSecrets).
	EncryptionKey string `env:"ENCRYPTION_KEY" secret:"true"`
	APISecretKey  string `env:"API_SECRET_KEY" secret:"true"`

	DatabaseURL string        `env:"DATABASE_URL" envDefault:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" secret:"url"`
	RedisURL    string        `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0" secret:"url"`
	NATSURL     string        `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	BinDir      string        `env:"DEVSTACK_BIN_DIR" envDefault:"bin"`
	EdgePort    int           `env:"EDGE_PORT" envDefault:"8000"`
	EdgeAdmin   int           `env:"EDGE_ADMIN_PORT" envDefault:"8100"`
	PublicPort  int           `env:"PUBLIC_SVC_PORT" envDefault:"8081"`
	AppPort     int           `env:"APP_SVC_PORT" envDefault:"8082"`
	MCPPort     int           `env:"MCP_SVC_PORT" envDefault:"8083"`
	EnginePort  int           `env:"WORKFLOW_ENGINE_PORT" envDefault:"8084"`
	AgentPort   int           `env:"AGENT_PORT" envDefault:"50051"`
	AgentAdmin  int           `env:"AGENT_ADMIN_PORT" envDefault:"8085"`
	StartWait   time.Duration `env:"DEVSTACK_START_TIMEOUT" envDefault:"60s"`
	StopWait    time.Duration `env:"DEVSTACK_STOP_TIMEOUT" envDefault:"25s"`
}

// Validate refuses production and keeps the ports sane before anything
// starts.
func (c Config) Validate() error {
	if c.Environment == "production" {
		return errors.New("ENVIRONMENT=production: devstack runs the development stack only; deploy with docker-compose, k8s/ or helm/")
	}
	for name, p := range map[string]int{"EDGE_PORT": c.EdgePort, "EDGE_ADMIN_PORT": c.EdgeAdmin, "PUBLIC_SVC_PORT": c.PublicPort,
		"APP_SVC_PORT": c.AppPort, "MCP_SVC_PORT": c.MCPPort, "WORKFLOW_ENGINE_PORT": c.EnginePort, "AGENT_PORT": c.AgentPort, "AGENT_ADMIN_PORT": c.AgentAdmin} {
		if p <= 0 || p > 65535 {
			return fmt.Errorf("%s=%d: want 1-65535", name, p)
		}
	}
	return nil
}

// secretEnv is what every service gets so tokens and encrypted data agree
// across the stack.
func (c Config) secretEnv() map[string]string {
	return map[string]string{
		"SUPABASE_JWT_SECRET": c.Auth.JWTSecret,
		"JWT_SECRET_KEY":      c.Auth.InternalSecret,
		"ENCRYPTION_KEY":      c.EncryptionKey,
		"API_SECRET_KEY":      c.APISecretKey,
	}
}
