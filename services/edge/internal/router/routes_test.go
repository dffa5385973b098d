package router

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRouting(t *testing.T) {
	public, app, mcp, environ := threeUpstreams(t)
	e := startEdge(t, environ...)
	ups := map[string]*upstream{"public": public, "app": app, "mcp": mcp}

	tests := []struct {
		name        string
		method      string
		path        string
		requestID   string
		want        string // upstream that must get it
		wantEchoed  bool   // the client's X-Request-ID comes back as sent
		wantUpBody  string // body the upstream must receive
		requestBody string
	}{
		{name: "public with query", method: "GET", path: "/api/public/health?verbose=1&x=a%20b", want: "public"},
		{name: "public root", method: "GET", path: "/api/public", want: "public"},
		{name: "app post with body", method: "POST", path: "/api/app/workflows?limit=5", want: "app", requestBody: `{"name":"x"}`, wantUpBody: `{"name":"x"}`},
		{name: "mcp with escaped path", method: "GET", path: "/api/mcp/tools/a%2Fb", want: "mcp"},
		{name: "sane request id echoed", method: "GET", path: "/api/app/me", want: "app", requestID: "abc-123_X.9", wantEchoed: true},
		{name: "insane request id replaced", method: "GET", path: "/api/mcp/tools", want: "mcp", requestID: "bad id<script>"},
		{name: "overlong request id replaced", method: "GET", path: "/api/public/info", want: "public", requestID: strings.Repeat("a", 129)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.requestBody != "" {
				body = strings.NewReader(tt.requestBody)
			}
			req := newRequest(t, tt.method, e.url+tt.path, body)
			if tt.requestID != "" {
				req.Header.Set("X-Request-ID", tt.requestID)
			}
			res, respBody := do(t, req)
			if res.StatusCode != http.StatusOK || respBody != tt.want {
				t.Fatalf("got %d %q, want 200 %q", res.StatusCode, respBody, tt.want)
			}
			got := ups[tt.want].next(t)
			for name, u := range ups {
				if name != tt.want {
					u.none(t)
				}
			}
			if got.URI != tt.path {
				t.Errorf("upstream saw %q, want path and query as sent %q", got.URI, tt.path)
			}
			if got.Body != tt.wantUpBody {
				t.Errorf("upstream body = %q, want %q", got.Body, tt.wantUpBody)
			}
			id := res.Header.Get("X-Request-ID")
			if vs := res.Header.Values("X-Request-ID"); len(vs) != 1 {
				t.Errorf("X-Request-ID sent %d times: %q", len(vs), vs)
			}
			if got.Header.Get("X-Request-ID") != id || id == "" {
				t.Errorf("upstream got X-Request-ID %q, client got %q", got.Header.Get("X-Request-ID"), id)
			}
			if tt.wantEchoed != (id == tt.requestID) {
				t.Errorf("X-Request-ID = %q for client's %q, echoed want %v", id, tt.requestID, tt.wantEchoed)
			}
		})
	}
}

// The upstream echoes its own X-Request-ID and CORS headers (as a service
// running the shared middleware would); the client must see the edge's once.
func TestUpstreamHeadersDoNotDuplicateEdgeHeaders(t *testing.T) {
	up := newUpstream(t, "public", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", r.Header.Get("X-Request-ID"))
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "TRACE")
		w.Header().Set("RateLimit", "limit=10, remaining=9, reset=60")
	})
	e := startEdge(t, "PUBLIC_SVC_URL="+up.srv.URL, "CORS_ORIGINS=https://app.example")
	res, _ := do(t, newRequest(t, "GET", e.url+"/api/public/x", nil, "Origin", "https://app.example", "X-Request-ID", "rid-1"))
	if got := res.Header.Values("X-Request-ID"); len(got) != 1 || got[0] != "rid-1" {
		t.Errorf("X-Request-ID = %q, want [rid-1]", got)
	}
	if got := res.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "https://app.example" {
		t.Errorf("Access-Control-Allow-Origin = %q, want the edge's only", got)
	}
	if got := res.Header.Get("Access-Control-Allow-Methods"); got != "" {
		t.Errorf("upstream's Access-Control-Allow-Methods leaked: %q", got)
	}
	if got := res.Header.Get("RateLimit"); got == "" {
		t.Error("ordinary upstream headers must pass")
	}
}

func TestTraceContextForwarded(t *testing.T) {
	up := newUpstream(t, "app", nil)
	e := startEdge(t, "APP_SVC_URL="+up.srv.URL)
	const traceID, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	do(t, newRequest(t, "GET", e.url+"/api/app/x", nil, "Traceparent", "00-"+traceID+"-"+clientSpan+"-01"))
	got := strings.Split(up.next(t).Header.Get("Traceparent"), "-")
	if len(got) != 4 || got[1] != traceID {
		t.Fatalf("upstream traceparent = %q, want trace %s continued", got, traceID)
	}
	if got[2] == clientSpan {
		t.Errorf("upstream's parent span is the client's; want the edge's own span")
	}
	if line := e.log.accessLine(t, "/api/app/x"); line["trace_id"] != traceID {
		t.Errorf("access log trace_id = %v, want %s", line["trace_id"], traceID)
	}
}

