package router

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wfagent/gateway/services/edge/internal/cors"
)

func TestCORS(t *testing.T) {
	up := newUpstream(t, "app", func(w http.ResponseWriter, r *http.Request) {
		// A service that sets its own CORS headers must not be heard.
		w.Header().Set("Access-Control-Allow-Origin", "*")
	})
	e := startEdge(t, "APP_SVC_URL="+up.srv.URL,
		"CORS_ORIGINS=https://app.example,http://localhost:3000", "CORS_ALLOW_CREDENTIALS=true", "CORS_MAX_AGE=10m")
	const allowed, other = "https://app.example", "https://evil.example"

	tests := []struct {
		name          string
		method        string
		origin        string
		preflight     bool
		wantStatus    int
		wantAllow     string // Access-Control-Allow-Origin, "" for none
		wantUpstream  bool
		wantPreflight bool // methods, headers, max-age present
	}{
		{name: "preflight, allowed origin", method: "OPTIONS", origin: allowed, preflight: true, wantStatus: 204, wantAllow: allowed, wantPreflight: true},
		{name: "preflight, second allowed origin", method: "OPTIONS", origin: "http://localhost:3000", preflight: true, wantStatus: 204, wantAllow: "http://localhost:3000", wantPreflight: true},
		{name: "preflight, disallowed origin", method: "OPTIONS", origin: other, preflight: true, wantStatus: 204},
		{name: "credentialed request, allowed origin", method: "GET", origin: allowed, wantStatus: 200, wantAllow: allowed, wantUpstream: true},
		{name: "credentialed request, disallowed origin", method: "GET", origin: other, wantStatus: 200, wantUpstream: true},
		{name: "plain OPTIONS is proxied", method: "OPTIONS", origin: allowed, wantStatus: 200, wantAllow: allowed, wantUpstream: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, tt.method, e.url+"/api/app/workflows", nil, "Origin", tt.origin, "Cookie", "sb=1")
			if tt.preflight {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			res, _ := do(t, req)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			h := res.Header
			if got := h.Values("Access-Control-Allow-Origin"); strings.Join(got, ",") != tt.wantAllow {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantAllow)
			}
			if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", h.Values("Vary"))
			}
			if tt.wantAllow == "" {
				for name := range h {
					if strings.HasPrefix(name, "Access-Control-") {
						t.Errorf("disallowed origin got %s: %q", name, h.Get(name))
					}
				}
			} else if h.Get("Access-Control-Allow-Credentials") != "true" {
				t.Errorf("Access-Control-Allow-Credentials = %q, want true", h.Get("Access-Control-Allow-Credentials"))
			}
			if tt.wantPreflight {
				if m := h.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") || !strings.Contains(m, "DELETE") {
					t.Errorf("Access-Control-Allow-Methods = %q", m)
				}
				if hd := h.Get("Access-Control-Allow-Headers"); !strings.Contains(hd, "Authorization") || !strings.Contains(hd, "Content-Type") {
					t.Errorf("Access-Control-Allow-Headers = %q", hd)
				}
				if h.Get("Access-Control-Max-Age") != "600" {
					t.Errorf("Access-Control-Max-Age = %q, want 600", h.Get("Access-Control-Max-Age"))
				}
			}
			if !tt.preflight && tt.wantAllow != "" {
				if got := h.Get("Access-Control-Expose-Headers"); got != strings.Join(cors.ExposedHeaders, ", ") {
					t.Errorf("Access-Control-Expose-Headers = %q", got)
				}
			}
			if tt.wantUpstream {
				up.next(t)
			} else {
				up.none(t) // preflights are the edge's business
			}
		})
	}
}

// Errors the edge makes itself are readable by an allowed origin too.
func TestCORSOnEdgeErrors(t *testing.T) {
	e := startEdge(t, "APP_API_ENABLED=false", "CORS_ORIGINS=https://app.example")
	res, body := do(t, newRequest(t, "GET", e.url+"/api/app/x", nil, "Origin", "https://app.example"))
	if res.StatusCode != http.StatusNotFound || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("got %d with Allow-Origin %q; body %s", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"), body)
	}
}
