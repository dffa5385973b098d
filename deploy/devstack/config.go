package main

import (
	"fmt"
	"time"
)

// Config is what the runner reads; the services read their own.
type Config struct {
	DatabaseURL string        `env:"DATABASE_URL" envDefault:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" secret:"url"`
	RedisURL    string        `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0" secret:"url"`
	NATSURL     string        `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222"`
	BinDir      string        `env:"DEVSTACK_BIN_DIR" envDefault:"bin"`
	EdgePort    int           `env:"EDGE_PORT" envDefault:"8000"`
	EdgeAdmin   int           `env:"EDGE_ADMIN_PORT" envDefault:"8100"`
	PublicPort  int           `env:"PUBLIC_SVC_PORT" envDefault:"8081"`
	StartWait   time.Duration `env:"DEVSTACK_START_TIMEOUT" envDefault:"60s"`
	StopWait    time.Duration `env:"DEVSTACK_STOP_TIMEOUT" envDefault:"25s"`
}

// Validate keeps the ports sane before anything starts.
func (c Config) Validate() error {
	for name, p := range map[string]int{"EDGE_PORT": c.EdgePort, "EDGE_ADMIN_PORT": c.EdgeAdmin, "PUBLIC_SVC_PORT": c.PublicPort} {
		if p <= 0 || p > 65535 {
			return fmt.Errorf("%s=%d: want 1-65535", name, p)
		}
	}
	return nil
}