func TestErrors(t *testing.T) {
	slow := newUpstream(t, "app", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	public := newUpstream(t, "public", nil)
	e := startEdge(t,
		"PUBLIC_SVC_URL="+public.srv.URL,
		"APP_SVC_URL="+slow.srv.URL,
		"MCP_SVC_URL="+closedPortURL(t),
		"UPSTREAM_TIMEOUT=200ms",
		"MAX_REQUEST_BODY_BYTES=1024",
	)
	disabled := startEdge(t, "PUBLIC_SVC_URL="+public.srv.URL, "PUBLIC_API_ENABLED=false")

	tests := []struct {
		name       string
		base       string
		method     string
		path       string
		body       io.Reader
		wantStatus int
		wantCode   string
	}{
		{"upstream port closed", e.url, "GET", "/api/mcp/tools", nil, http.StatusBadGateway, "upstream_unavailable"},
		{"upstream too slow", e.url, "GET", "/api/app/slow", nil, http.StatusGatewayTimeout, "upstream_timeout"},
		{"unknown path", e.url, "GET", "/api/nope/x", nil, http.StatusNotFound, "not_found"},
		{"unknown prefix sharing a stem", e.url, "GET", "/api/publicity", nil, http.StatusNotFound, "not_found"},
		{"layer disabled", disabled.url, "GET", "/api/public/health", nil, http.StatusNotFound, "api_layer_disabled"},
		{"layer disabled, root", disabled.url, "POST", "/api/public", nil, http.StatusNotFound, "api_layer_disabled"},
		{"declared length over limit", e.url, "POST", "/api/public/x", strings.NewReader(strings.Repeat("a", 2048)), http.StatusRequestEntityTooLarge, "request_too_large"},
		// A reader of unknown length makes the client send it chunked.
		{"chunked body over limit", e.url, "POST", "/api/public/x", struct{ io.Reader }{strings.NewReader(strings.Repeat("a", 64<<10))}, http.StatusRequestEntityTooLarge, "request_too_large"},
		{"dot segments", e.url, "GET", "/api/public/../app/x", nil, http.StatusBadRequest, "bad_request"},
		{"encoded dot segments", e.url, "GET", "/api/public/%2e%2e/app/x", nil, http.StatusBadRequest, "bad_request"},
		{"method not proxied", e.url, "TRACE", "/api/public/x", nil, http.StatusMethodNotAllowed, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			res, body := do(t, newRequest(t, tt.method, tt.base+tt.path, tt.body))
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.StatusCode, tt.wantStatus, body)
			}
			if got := errorBody(t, res, body)["error"]; got != tt.wantCode {
				t.Errorf("error = %q, want %q", got, tt.wantCode)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
	// Neither a declared oversize body nor a disabled layer reached public-svc;
	// the chunked one did start, and was cut.
	for range 2 {
		select {
		case s := <-public.got:
			if s.Body == strings.Repeat("a", 64<<10) {
				t.Error("public-svc received the whole oversize chunked body")
			}
			if len(s.Body) == 2048 {
				t.Error("public-svc received the body whose declared length was over the limit")
			}
		default:
		}
	}
}

func TestBodyAtLimitPasses(t *testing.T) {
	up := newUpstream(t, "app", nil)
	e := startEdge(t, "APP_SVC_URL="+up.srv.URL, "MAX_REQUEST_BODY_BYTES=1024")
	for _, body := range []io.Reader{strings.NewReader(strings.Repeat("a", 1024)), struct{ io.Reader }{strings.NewReader(strings.Repeat("b", 1024))}} {
		res, _ := do(t, newRequest(t, "POST", e.url+"/api/app/x", body))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status = %d, want 200 for a body of exactly the limit", res.StatusCode)
		}
		if got := up.next(t).Body; len(got) != 1024 {
			t.Errorf("upstream got %d bytes, want 1024", len(got))
		}
	}
}

func TestMetrics(t *testing.T) {
	_, _, _, environ := threeUpstreams(t)
	e := startEdge(t, append(environ, "MCP_API_ENABLED=false")...)
	for range 3 {
		do(t, newRequest(t, "GET", e.url+"/api/public/health", nil))
	}
	do(t, newRequest(t, "GET", e.url+"/api/mcp/tools", nil))
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"edge_requests_total", map[string]string{"layer": "public", "status": "200"}, 3},
		{"edge_requests_total", map[string]string{"layer": "mcp", "status": "404"}, 1},
		{"edge_requests_total", map[string]string{"layer": "app"}, 0},
		{"edge_upstream_response_seconds", map[string]string{"layer": "public"}, 3},
		{"http_requests_total", map[string]string{"route": "/api/public/*path", "status": "200"}, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.name, tt.labels), func(t *testing.T) {
			// The counter is bumped as the handler returns, just after the
			// client may have read the answer.
			deadline := time.Now().Add(time.Second)
			got := metricValue(t, e.reg, tt.name, tt.labels)
			for got != tt.want && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				got = metricValue(t, e.reg, tt.name, tt.labels)
			}
			if got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
			}
		})
	}
}
