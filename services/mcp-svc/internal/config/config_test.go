package config

import (
	"strings"
	"testing"
	"time"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
)

func load(env ...string) (Config, error) {
	return Load(pkgconfig.WithEnviron(env), pkgconfig.WithDotEnv(""))
}

func TestDefaults(t *testing.T) {
	c, err := load()
	if err != nil {
		t.Fatalf("defaults do not load: %v", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"PORT", c.Port, 8083},
		{"APP_SVC_URL", c.AppSvcURL, "http://127.0.0.1:8082"},
		{"APP_SVC_TIMEOUT", c.AppSvcTimeout, 15 * time.Second},
		{"DATABASE_URL (env keys only)", c.DatabaseURL, ""},
		{"MCP_API_KEY_REQUIRED", c.Keys.Required, true},
		{"CORS_ORIGINS (development profile)", strings.Join(c.CORS.Origins, ","), "http://localhost:3000,http://localhost:8080"},
		{"workflow tools without JWT_SECRET_KEY", c.WorkflowToolsEnabled(), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	secret := "JWT_SECRET_KEY=0123456789abcdef0123456789abcdef"
	tests := []struct {
		name string
		env  []string
		want string // "" loads
	}{
		{"workflow tools on", []string{secret}, ""},
		{"database keys on", []string{"DATABASE_URL=postgres://mcp@db:5432/app"}, ""},
		{"app-svc URL not http", []string{"APP_SVC_URL=ftp://app"}, "APP_SVC_URL"},
		{"database URL not postgres", []string{"DATABASE_URL=mysql://db"}, "DATABASE_URL"},
		{"timeout", []string{"APP_SVC_TIMEOUT=0s"}, "APP_SVC_TIMEOUT"},
		{"short internal secret", []string{"JWT_SECRET_KEY=short"}, "JWT_SECRET_KEY"},
		{"bad keys JSON", []string{"MCP_API_KEYS=[{"}, "MCP_API_KEYS"},
		{"unknown scope", []string{`MCP_API_KEYS={"k": {"scopes": ["admin"]}}`}, "unknown scope"},
		{"bad tiers", []string{"RATE_LIMIT_TIERS=gold"}, "RATE_LIMIT_TIERS"},
		{"wildcard origin with credentials", []string{"CORS_ORIGINS=*"}, "CORS_ORIGINS"},
		{"production needs the internal secret", []string{"ENVIRONMENT=production"}, "JWT_SECRET_KEY is required"},
		{"production refuses optional keys", []string{"ENVIRONMENT=production", secret, "MCP_API_KEY_REQUIRED=false"}, "MCP_API_KEY_REQUIRED=false"},
		{"production", []string{"ENVIRONMENT=production", secret}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.env...)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want it to name %s", err, tt.want)
			}
		})
	}
}
