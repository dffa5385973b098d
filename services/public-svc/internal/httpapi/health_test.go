package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/pkg/health"
)

// serverOf says which local server a check needs, for failure messages.
var serverOf = map[string]string{
	"database": "PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth)",
	"redis":    "Redis at 127.0.0.1:6379",
	"nats":     "NATS at 127.0.0.1:4222",
	"grpc":     "the in-process gRPC health server",
}

type healthResponse struct {
	Status    string          `json:"status"`
	Version   string          `json:"version"`
	Checks    map[string]bool `json:"checks"`
	Timestamp string          `json:"timestamp"`
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name       string
		env        func(t *testing.T) []string
		wantCode   int
		wantStatus string
		wantFalse  []string
	}{
		{"every dependency up", func(t *testing.T) []string { return nil }, 200, "healthy", nil},
		{"database down", func(t *testing.T) []string {
			return []string{"DATABASE_URL=postgres://postgres@" + closedAddr(t) + "/postgres?sslmode=disable"}
		}, 200, "degraded", []string{"database"}},
		{"redis down", func(t *testing.T) []string { return []string{"REDIS_URL=redis://" + closedAddr(t) + "/0"} }, 200, "degraded", []string{"redis"}},
		{"nats down", func(t *testing.T) []string { return []string{"NATS_URL=nats://" + closedAddr(t)} }, 200, "degraded", []string{"nats"}},
		{"agent down", func(t *testing.T) []string { return []string{"WORKFLOW_SERVICE_PORT=" + portOf(t, closedAddr(t))} }, 200, "degraded", []string{"grpc"}},
		{"app-svc down", func(t *testing.T) []string { return []string{"APP_SVC_URL=http://" + closedAddr(t)} }, 200, "degraded", []string{"app_api"}},
		{"mcp layer disabled", func(t *testing.T) []string { return []string{"MCP_API_ENABLED=false"} }, 200, "healthy", []string{"mcp_api"}},
		{"all four core dependencies down", func(t *testing.T) []string {
			return []string{
				"DATABASE_URL=postgres://postgres@" + closedAddr(t) + "/postgres?sslmode=disable",
				"REDIS_URL=redis://" + closedAddr(t) + "/0",
				"NATS_URL=nats://" + closedAddr(t),
				"WORKFLOW_SERVICE_PORT=" + portOf(t, closedAddr(t)),
			}
		}, 503, "unhealthy", []string{"database", "redis", "nats", "grpc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRouter(t, loadConfig(t, environ(t, tt.env(t)...)), setup{})
			start := time.Now()
			rec := get(t, r, "/api/public/health")
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("health took %s: checks are not bounded by HEALTH_CHECK_TIMEOUT", took)
			}
			var body healthResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			wantFalse := map[string]bool{}
			for _, n := range tt.wantFalse {
				wantFalse[n] = true
			}
			for name, ok := range body.Checks {
				if ok && wantFalse[name] {
					t.Errorf("check %s = true, want false", name)
				}
				if !ok && !wantFalse[name] {
					if s, local := serverOf[name]; local {
						t.Errorf("check %s = false: %s must be running for this test", name, s)
					} else {
						t.Errorf("check %s = false, want true", name)
					}
				}
			}
			if rec.Code != tt.wantCode || body.Status != tt.wantStatus {
				t.Fatalf("got %d %s, want %d %s (checks %v)", rec.Code, body.Status, tt.wantCode, tt.wantStatus, body.Checks)
			}
			if len(body.Checks) != 7 || body.Version != "test" {
				t.Errorf("body = %+v, want seven checks and the version", body)
			}
			if err := apidoc.CheckResponse(http.MethodGet, "/api/public/health", rec.Code, rec.Body.Bytes()); err != nil {
				t.Errorf("response does not match openapi.json: %v", err)
			}
		})
	}
}

// Two calls within HEALTH_CACHE_TTL run the checks once; the second is
// served from the cache.
func TestHealthIsCached(t *testing.T) {
	var runs atomic.Int32
	count := func(checks map[string]health.Check) {
		for name, c := range checks {
			checks[name] = func(ctx context.Context) error { runs.Add(1); return c(ctx) }
		}
	}
	r := newRouter(t, loadConfig(t, environ(t, "HEALTH_CACHE_TTL=1m")), setup{wrap: count})
	first := get(t, r, "/api/public/health")
	second := get(t, r, "/api/public/health")
	if first.Code != 200 || second.Code != 200 {
		t.Fatalf("codes %d, %d", first.Code, second.Code)
	}
	if got := runs.Load(); got != 7 {
		t.Fatalf("checks ran %d times over two calls, want 7 (one run)", got)
	}
	if first.Body.String() != second.Body.String() {
		t.Fatalf("cached body differs:\n%s\n%s", first.Body, second.Body)
	}
}

func TestHealthDisabled(t *testing.T) {
	r := newRouter(t, loadConfig(t, environ(t, "HEALTH_CHECK_ENABLED=false")), setup{})
	rec := get(t, r, "/api/public/health")
	var body struct{ Error string }
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusNotFound || body.Error != "health_check_disabled" {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if err := apidoc.CheckResponse(http.MethodGet, "/api/public/health", rec.Code, rec.Body.Bytes()); err != nil {
		t.Error(err)
	}
}
