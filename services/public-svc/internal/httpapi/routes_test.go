package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apidoc"
	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

// Every route the service registers under /api/public is in openapi.json,
// and every operation documented there is served.
func TestRoutesMatchOpenAPI(t *testing.T) {
	r := newRouter(t, loadConfig(t, environ(t)), setup{deps: Deps{Health: fixedHealth(monitor.Healthy)}})
	if err := apidoc.CheckRoutes(Prefix, r.Routes()); err != nil {
		t.Fatal(err)
	}
}

// The rate-limit seam: a limiter guards /api/public and nothing else.
func TestLimiterSeam(t *testing.T) {
	deny := func(c *gin.Context) {
		_ = c.Error(apperr.RateLimited(7))
		c.Abort()
	}
	r := newRouter(t, loadConfig(t, environ(t)), setup{deps: Deps{Health: fixedHealth(monitor.Healthy)}, limiter: deny})
	tests := []struct {
		path, template string // template: the documented path, for limited routes
		want           int
	}{
		{"/api/public/health", "/api/public/health", http.StatusTooManyRequests},
		{"/api/public/info", "/api/public/info", http.StatusTooManyRequests},
		{"/api/public/docs/init.js", "/api/public/docs/{asset}", http.StatusTooManyRequests},
		{"/healthz", "", http.StatusOK},
		{"/readyz", "", http.StatusOK},
		{"/metrics", "", http.StatusOK},
	}
	for _, tt := range tests {
		rec := get(t, r, tt.path)
		if rec.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.path, rec.Code, tt.want)
		}
		if tt.want == http.StatusTooManyRequests {
			if rec.Header().Get("Retry-After") != "7" {
				t.Errorf("%s: Retry-After %q", tt.path, rec.Header().Get("Retry-After"))
			}
			if err := apidoc.CheckResponse(http.MethodGet, tt.template, rec.Code, rec.Body.Bytes()); err != nil {
				t.Errorf("%s: 429 body does not match openapi.json: %v", tt.path, err)
			}
		}
	}
}

// /readyz reflects draining only: with every dependency down the service
// stays in rotation, because reporting the outage is its job.
func TestReadyWhileDependenciesDown(t *testing.T) {
	env := environ(t,
		"DATABASE_URL=postgres://postgres@"+closedAddr(t)+"/postgres?sslmode=disable",
		"REDIS_URL=redis://"+closedAddr(t)+"/0",
		"NATS_URL=nats://"+closedAddr(t),
		"WORKFLOW_SERVICE_PORT="+portOf(t, closedAddr(t)),
	)
	r := newRouter(t, loadConfig(t, env), setup{})
	for _, path := range []string{"/readyz", "/healthz"} {
		if rec := get(t, r, path); rec.Code != http.StatusOK {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := get(t, r, "/metrics"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "http_requests_total") {
		t.Errorf("/metrics: %d", rec.Code)
	}
}
