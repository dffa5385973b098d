package worker

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wfagent/gateway/pkg/events"
	eventsv1 "github.com/wfagent/gateway/proto/events/v1"
)

// Metrics are the engine's Prometheus series; a nil *Metrics records nothing.
type Metrics struct {
	executions *prometheus.CounterVec
	duration   prometheus.Histogram
	running    prometheus.Gauge
	events     *prometheus.CounterVec
	deliveries *prometheus.CounterVec
}

// NewMetrics registers the series with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "engine_executions_total",
			Help: "Executions finished by this engine, by result (succeeded, failed, canceled)."}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "engine_execution_duration_seconds",
			Help: "Run time of executions from execution_started to the final event.", Buckets: prometheus.ExponentialBuckets(0.005, 4, 10)}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "engine_executions_running", Help: "Executions running on this engine now."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "engine_events_published_total",
			Help: "Execution events published, by type."}, []string{"type"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "engine_request_deliveries_total",
			Help: "Execution requests received, by what the engine did (run, takeover, duplicate, busy, skipped_canceled, refused, exhausted, poison, handed_back)."}, []string{"action"}),
	}
	for _, c := range []prometheus.Collector{m.executions, m.duration, m.running, m.events, m.deliveries} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) finished(result string) {
	if m != nil {
		m.executions.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) observe(took time.Duration) {
	if m != nil {
		m.duration.Observe(took.Seconds())
	}
}

func (m *Metrics) runningDelta(d float64) {
	if m != nil {
		m.running.Add(d)
	}
}

func (m *Metrics) event(ev *eventsv1.ExecutionEvent) {
	if m != nil {
		m.events.WithLabelValues(events.TypeName(ev.GetType())).Inc()
	}
}

func (m *Metrics) delivery(action string) {
	if m != nil {
		m.deliveries.WithLabelValues(action).Inc()
	}
}
