package config

import (
	"strings"
	"testing"
	"time"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/secrets"
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

// key is a valid ENCRYPTION_KEY (32 bytes, base64).
const key = "c2VjcmV0LWtleS1mb3ItZW5naW5lLWNvbmZpZy10ZXM="

func TestEncryptionKey(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		wantErr    string // empty: loads
		wantSealer bool
	}{
		{"unset in development", nil, "", false},
		{"base64", []string{"ENCRYPTION_KEY=" + key}, "", true},
		{"hex", []string{"ENCRYPTION_KEY=" + strings.Repeat("ab", 32)}, "", true},
		{"a passphrase", []string{"ENCRYPTION_KEY=correct horse battery staple"}, "ENCRYPTION_KEY", false},
		{"unset in production", []string{"ENVIRONMENT=production"}, "ENCRYPTION_KEY", false},
		{"the development key in production", []string{"ENVIRONMENT=production", "ENCRYPTION_KEY=" + secrets.DevelopmentKey}, "public development key", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.env...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.Sealer()
			if err != nil || (s != nil) != tt.wantSealer {
				t.Fatalf("Sealer = %v, %v; want one: %v", s, err, tt.wantSealer)
			}
		})
	}
}

func TestSecretsMasked(t *testing.T) {
	c, err := load("LLM_API_KEY=sk-very-secret", "NATS_URL=nats://user:pw@127.0.0.1:4222", "ENCRYPTION_KEY="+key)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range pkgconfig.LogAttrs(c) {
		if v := a.Value.String(); strings.Contains(v, "sk-very-secret") || strings.Contains(v, ":pw@") || strings.Contains(v, key) {
			t.Fatalf("%s logged in clear: %s", a.Key, v)
		}
	}
}
