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
		{"PORT", c.Port, 8081},
		{"DATABASE_URL", c.DatabaseURL, "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"},
		{"REDIS_URL", c.RedisURL, "redis://127.0.0.1:6379/0"},
		{"NATS_URL", c.NATSURL, "nats://127.0.0.1:4222"},
		{"agent", c.WorkflowServiceAddr(), "127.0.0.1:50051"},
		{"APP_SVC_URL", c.AppSvcURL, "http://127.0.0.1:8082"},
		{"MCP_SVC_URL", c.MCPSvcURL, "http://127.0.0.1:8083"},
		{"EDGE_ADMIN_URL", c.EdgeAdminURL, "http://127.0.0.1:8100"},
		{"HEALTH_CACHE_TTL", c.HealthCacheTTL, 2 * time.Second},
		{"HEALTH_CHECK_TIMEOUT", c.HealthCheckTimeout, time.Second},
		{"DOCS_ENABLED", c.DocsEnabled, true},
		{"PUBLIC_RATE_LIMIT_ENABLED (development profile)", c.PublicRateLimitEnabled, false},
		{"layers", c.PublicEnabled && c.AppEnabled && c.MCPEnabled, true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		env  string
		want string
	}{
		{"WORKFLOW_SERVICE_PORT=0", "WORKFLOW_SERVICE_PORT=0"},
		{"HEALTH_CHECK_TIMEOUT=0s", "HEALTH_CHECK_TIMEOUT"},
		{"EDGE_ADMIN_URL=ftp://x", "EDGE_ADMIN_URL"},
		{"APP_SVC_URL=not a url", "APP_SVC_URL"},
		{"DATABASE_URL=postgres://user:hunter2@/db", "DATABASE_URL"},
		{"PORT=70000", "PORT=70000"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, err := load(tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks a password: %v", err)
			}
		})
	}
}

func TestLogAttrsMaskPasswords(t *testing.T) {
	c, err := load("DATABASE_URL=postgres://app:hunter2@db:5432/app", "REDIS_URL=redis://:s3cret@cache:6379/0")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range pkgconfig.LogAttrs(c) {
		if v := a.Value.String(); strings.Contains(v, "hunter2") || strings.Contains(v, "s3cret") {
			t.Fatalf("%s logged in clear: %s", a.Key, v)
		}
	}
}
