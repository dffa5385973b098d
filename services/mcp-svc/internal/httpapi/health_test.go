package httpapi

import (
	"net"
	"net/http"
	"testing"

	"github.com/wfagent/gateway/pkg/health"
	"github.com/wfagent/gateway/pkg/testkit"
)

func TestHealth(t *testing.T) {
	rdb, _ := testkit.Redis(t)
	// A port nothing listens on: app-svc down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/healthz"
	_ = ln.Close()
	up := newServer(t, options{}).URL + "/healthz"

	tests := []struct {
		name       string
		key        string
		checks     map[string]health.Check
		wantStatus string
		wantTools  float64
	}{
		{"all up", keyOf("health"), map[string]health.Check{"redis": health.Redis(rdb), "app_api": health.HTTP(nil, up)}, "healthy", 3},
		{"app-svc down", keyOf("health"), map[string]health.Check{"redis": health.Redis(rdb), "app_api": health.HTTP(nil, down)}, "degraded", 3},
		{"owned key counts the workflow tools", keyOf("owned"), map[string]health.Check{"redis": health.Redis(rdb)}, "healthy", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, options{checks: tt.checks, api: standInAPI(t)})
			r := s.do(http.MethodGet, "/api/mcp/health", "", "X-API-Key", tt.key)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			checkDoc(t, "GET", "/api/mcp/health", r)
			m := r.json(t)
			if m["status"] != tt.wantStatus {
				t.Fatalf("status = %v, want %s: %s", m["status"], tt.wantStatus, r.body)
			}
			if got := m["tools"].(map[string]any)["available"]; got != tt.wantTools {
				t.Fatalf("tools.available = %v, want %v", got, tt.wantTools)
			}
			if len(m["checks"].(map[string]any)) != len(tt.checks) {
				t.Fatalf("checks = %v", m["checks"])
			}
		})
	}
}
