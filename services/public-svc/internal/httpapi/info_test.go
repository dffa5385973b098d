package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

// fixedHealth is a HealthReporter with a set status; the real checks are
// covered by TestHealth.
type fixedHealth string

func (f fixedHealth) Report(context.Context) (monitor.Report, error) {
	return monitor.Report{Status: string(f), Checks: map[string]bool{}, CheckedAt: time.Now()}, nil
}

func TestStatus(t *testing.T) {
	tests := []struct {
		health string
		want   string
	}{
		{monitor.Healthy, "operational"},
		{monitor.Degraded, "degraded"},
		{monitor.Unhealthy, "degraded"},
	}
	cfg := loadConfig(t, environ(t, "APP_API_ENABLED=false"))
	for _, tt := range tests {
		t.Run(tt.health, func(t *testing.T) {
			r := newRouter(t, cfg, setup{deps: Deps{Health: fixedHealth(tt.health)}})
			rec := get(t, r, "/api/public/status")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var body struct {
				Status        string          `json:"status"`
				UptimeSeconds int64           `json:"uptime_seconds"`
				APILayers     map[string]bool `json:"api_layers"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Status != tt.want {
				t.Errorf("status = %q, want %q", body.Status, tt.want)
			}
			// newRouter backdates the start by 90 s.
			if body.UptimeSeconds < 90 || body.UptimeSeconds > 100 {
				t.Errorf("uptime_seconds = %d, want about 90", body.UptimeSeconds)
			}
			if !body.APILayers["public"] || body.APILayers["app"] || !body.APILayers["mcp"] {
				t.Errorf("api_layers = %v, want app off", body.APILayers)
			}
			if err := apidoc.CheckResponse(http.MethodGet, "/api/public/status", rec.Code, rec.Body.Bytes()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	cfg := loadConfig(t, environ(t, "ENVIRONMENT=staging", "METRICS_ENABLED=false", "MCP_API_ENABLED=false",
		"DATABASE_URL=postgres://app:hunter2@127.0.0.1:5432/app"))
	r := newRouter(t, cfg, setup{deps: Deps{Health: fixedHealth(monitor.Healthy)}})
	rec := get(t, r, "/api/public/info")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if err := apidoc.CheckResponse(http.MethodGet, "/api/public/info", rec.Code, rec.Body.Bytes()); err != nil {
		t.Error(err)
	}
	var body struct {
		Name, Version, Environment string
		APILayers                  map[string]struct {
			Enabled      bool
			Prefix, Auth string
		} `json:"api_layers"`
		Features      map[string]bool
		Documentation map[string]string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"name", body.Name, "Workflow Agent API Gateway"},
		{"version", body.Version, "test"},
		{"environment", body.Environment, "staging"},
		{"public auth", body.APILayers["public"].Auth, "none"},
		{"app auth", body.APILayers["app"].Auth, "supabase_jwt"},
		{"mcp auth", body.APILayers["mcp"].Auth, "api_key"},
		{"mcp enabled", body.APILayers["mcp"].Enabled, false},
		{"app prefix", body.APILayers["app"].Prefix, "/api/app"},
		{"rate limiting (staging profile)", body.Features["rate_limiting"], true},
		{"metrics", body.Features["metrics"], false},
		{"docs", body.Features["docs"], true},
		{"openapi", body.Documentation["openapi"], "/api/public/openapi.json"},
		{"docs page", body.Documentation["docs"], "/api/public/docs"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	for _, secret := range []string{"hunter2", "127.0.0.1", "5432"} {
		if bytesContains(rec.Body.Bytes(), secret) {
			t.Errorf("info reveals %q: %s", secret, rec.Body)
		}
	}
}
