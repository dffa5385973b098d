package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadExecutions(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		wantErr string // "" for success
		check   func(Executions) bool
	}{
		{"defaults", nil, "", func(e Executions) bool {
			return e.NATSURL == "nats://127.0.0.1:4222" && e.Events.Stream == "EXECUTIONS" && e.Consumer == "app-svc" &&
				e.SweepInterval == 10*time.Second && e.SweepGrace == 30*time.Second && e.IdempotencyTTL == 24*time.Hour &&
				e.Heartbeat == 15*time.Second && e.ApplyConcurrency == 8
		}},
		{"the engine's contract variables", []string{"EXEC_STREAM=RUNS", "EXEC_SUBJECT_PREFIX=wf.exec", "EXEC_STREAM_MAX_AGE=48h"}, "", func(e Executions) bool {
			return e.Events.Stream == "RUNS" && e.Events.RequestSubject() == "wf.exec.requests" && e.Events.MaxAge == 48*time.Hour
		}},
		{"sweeper pace", []string{"EXEC_SWEEP_INTERVAL=2s", "EXEC_SWEEP_GRACE=5s"}, "", func(e Executions) bool {
			return e.SweepInterval == 2*time.Second && e.SweepGrace == 5*time.Second
		}},
		{"a NATS URL without host", []string{"NATS_URL=nats://"}, "NATS_URL", nil},
		{"a bad stream name", []string{"EXEC_STREAM=a.b"}, "EXEC_STREAM", nil},
		{"a bad consumer name", []string{"EXEC_EVENTS_CONSUMER=app svc"}, "EXEC_EVENTS_CONSUMER", nil},
		{"no sweep interval", []string{"EXEC_SWEEP_INTERVAL=0s"}, "EXEC_SWEEP_INTERVAL", nil},
		{"no grace", []string{"EXEC_SWEEP_GRACE=0s"}, "EXEC_SWEEP_GRACE", nil},
		{"no idempotency window", []string{"EXEC_IDEMPOTENCY_TTL=0s"}, "EXEC_IDEMPOTENCY_TTL", nil},
		{"no heartbeat", []string{"EXEC_SSE_HEARTBEAT=0s"}, "EXEC_SSE_HEARTBEAT", nil},
		{"no appliers", []string{"EXEC_APPLY_CONCURRENCY=0"}, "EXEC_APPLY_CONCURRENCY", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.env...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.check != nil && !tt.check(c.Executions) {
					t.Fatalf("config %+v", c.Executions)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
