package monitor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/health"
)

var (
	up   health.Check = func(context.Context) error { return nil }
	down health.Check = func(context.Context) error { return errors.New("connection refused") }
)

func all(c health.Check) map[string]health.Check {
	return map[string]health.Check{Database: c, Redis: c, NATS: c, GRPC: c, PublicAPI: c, AppAPI: c, MCPAPI: c}
}

func with(base map[string]health.Check, name string, c health.Check) map[string]health.Check {
	base[name] = c
	return base
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name     string
		checks   map[string]health.Check
		disabled []string
		want     string
		wantOff  []string
	}{
		{"all up", all(up), nil, Healthy, nil},
		{"redis down", with(all(up), Redis, down), nil, Degraded, []string{Redis}},
		{"app layer down", with(all(up), AppAPI, down), nil, Degraded, []string{AppAPI}},
		{"three core down", with(with(with(all(up), Redis, down), NATS, down), GRPC, down), nil, Degraded, []string{Redis, NATS, GRPC}},
		{"all core down", with(with(with(with(all(up), Redis, down), NATS, down), GRPC, down), Database, down), nil, Unhealthy, []string{Database, Redis, NATS, GRPC}},
		{"disabled layer does not degrade", func() map[string]health.Check { c := all(up); delete(c, MCPAPI); return c }(), []string{MCPAPI}, Healthy, []string{MCPAPI}},
		{"hung check times out", with(all(up), Database, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }), nil, Degraded, []string{Database}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(Options{Checks: tt.checks, Disabled: tt.disabled, Timeout: 50 * time.Millisecond})
			r, err := m.Report(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.want {
				t.Errorf("status = %s, want %s (%v)", r.Status, tt.want, r.Checks)
			}
			if len(r.Checks) != 7 {
				t.Errorf("checks = %v, want all seven", r.Checks)
			}
			off := map[string]bool{}
			for _, n := range tt.wantOff {
				off[n] = true
			}
			for name, ok := range r.Checks {
				if ok == off[name] {
					t.Errorf("check %s = %v", name, ok)
				}
			}
		})
	}
}

// counting returns checks that count their runs and take a little while,
// so concurrent callers overlap with a run in progress.
func counting(runs *atomic.Int32) map[string]health.Check {
	return all(func(context.Context) error {
		runs.Add(1)
		time.Sleep(20 * time.Millisecond)
		return nil
	})
}

func TestCacheAndSharedRuns(t *testing.T) {
	var runs atomic.Int32
	clock := time.Now()
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	m := New(Options{Checks: counting(&runs), Timeout: time.Second, TTL: 2 * time.Second, now: now})
	perRun := int32(len(all(up)))

	// 20 concurrent callers on a cold cache share one run.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := m.Report(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := runs.Load(); got != perRun {
		t.Fatalf("checks ran %d times for 20 concurrent callers, want %d (one run)", got, perRun)
	}
	first, _ := m.Report(context.Background())

	tests := []struct {
		name     string
		advance  time.Duration
		wantRuns int32
	}{
		{"within TTL reuses the report", time.Second, perRun},
		{"after TTL runs again", 1500 * time.Millisecond, 2 * perRun},
		{"fresh again", 100 * time.Millisecond, 2 * perRun},
	}
	for _, tt := range tests {
		advance(tt.advance)
		r, err := m.Report(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := runs.Load(); got != tt.wantRuns {
			t.Errorf("%s: checks ran %d times, want %d", tt.name, got, tt.wantRuns)
		}
		if tt.wantRuns == perRun && !r.CheckedAt.Equal(first.CheckedAt) {
			t.Errorf("%s: CheckedAt changed", tt.name)
		}
	}
}

// A caller that gives up gets its context's error; the run it started
// finishes and serves the next caller.
func TestCallerCancellationDoesNotCancelRun(t *testing.T) {
	var runs atomic.Int32
	m := New(Options{Checks: counting(&runs), Timeout: time.Second, TTL: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Report(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	r, err := m.Report(context.Background())
	if err != nil || r.Status != Healthy {
		t.Fatalf("report = %+v, %v", r, err)
	}
	if got := runs.Load(); got != int32(len(all(up))) {
		t.Fatalf("checks ran %d times, want one run", got)
	}
}
