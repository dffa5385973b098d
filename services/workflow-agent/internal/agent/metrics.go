package agent

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wfagent/gateway/services/workflow-agent/internal/planner"
)

// Metrics are the agent's Prometheus metrics. A nil *Metrics counts nothing.
// agent_turns_cancelled_total is how outside tests see that the agent
// noticed a caller going away.
type Metrics struct {
	turns     *prometheus.CounterVec
	cancelled prometheus.Counter
	duration  prometheus.Histogram
	answers   *prometheus.CounterVec
	fallbacks prometheus.Counter
}

// Turn outcomes.
const (
	OutcomeCompleted = "completed"
	OutcomeInvalid   = "invalid"
	OutcomeCancelled = "cancelled"
	OutcomeFailed    = "failed"
)

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		turns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agent_turns_total", Help: "Conversation turns by outcome (completed, invalid, cancelled, failed).",
		}, []string{"outcome"}),
		cancelled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agent_turns_cancelled_total", Help: "Turns stopped because the caller cancelled or its deadline passed.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "agent_turn_duration_seconds", Help: "Time to answer a turn, streaming included.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agent_llm_answers_total", Help: "Language model answers by result (valid, invalid, error).",
		}, []string{"result"}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agent_planner_fallbacks_total", Help: "Turns the planner answered because the language model failed.",
		}),
	}
	for _, c := range []prometheus.Collector{m.turns, m.cancelled, m.duration, m.answers, m.fallbacks} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, o := range []string{OutcomeCompleted, OutcomeInvalid, OutcomeCancelled, OutcomeFailed} {
		m.turns.WithLabelValues(o)
	}
	for _, r := range []string{"valid", "invalid", "error"} {
		m.answers.WithLabelValues(r)
	}
	return m, nil
}

// Outcome classifies a turn's error.
func Outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeCompleted
	case errors.Is(err, planner.ErrInvalidTurn):
		return OutcomeInvalid
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return OutcomeCancelled
	}
	return OutcomeFailed
}

func (m *Metrics) turnDone(err error, took time.Duration) {
	if m == nil {
		return
	}
	o := Outcome(err)
	m.turns.WithLabelValues(o).Inc()
	if o == OutcomeCancelled {
		m.cancelled.Inc()
	}
	if o != OutcomeInvalid {
		m.duration.Observe(took.Seconds())
	}
}

func (m *Metrics) answer(result string) {
	if m != nil {
		m.answers.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) fallback() {
	if m != nil {
		m.fallbacks.Inc()
	}
}
