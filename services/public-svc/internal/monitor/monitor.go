// Package monitor turns dependency checks into the health report of
// /api/public/health: it runs them concurrently under a per-check timeout,
// shares one run among concurrent callers, caches the outcome briefly so a
// burst of health requests cannot hammer the dependencies, and decides
// healthy, degraded or unhealthy.
package monitor

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/wfagent/gateway/pkg/health"
)

// Check names, as they appear in the report.
const (
	Database  = "database"
	Redis     = "redis"
	GRPC      = "grpc"
	NATS      = "nats"
	PublicAPI = "public_api"
	AppAPI    = "app_api"
	MCPAPI    = "mcp_api"
)

// core are the platform's own dependencies: with all of them down nothing
// behind the gateway can work, so the gateway is unhealthy, not degraded.
var core = []string{Database, Redis, NATS, GRPC}

// Status values.
const (
	Healthy   = "healthy"
	Degraded  = "degraded"
	Unhealthy = "unhealthy"
)

// Report is one run's outcome.
type Report struct {
	Status    string
	Checks    map[string]bool
	CheckedAt time.Time
}

// Options configures a Monitor.
type Options struct {
	Checks map[string]health.Check
	// Disabled are reported false without running and do not degrade the
	// status: a layer switched off on purpose is not an outage.
	Disabled []string
	Timeout  time.Duration // per check
	TTL      time.Duration // how long a report is reused
	Logger   *slog.Logger
	now      func() time.Time
}

// Monitor produces reports; safe for concurrent use.
type Monitor struct {
	o Options

	mu      sync.Mutex
	last    *Report
	pending *run
	prev    map[string]bool // last results, for logging changes; only refresh touches it, one run at a time
}

type run struct {
	done   chan struct{}
	report Report
}

// New returns a Monitor.
func New(o Options) *Monitor {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	return &Monitor{o: o}
}

// Report returns the cached report while it is fresh; otherwise it joins
// the run in progress or starts one. The run does not belong to any one
// caller, so a caller that gives up does not cancel it for the others.
func (m *Monitor) Report(ctx context.Context) (Report, error) {
	m.mu.Lock()
	if m.last != nil && m.o.now().Sub(m.last.CheckedAt) < m.o.TTL {
		r := *m.last
		m.mu.Unlock()
		return r, nil
	}
	r := m.pending
	if r == nil {
		r = &run{done: make(chan struct{})}
		m.pending = r
		go m.refresh(context.WithoutCancel(ctx), r)
	}
	m.mu.Unlock()
	select {
	case <-r.done:
		return r.report, nil
	case <-ctx.Done():
		return Report{}, ctx.Err()
	}
}

func (m *Monitor) refresh(ctx context.Context, r *run) {
	results := health.Run(ctx, m.o.Checks, m.o.Timeout)
	report := Report{Status: Healthy, Checks: map[string]bool{}, CheckedAt: m.o.now()}
	for name, res := range results {
		report.Checks[name] = res.OK
		if !res.OK {
			report.Status = Degraded
		}
	}
	for _, name := range m.o.Disabled {
		report.Checks[name] = false
	}
	if !slices.ContainsFunc(core, func(n string) bool { return report.Checks[n] }) {
		report.Status = Unhealthy
	}
	m.logChanges(ctx, results)

	m.mu.Lock()
	r.report = report
	m.last = &r.report
	m.pending = nil
	m.mu.Unlock()
	close(r.done)
}

// logChanges logs a check when it changes state, with the error that the
// report keeps to itself (it may name internal hosts).
func (m *Monitor) logChanges(ctx context.Context, results map[string]health.Result) {
	now := map[string]bool{}
	for name, res := range results {
		now[name] = res.OK
		was, seen := m.prev[name]
		switch {
		case !res.OK && (!seen || was):
			m.o.Logger.WarnContext(ctx, "dependency check failing", "check", name, "error", res.Error)
		case res.OK && seen && !was:
			m.o.Logger.InfoContext(ctx, "dependency check recovered", "check", name, "latency", res.Latency)
		}
	}
	m.prev = maps.Clone(now)
}
