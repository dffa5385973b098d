package config

import (
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/config"
)

func load(environ ...string) (Config, error) {
	return Load(config.WithEnviron(environ), config.WithDotEnv(""))
}

func TestDefaults(t *testing.T) {
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8000 || c.AdminPort != 8100 {
		t.Errorf("ports = %d/%d, want 8000/8100", c.Port, c.AdminPort)
	}
	if c.MaxRequestBodyBytes != 10<<20 || c.UpstreamTimeout != 60*time.Second || c.UpstreamDialTimeout != 5*time.Second {
		t.Errorf("limits = %d %s %s", c.MaxRequestBodyBytes, c.UpstreamTimeout, c.UpstreamDialTimeout)
	}
	ups := c.Upstreams()
	for layer, want := range map[string]string{"public": "127.0.0.1:8081", "app": "127.0.0.1:8082", "mcp": "127.0.0.1:8083"} {
		if ups[layer].Host != want {
			t.Errorf("%s upstream = %v, want %s", layer, ups[layer], want)
		}
	}
	if !c.PublicEnabled || !c.AppEnabled || !c.MCPEnabled {
		t.Error("every layer should be on by default")
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		wantVar string
	}{
		{"wildcard CORS with credentials", []string{"CORS_ORIGINS=*", "CORS_ALLOW_CREDENTIALS=true"}, "CORS_ORIGINS"},
		{"upstream without scheme", []string{"APP_SVC_URL=app-svc:8082"}, "APP_SVC_URL"},
		{"upstream with query", []string{"MCP_SVC_URL=http://mcp:8083/?x=1"}, "MCP_SVC_URL"},
		{"zero body limit", []string{"MAX_REQUEST_BODY_BYTES=0"}, "MAX_REQUEST_BODY_BYTES"},
		{"negative timeout", []string{"UPSTREAM_TIMEOUT=-1s"}, "UPSTREAM_TIMEOUT"},
		{"unparsable timeout", []string{"UPSTREAM_DIAL_TIMEOUT=soon"}, "UPSTREAM_DIAL_TIMEOUT"},
		{"admin port equals port", []string{"PORT=9000", "ADMIN_PORT=9000"}, "ADMIN_PORT"},
		{"admin port out of range", []string{"ADMIN_PORT=70000"}, "ADMIN_PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.environ...)
			if err == nil || !strings.Contains(err.Error(), tt.wantVar) {
				t.Fatalf("err = %v, want one naming %s", err, tt.wantVar)
			}
		})
	}
}

func TestWildcardWithoutCredentialsAccepted(t *testing.T) {
	if _, err := load("CORS_ORIGINS=*", "CORS_ALLOW_CREDENTIALS=false"); err != nil {
		t.Fatal(err)
	}
}
