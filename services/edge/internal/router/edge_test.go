package router

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/services/edge/internal/config"
	"github.com/wfagent/gateway/services/edge/internal/proxy"
)

// seen is what an upstream received.
type seen struct {
	Upstream string
	Method   string
	URI      string
	Header   http.Header
	Body     string
}

// upstream is a real HTTP server standing in for one service; it reports
// every request it gets and answers 200 with its name, unless handler says
// otherwise.
type upstream struct {
	name string
	srv  *httptest.Server
	got  chan seen
}

func newUpstream(t testing.TB, name string, handler http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{name: name, got: make(chan seen, 16)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case u.got <- seen{Upstream: name, Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: string(body)}:
		default:
		}
		if handler != nil {
			handler(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// next returns the request the upstream got, failing when there is none.
func (u *upstream) next(t *testing.T) seen {
	t.Helper()
	select {
	case s := <-u.got:
		return s
	case <-time.After(2 * time.Second):
		t.Fatalf("upstream %s got no request", u.name)
		return seen{}
	}
}

// none fails when the upstream got a request.
func (u *upstream) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-u.got:
		t.Fatalf("upstream %s got %s %s, want nothing", u.name, s.Method, s.URI)
	default:
	}
}

// logBuffer collects log lines written from server goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// accessLine waits for the access log line of path and returns it decoded.
func (b *logBuffer) accessLine(t *testing.T, path string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		lines := strings.Split(b.buf.String(), "\n")
		b.mu.Unlock()
		for _, l := range lines {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["path"] == path {
				return m
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no access log line for %s", path)
	return nil
}

// edge is the public engine under test, on a real listener.
type edge struct {
	url     string
	log     *logBuffer
	reg     *prometheus.Registry
	streams *proxy.Streams
}

// startEdge loads the configuration from environ (upstream URLs included)
// and serves the public engine.
func startEdge(t testing.TB, environ ...string) *edge {
	t.Helper()
	cfg, err := config.Load(pkgconfig.WithEnviron(environ), pkgconfig.WithDotEnv(""))
	if err != nil {
		t.Fatal(err)
	}
	lb := &logBuffer{}
	log, err := logx.New(lb, "json", "DEBUG")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	streams := proxy.NewStreams()
	e, err := Public(cfg, log, reg, streams)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &edge{url: srv.URL, log: lb, reg: reg, streams: streams}
}

// threeUpstreams starts public, app and mcp upstreams and returns them
// with the environment that points the edge at them.
func threeUpstreams(t testing.TB) (public, app, mcp *upstream, environ []string) {
	t.Helper()
	public, app, mcp = newUpstream(t, "public", nil), newUpstream(t, "app", nil), newUpstream(t, "mcp", nil)
	return public, app, mcp, []string{
		"PUBLIC_SVC_URL=" + public.srv.URL, "APP_SVC_URL=" + app.srv.URL, "MCP_SVC_URL=" + mcp.srv.URL,
	}
}

// closedPortURL is an http URL nobody listens on.
func closedPortURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

func do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func newRequest(t testing.TB, method, url string, body io.Reader, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// errorBody decodes DESIGN §3's error shape, failing when a field is missing.
func errorBody(t *testing.T, res *http.Response, body string) map[string]string {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON; body %q", ct, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	out := map[string]string{}
	for _, k := range []string{"error", "message", "request_id"} {
		s, _ := m[k].(string)
		if s == "" {
			t.Fatalf("body %q lacks %s", body, k)
		}
		out[k] = s
	}
	if out["request_id"] != res.Header.Get("X-Request-ID") {
		t.Errorf("request_id %q differs from X-Request-ID %q", out["request_id"], res.Header.Get("X-Request-ID"))
	}
	return out
}

// sseLines reads an event stream line by line, noting when each data line
// arrived.
func sseLines(t *testing.T, r io.Reader) (data []string, at []time.Time) {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
			at = append(at, time.Now())
		}
	}
	return data, at
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}
