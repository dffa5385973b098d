package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/wfagent/gateway/pkg/events"
)

// Executions connects app-svc to the workflow engine over NATS JetStream:
// the executions contract's names and retention (pkg/events.Config, the
// same variables the engine reads), the durable event consumer, the
// sweeper's pace, the idempotency window and the SSE heartbeat.
type Executions struct {
	NATSURL string `env:"NATS_URL" envDefault:"nats://127.0.0.1:4222" secret:"url"`
	Events  events.Config

	// Consumer is the durable consumer every replica joins to apply events.
	Consumer string `env:"EXEC_EVENTS_CONSUMER" envDefault:"app-svc"`
	// ApplyConcurrency is the events one replica applies at once.
	ApplyConcurrency int `env:"EXEC_APPLY_CONCURRENCY" envDefault:"8"`
	// SweepInterval paces the sweeper; SweepGrace is how long an
	// execution may stay new (and unpublished by the sweeper) before the
	// sweeper publishes it again.
	SweepInterval time.Duration `env:"EXEC_SWEEP_INTERVAL" envDefault:"10s"`
	SweepGrace    time.Duration `env:"EXEC_SWEEP_GRACE" envDefault:"30s"`
	// IdempotencyTTL is how long an Idempotency-Key returns its execution.
	IdempotencyTTL time.Duration `env:"EXEC_IDEMPOTENCY_TTL" envDefault:"24h"`
	// PublishTimeout bounds execute's publication (the sweeper retries).
	PublishTimeout time.Duration `env:"EXEC_PUBLISH_TIMEOUT" envDefault:"2s"`
	// Heartbeat spaces the execution event stream's `: ping` comments.
	Heartbeat time.Duration `env:"EXEC_SSE_HEARTBEAT" envDefault:"15s"`
}

var consumerName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate names the variable of a setting that cannot work.
func (e Executions) Validate() error {
	errs := []error{e.Events.Validate()}
	if u, err := url.Parse(e.NATSURL); err != nil || u.Host == "" {
		errs = append(errs, errors.New("NATS_URL: want nats://host:port"))
	}
	if !consumerName.MatchString(e.Consumer) {
		errs = append(errs, fmt.Errorf("EXEC_EVENTS_CONSUMER=%q: want 1-64 characters of [A-Za-z0-9_-]", e.Consumer))
	}
	if e.ApplyConcurrency < 1 || e.ApplyConcurrency > 256 {
		errs = append(errs, fmt.Errorf("EXEC_APPLY_CONCURRENCY=%d: want 1-256", e.ApplyConcurrency))
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"EXEC_SWEEP_INTERVAL", e.SweepInterval}, {"EXEC_SWEEP_GRACE", e.SweepGrace}, {"EXEC_IDEMPOTENCY_TTL", e.IdempotencyTTL},
		{"EXEC_PUBLISH_TIMEOUT", e.PublishTimeout}, {"EXEC_SSE_HEARTBEAT", e.Heartbeat},
	} {
		if d.value <= 0 {
			errs = append(errs, fmt.Errorf("%s=%s: want a positive duration", d.name, d.value))
		}
	}
	return errors.Join(errs...)
}
