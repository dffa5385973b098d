package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/health"
)

func newTestEngine(t *testing.T, logs io.Writer) *gin.Engine {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(logs, nil))
	e, _, err := NewEngine(Options{Service: "test", Logger: log, Metrics: true, Probes: NewProbes(nil, time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func decodeBody(t *testing.T, rec *httptest.ResponseRecorder) apperr.Body {
	t.Helper()
	var b apperr.Body
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q is not the error JSON: %v", rec.Body.String(), err)
	}
	return b
}

func TestSanitizeRequestID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc-123_X.y", "abc-123_X.y"},
		{"", ""},
		{strings.Repeat("a", 128), strings.Repeat("a", 128)},
		{strings.Repeat("a", 129), ""},
		{"has space", ""},
		{"semi;colon", ""},
		{"new\nline", ""},
		{"ünïcode", ""},
	}
	for _, tt := range tests {
		if got := SanitizeRequestID(tt.in); got != tt.want {
			t.Errorf("SanitizeRequestID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if id := NewRequestID(); SanitizeRequestID(id) != id || len(id) != 32 {
		t.Fatalf("generated id %q is not sane", id)
	}
}

func TestErrorMapping(t *testing.T) {
	var logs bytes.Buffer
	e := newTestEngine(t, &logs)
	e.GET("/nf", Handle(func(*gin.Context) error { return apperr.NotFoundf("workflow %s not found", "w1") }))
	e.GET("/valid", Handle(func(*gin.Context) error {
		return apperr.Validation(apperr.FieldError{Field: "name", Message: "required"})
	}))
	e.GET("/limited", Handle(func(*gin.Context) error { return apperr.RateLimited(7) }))
	e.GET("/internal", Handle(func(*gin.Context) error { return errors.New("dial tcp 10.0.0.5:5432: secret detail") }))
	e.GET("/panic", func(*gin.Context) { panic("kaboom") })
	e.POST("/big", Handle(func(c *gin.Context) error {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 4)
		_, err := io.ReadAll(c.Request.Body)
		return err
	}))

	tests := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/nf", "", 404, "not_found"},
		{"GET", "/valid", "", 400, "validation_error"},
		{"GET", "/limited", "", 429, "rate_limit_exceeded"},
		{"GET", "/internal", "", 500, "internal_error"},
		{"GET", "/panic", "", 500, "internal_error"},
		{"POST", "/big", "0123456789", 413, "request_too_large"},
		{"GET", "/nowhere", "", 404, "not_found"},
		{"DELETE", "/nf", "", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set(HeaderRequestID, "rid-"+strings.Trim(tt.path, "/"))
			e.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", rec.Code, tt.status, rec.Body.String())
			}
			b := decodeBody(t, rec)
			if b.Error != tt.code || b.RequestID != "rid-"+strings.Trim(tt.path, "/") || b.Message == "" {
				t.Fatalf("body = %+v", b)
			}
			if rec.Header().Get(HeaderRequestID) != b.RequestID {
				t.Fatalf("request id not echoed: %q", rec.Header().Get(HeaderRequestID))
			}
			if strings.Contains(rec.Body.String(), "secret detail") || strings.Contains(rec.Body.String(), "kaboom") {
				t.Fatalf("internal detail leaked: %s", rec.Body.String())
			}
		})
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/limited", nil))
	if b := decodeBody(t, rec); rec.Header().Get("Retry-After") != "7" || b.RetryAfter == nil || *b.RetryAfter != 7 {
		t.Fatalf("429 lacks Retry-After: %v %+v", rec.Header(), b)
	}
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/panic", nil))
	if b := decodeBody(t, rec); b.Path != "/panic" {
		t.Fatalf("500 body lacks path: %+v", b)
	}
	if !strings.Contains(logs.String(), "secret detail") || !strings.Contains(logs.String(), "kaboom") {
		t.Fatalf("internal causes must reach the log: %s", logs.String())
	}
}

func TestAccessLogRedactsAndRequestIDGenerated(t *testing.T) {
	var logs bytes.Buffer
	e := newTestEngine(t, &logs)
	e.GET("/items/:id", func(c *gin.Context) { c.String(200, "ok") })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/items/42?api_key=mcp_secret_value&x=1", nil)
	req.Header.Set(HeaderRequestID, "bad id with spaces")
	e.ServeHTTP(rec, req)
	id := rec.Header().Get(HeaderRequestID)
	if id == "" || id == "bad id with spaces" || SanitizeRequestID(id) != id {
		t.Fatalf("insane request id kept or none generated: %q", id)
	}
	line := logs.String()
	if strings.Contains(line, "mcp_secret_value") {
		t.Fatalf("api key in access log: %s", line)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &m); err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	if m["route"] != "/items/:id" || m["status"] != float64(200) {
		t.Fatalf("access log fields: %v", m)
	}
}

func TestMetricsByRoutePattern(t *testing.T) {
	e := newTestEngine(t, io.Discard)
	e.GET("/items/:id", func(c *gin.Context) { c.String(200, "ok") })
	for _, p := range []string{"/items/1", "/items/2", "/items/3", "/missing"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		`http_requests_total{method="GET",route="/items/:id",status="200"} 3`,
		`http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`http_request_duration_seconds_bucket{method="GET",route="/items/:id"`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("metrics lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `route="/items/1"`) {
		t.Fatal("raw path used as a label")
	}
}

func TestProbes(t *testing.T) {
	up := true
	p := NewProbes(map[string]health.Check{"db": func(context.Context) error {
		if up {
			return nil
		}
		return errors.New("down")
	}}, time.Second)
	e, _, err := NewEngine(Options{Logger: slog.New(slog.DiscardHandler), Probes: p})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) int {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	if get("/healthz") != 200 || get("/readyz") != 200 {
		t.Fatal("probes not ok when all is up")
	}
	up = false
	if get("/readyz") != 503 || get("/healthz") != 200 {
		t.Fatal("readyz must fail with a dependency down, healthz must not")
	}
	up = true
	p.StartDraining()
	if get("/readyz") != 503 {
		t.Fatal("readyz must fail while draining")
	}
	select {
	case <-p.Draining():
	default:
		t.Fatal("Draining channel not closed")
	}
}

// TestServeDrainsGracefully: readiness flips first, an in-flight request
// finishes, and Serve returns within the grace period.
func TestServeDrainsGracefully(t *testing.T) {
	p := NewProbes(nil, time.Second)
	e, _, err := NewEngine(Options{Logger: slog.New(slog.DiscardHandler), Probes: p})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	e.GET("/slow", func(c *gin.Context) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		c.String(200, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, slog.New(slog.DiscardHandler), NewServer("", e), ln, Shutdown{Probes: p, DrainDelay: 200 * time.Millisecond, Grace: 3 * time.Second})
	}()

	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- string(b)
	}()
	<-started
	begin := time.Now()
	cancel()
	time.Sleep(50 * time.Millisecond)
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("listener closed before the drain delay: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("readyz during drain = %d, want 503", resp.StatusCode)
	}
	if got := <-slow; got != "done" {
		t.Fatalf("in-flight request = %q, want done", got)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Fatalf("shutdown took %s, beyond the grace period", took)
	}
}
