package config

import (
	"strings"
	"testing"
	"time"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
)

func load(environ ...string) (Config, error) {
	return Load(pkgconfig.WithEnviron(environ), pkgconfig.WithDotEnv(""))
}

func TestDefaults(t *testing.T) {
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"PORT", c.Port, 8084},
		{"NATS_URL", c.NATSURL, "nats://127.0.0.1:4222"},
		{"ENGINE_CONCURRENCY", c.Concurrency, 16},
		{"ENGINE_EXECUTION_TIMEOUT", c.ExecutionTimeout, time.Hour},
		{"ENGINE_ACK_WAIT", c.AckWait, 30 * time.Second},
		{"EXEC_STREAM", c.Events.Stream, "EXECUTIONS"},
		{"EXEC_CANCEL_BUCKET", c.Events.CancelBucket, "EXEC_CANCELS"},
		{"EXEC_STREAM_MAX_AGE", c.Events.MaxAge, 168 * time.Hour},
		{"LLM_MODEL", c.LLMModel, "gpt-4o-mini"},
		{"ENGINE_HTTP_ALLOW", len(c.HTTPAllow), 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestOverridesAndRefusals(t *testing.T) {
	c, err := load("ENGINE_HTTP_ALLOW=10.1.0.0/16, api.internal,127.0.0.1:9000", "PORT=9999", "EXEC_STREAM_MAX_AGE=24h", "LLM_BASE_URL=http://127.0.0.1:11434/v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.HTTPAllow) != 3 || c.Port != 9999 || c.Events.MaxAge != 24*time.Hour {
		t.Fatalf("overrides not applied: %+v", c)
	}
	tests := []struct{ env, want string }{
		{"ENGINE_CONCURRENCY=0", "ENGINE_CONCURRENCY"},
		{"ENGINE_EXECUTION_TIMEOUT=0s", "ENGINE_EXECUTION_TIMEOUT"},
		{"ENGINE_ACK_WAIT=100ms", "ENGINE_ACK_WAIT"},
		{"ENGINE_HTTP_ALLOW=10.0.0.0/99", "ENGINE_HTTP_ALLOW"},
		{"ENGINE_MAX_OUTPUT_BYTES=2000000", "ENGINE_MAX_OUTPUT_BYTES"},
		{"LLM_BASE_URL=ftp://x", "LLM_BASE_URL"},
		{"EXEC_STREAM=a.b", "EXEC_STREAM"},
		{"NATS_URL=::", "NATS_URL"},
	}
	for _, tt := range tests {
		if _, err := load(tt.env); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one naming %s", tt.env, err, tt.want)
		}
	}
}

func TestSecretsMasked(t *testing.T) {
	c, err := load("LLM_API_KEY=sk-very-secret", "NATS_URL=nats://user:pw@127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range pkgconfig.LogAttrs(c) {
		if v := a.Value.String(); strings.Contains(v, "sk-very-secret") || strings.Contains(v, ":pw@") {
			t.Fatalf("%s logged in clear: %s", a.Key, v)
		}
	}
}
