package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

// edgeAdmin serves a Prometheus exposition like the edge's admin port.
func edgeAdmin(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte(`# HELP edge_requests_total Requests through the edge.
# TYPE edge_requests_total counter
edge_requests_total{layer="public",status="200"} 40
edge_requests_total{layer="public",status="429"} 2
edge_requests_total{layer="app",status="200"} 17
edge_requests_total{layer="app",status="502"} 1
edge_requests_total{layer="mcp",status="200"} 5
edge_requests_total{layer="",status="404"} 3
# TYPE edge_upstream_duration_seconds histogram
edge_upstream_duration_seconds_bucket{layer="app",le="+Inf"} 18
edge_upstream_duration_seconds_sum{layer="app"} 1.5
edge_upstream_duration_seconds_count{layer="app"} 18
`))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestPublicMetrics(t *testing.T) {
	type counts struct{ Public, App, MCP, Total *uint64 }
	u := func(n uint64) *uint64 { return &n }
	tests := []struct {
		name          string
		env           func(t *testing.T) []string
		wantCode      int
		wantError     string
		wantReachable bool
		want          counts
	}{
		{"edge up", func(t *testing.T) []string { return []string{"EDGE_ADMIN_URL=" + edgeAdmin(t)} }, 200, "", true, counts{u(42), u(18), u(5), u(68)}},
		{"edge down", func(t *testing.T) []string { return []string{"EDGE_ADMIN_URL=http://" + closedAddr(t)} }, 200, "", false, counts{}},
		{"disabled", func(t *testing.T) []string {
			return []string{"METRICS_ENABLED=false", "EDGE_ADMIN_URL=" + edgeAdmin(t)}
		}, 404, "metrics_disabled", false, counts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRouter(t, loadConfig(t, environ(t, tt.env(t)...)), setup{deps: Deps{Health: fixedHealth(monitor.Healthy)}})
			rec := get(t, r, "/api/public/metrics")
			if err := apidoc.CheckResponse(http.MethodGet, "/api/public/metrics", rec.Code, rec.Body.Bytes()); err != nil {
				t.Errorf("response does not match openapi.json: %v", err)
			}
			var body struct {
				Error         string
				UptimeSeconds int64  `json:"uptime_seconds"`
				Requests      counts `json:"requests"`
				EdgeReachable bool   `json:"edge_reachable"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.wantCode || body.Error != tt.wantError {
				t.Fatalf("got %d %q, want %d %q", rec.Code, body.Error, tt.wantCode, tt.wantError)
			}
			if rec.Code != 200 {
				return
			}
			if body.EdgeReachable != tt.wantReachable || body.UptimeSeconds < 90 {
				t.Errorf("edge_reachable = %v, uptime %d", body.EdgeReachable, body.UptimeSeconds)
			}
			for name, pair := range map[string][2]*uint64{
				"public": {body.Requests.Public, tt.want.Public}, "app": {body.Requests.App, tt.want.App},
				"mcp": {body.Requests.MCP, tt.want.MCP}, "total": {body.Requests.Total, tt.want.Total},
			} {
				got, want := pair[0], pair[1]
				if (got == nil) != (want == nil) || (got != nil && *got != *want) {
					t.Errorf("requests.%s = %v, want %v", name, deref(got), deref(want))
				}
			}
		})
	}
}

func deref(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}
