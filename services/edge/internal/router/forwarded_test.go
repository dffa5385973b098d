package router

import (
	"net/http"
	"testing"
)

// A client cannot choose the IP the services and the access log see by
// sending X-Forwarded-For; a trusted load balancer can.
func TestForwardedFor(t *testing.T) {
	tests := []struct {
		name        string
		trusted     string
		header      []string
		wantXFF     string // what the upstream sees
		wantLogIP   string // access log client_ip
		wantProto   string
		wantRealIP  string
		wantSpoofed string // a forwarding header that must not pass
	}{
		{
			name:      "untrusted peer, spoofed chain",
			header:    []string{"X-Forwarded-For", "203.0.113.7, 10.0.0.1", "X-Forwarded-Proto", "https", "X-Real-IP", "203.0.113.7", "X-Forwarded-Port", "443", "Forwarded", "for=203.0.113.7"},
			wantXFF:   "127.0.0.1",
			wantLogIP: "127.0.0.1",
			wantProto: "http",
		},
		{
			name:      "untrusted peer, no header",
			wantXFF:   "127.0.0.1",
			wantLogIP: "127.0.0.1",
			wantProto: "http",
		},
		{
			name:       "trusted load balancer",
			trusted:    "127.0.0.1",
			header:     []string{"X-Forwarded-For", "203.0.113.7", "X-Forwarded-Proto", "https", "X-Real-IP", "203.0.113.7"},
			wantXFF:    "203.0.113.7, 127.0.0.1",
			wantLogIP:  "203.0.113.7",
			wantProto:  "https",
			wantRealIP: "203.0.113.7",
		},
		{
			name:      "trusted CIDR, client spoofs behind the balancer",
			trusted:   "127.0.0.0/8,10.0.0.0/8",
			header:    []string{"X-Forwarded-For", "6.6.6.6, 198.51.100.4, 10.1.2.3"},
			wantXFF:   "6.6.6.6, 198.51.100.4, 10.1.2.3, 127.0.0.1",
			wantLogIP: "198.51.100.4", // rightmost untrusted hop
			wantProto: "http",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, "public", nil)
			e := startEdge(t, "PUBLIC_SVC_URL="+up.srv.URL, "TRUSTED_PROXIES="+tt.trusted)
			path := "/api/public/ip"
			res, _ := do(t, newRequest(t, "GET", e.url+path, nil, tt.header...))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			got := up.next(t).Header
			if xff := got.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != tt.wantXFF {
				t.Errorf("upstream X-Forwarded-For = %q, want %q", xff, tt.wantXFF)
			}
			if p := got.Get("X-Forwarded-Proto"); p != tt.wantProto {
				t.Errorf("X-Forwarded-Proto = %q, want %q", p, tt.wantProto)
			}
			if ip := got.Get("X-Real-IP"); ip != tt.wantRealIP {
				t.Errorf("X-Real-IP = %q, want %q", ip, tt.wantRealIP)
			}
			if tt.trusted == "" {
				for _, h := range []string{"Forwarded", "X-Forwarded-Port"} {
					if v := got.Get(h); v != "" {
						t.Errorf("untrusted %s passed: %q", h, v)
					}
				}
			}
			if got.Get("X-Forwarded-Host") == "" {
				t.Error("X-Forwarded-Host missing")
			}
			if ip := e.log.accessLine(t, path)["client_ip"]; ip != tt.wantLogIP {
				t.Errorf("access log client_ip = %v, want %s", ip, tt.wantLogIP)
			}
		})
	}
}
