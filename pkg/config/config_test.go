package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testConfig struct {
	Base
	CORS
	DatabaseURL string `env:"DATABASE_URL" secret:"url"`
	JWTSecret   string `env:"JWT_SECRET_KEY" secret:"true" prod:"required"`
	PublicRL    bool   `env:"PUBLIC_RATE_LIMIT_ENABLED"`
}

func (c testConfig) Validate() error {
	if err := c.Base.Validate(); err != nil {
		return err
	}
	return c.CORS.Validate()
}

func load(t *testing.T, environ ...string) (testConfig, error) {
	t.Helper()
	var c testConfig
	err := Load(&c, WithEnviron(environ), WithDotEnv(""), WithDefaults(map[string]string{"PORT": "8081"}))
	return c, err
}

func TestProfiles(t *testing.T) {
	tests := []struct {
		name        string
		environ     []string
		wantDebug   bool
		wantLevel   string
		wantOrigins []string
		wantRL      bool
		wantDrain   time.Duration
	}{
		{"development default", nil, true, "DEBUG", []string{"http://localhost:3000", "http://localhost:8080"}, false, 0},
		{"staging", []string{"ENVIRONMENT=staging"}, false, "INFO", nil, true, 5 * time.Second},
		{"production", []string{"ENVIRONMENT=production", "JWT_SECRET_KEY=x"}, false, "INFO", nil, true, 5 * time.Second},
		{"env overrides profile", []string{"LOG_LEVEL=ERROR", "PUBLIC_RATE_LIMIT_ENABLED=true"}, true, "ERROR", []string{"http://localhost:3000", "http://localhost:8080"}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.environ...)
			if err != nil {
				t.Fatal(err)
			}
			if c.Debug != tt.wantDebug || c.LogLevel != tt.wantLevel || c.PublicRL != tt.wantRL || c.DrainDelay != tt.wantDrain {
				t.Fatalf("got debug=%v level=%s rl=%v drain=%s", c.Debug, c.LogLevel, c.PublicRL, c.DrainDelay)
			}
			if strings.Join(c.Origins, ",") != strings.Join(tt.wantOrigins, ",") {
				t.Fatalf("origins = %v, want %v", c.Origins, tt.wantOrigins)
			}
			if c.Port != 8081 {
				t.Fatalf("service default PORT lost: %d", c.Port)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		naming  string
	}{
		{"production without secret", []string{"ENVIRONMENT=production"}, "JWT_SECRET_KEY"},
		{"production with debug", []string{"ENVIRONMENT=production", "JWT_SECRET_KEY=x", "DEBUG=true"}, "DEBUG"},
		{"wildcard cors with credentials", []string{"CORS_ORIGINS=*", "CORS_ALLOW_CREDENTIALS=true"}, "CORS_ORIGINS"},
		{"bad origin", []string{"CORS_ORIGINS=localhost:3000"}, "CORS_ORIGINS"},
		{"unknown environment", []string{"ENVIRONMENT=prod"}, "ENVIRONMENT"},
		{"bad port", []string{"PORT=70000"}, "PORT"},
		{"bad duration", []string{"SHUTDOWN_TIMEOUT=soon"}, "SHUTDOWN_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.environ...)
			if err == nil || !strings.Contains(err.Error(), tt.naming) {
				t.Fatalf("err = %v, want one naming %s", err, tt.naming)
			}
		})
	}
	if _, err := load(t, "CORS_ORIGINS=*", "CORS_ALLOW_CREDENTIALS=false"); err != nil {
		t.Fatalf("wildcard without credentials refused: %v", err)
	}
}

func TestDotEnvBelowEnvironment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	if err := os.WriteFile(path, []byte("ENVIRONMENT=staging\nLOG_LEVEL=WARNING\nPORT=9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c testConfig
	if err := Load(&c, WithEnviron([]string{"PORT=9100"}), WithDotEnv(path)); err != nil {
		t.Fatal(err)
	}
	if c.Environment != Staging || c.LogLevel != "WARNING" || c.Port != 9100 || c.LogFormat != "json" {
		t.Fatalf("got %+v", c.Base)
	}
}

func TestLogAttrsMasksSecrets(t *testing.T) {
	c, err := load(t, "JWT_SECRET_KEY=supersecret", "DATABASE_URL=postgres://app:hunter2@db:5432/app?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	seen := map[string]string{}
	for _, a := range LogAttrs(&c) {
		all.WriteString(a.String() + " ")
		seen[a.Key] = a.Value.String()
	}
	if strings.Contains(all.String(), "supersecret") || strings.Contains(all.String(), "hunter2") {
		t.Fatalf("secret in log attrs: %s", all.String())
	}
	if seen["JWT_SECRET_KEY"] != "********" || !strings.Contains(seen["DATABASE_URL"], "app:xxxxx@db:5432") {
		t.Fatalf("masking wrong: %v", seen)
	}
	if seen["PORT"] != "8081" || seen["ENVIRONMENT"] != "development" {
		t.Fatalf("plain settings missing: %v", seen)
	}
}
