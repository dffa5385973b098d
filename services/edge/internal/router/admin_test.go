package router

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wfagent/gateway/pkg/httpx"
)

func TestAdmin(t *testing.T) {
	up := newUpstream(t, "public", nil)
	e := startEdge(t, "PUBLIC_SVC_URL="+up.srv.URL)
	probes := httpx.NewProbes(nil, time.Second)
	admin, err := Admin(probes, e.reg, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(admin)
	defer srv.Close()
	quiet, err := Admin(httpx.NewProbes(nil, time.Second), e.reg, false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	quietSrv := httptest.NewServer(quiet)
	defer quietSrv.Close()

	do(t, newRequest(t, "GET", e.url+"/api/public/health", nil))
	get := func(url string) (int, string) {
		res, body := do(t, newRequest(t, "GET", url, nil))
		return res.StatusCode, body
	}
	tests := []struct {
		name       string
		url        string
		wantStatus int
		wantBody   string
	}{
		{"liveness", srv.URL + "/healthz", 200, `"ok"`},
		{"readiness", srv.URL + "/readyz", 200, `"ready"`},
		{"metrics", srv.URL + "/metrics", 200, `edge_requests_total{layer="public",status="200"} 1`},
		{"metrics switched off", quietSrv.URL + "/metrics", 404, "not_found"},
		{"no probes on the public port", e.url + "/healthz", 404, "not_found"},
		{"no metrics on the public port", e.url + "/metrics", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(tt.url)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("got %d %s, want %d containing %s", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}

	probes.StartDraining()
	if status, body := get(srv.URL + "/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("draining /readyz = %d %s, want 503", status, body)
	}
}
