package ratelimit

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts decisions and backend failures. One value may serve every
// middleware of a service.
type Metrics struct {
	decisions *prometheus.CounterVec
	failures  *prometheus.CounterVec
}

// NewMetrics registers the counters on reg (nil: not exported anywhere).
// Registering twice on one registry reuses the first counters.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ratelimit_decisions_total", Help: "Rate-limit decisions by layer, policy and result (allowed, limited).",
		}, []string{"layer", "policy", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ratelimit_backend_failures_total", Help: "Checks the limiter store did not answer in time, by layer and action (fail_open, fail_closed).",
		}, []string{"layer", "action"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.decisions, err = register(reg, m.decisions)
	if err != nil {
		return nil, err
	}
	m.failures, err = register(reg, m.failures)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, err
	}
	return c, nil
}
