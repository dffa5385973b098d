package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
)

// engine builds the services' gin engine with routes under /api/public.
func engine(t *testing.T, trusted []string, mw func(*slog.Logger) gin.HandlerFunc) (*gin.Engine, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	log, _ := logx.New(&buf, "json", "INFO")
	e, _, err := httpx.NewEngine(httpx.Options{Service: "test", Logger: log, TrustedProxies: trusted})
	if err != nil {
		t.Fatal(err)
	}
	g := e.Group("/api/public", mw(log))
	ok := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
	g.GET("/health", ok)
	g.GET("/info", ok)
	g.GET("/docs/*any", ok)
	g.GET("/status", ok)
	g.GET("/other", ok)
	return e, &buf
}

func get(e http.Handler, path, remote string, hdr ...string) (*httptest.ResponseRecorder, apperr.Body) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	var b apperr.Body
	_ = json.Unmarshal(w.Body.Bytes(), &b)
	return w, b
}

func smallTable() Table {
	t := DefaultTable(Public)
	t.Global.Limit = Limit{5, time.Hour}
	t.Policies[0].Limit = Limit{3, time.Minute} // health
	return t
}

func TestMiddlewareHeadersAnd429(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			e, _ := engine(t, nil, func(log *slog.Logger) gin.HandlerFunc {
				return Middleware(impl.new(t), smallTable(), ByIP, Options{Logger: log})
			})
			for i := range 3 {
				w, _ := get(e, "/api/public/health", "203.0.113.7:5000")
				if w.Code != 200 {
					t.Fatalf("request %d: %d", i+1, w.Code)
				}
				h := w.Header()
				if got := h.Get("RateLimit-Policy"); got != `"health";q=3;w=60, "global";q=5;w=3600` {
					t.Fatalf("RateLimit-Policy %q", got)
				}
				want := regexp.MustCompile(`^"health";r=` + strconv.Itoa(2-i) + `;t=\d+, "global";r=` + strconv.Itoa(4-i) + `;t=\d+$`)
				if got := h.Get("RateLimit"); !want.MatchString(got) {
					t.Fatalf("RateLimit %q, want %s", got, want)
				}
				if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) {
					t.Fatalf("X-RateLimit-* %v", h)
				}
				reset, _ := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
				if d := time.Until(time.Unix(reset, 0)); d < 0 || d > 61*time.Second {
					t.Fatalf("X-RateLimit-Reset %d is %s away", reset, d)
				}
			}
			w, body := get(e, "/api/public/health", "203.0.113.7:5000")
			if w.Code != http.StatusTooManyRequests || body.Error != "rate_limit_exceeded" {
				t.Fatalf("4th request: %d %+v", w.Code, body)
			}
			// 3/minute: the next request is allowed 20s after the first.
			if w.Header().Get("Retry-After") != "20" || body.RetryAfter == nil || *body.RetryAfter != 20 {
				t.Fatalf("Retry-After %q, retry_after %v, want 20", w.Header().Get("Retry-After"), body.RetryAfter)
			}
			if !strings.HasPrefix(w.Header().Get("RateLimit"), `"health";r=0;t=`) {
				t.Fatalf("RateLimit on 429: %q", w.Header().Get("RateLimit"))
			}
		})
	}
}

// The route policy and the global one both apply: the global budget is
// spent by every route, and a route-refused request does not spend it.
func TestMiddlewareRouteAndGlobalBothApply(t *testing.T) {
	e, _ := engine(t, nil, func(log *slog.Logger) gin.HandlerFunc {
		return Middleware(NewMemory(), smallTable(), ByIP, Options{Logger: log})
	})
	ip := "198.51.100.9:1"
	codes := []int{}
	for _, p := range []string{"/api/public/health", "/api/public/health", "/api/public/health", "/api/public/health", // 4th: health refuses
		"/api/public/info", "/api/public/status", "/api/public/info"} { // global 5: info, status pass, 3rd is refused
		w, _ := get(e, p, ip)
		codes = append(codes, w.Code)
	}
	want := []int{200, 200, 200, 429, 200, 200, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes %v, want %v", codes, want)
		}
	}
	w, _ := get(e, "/api/public/other", ip)
	if got := w.Header().Get("RateLimit-Policy"); got != `"global";q=5;w=3600` {
		t.Fatalf("unmatched route RateLimit-Policy %q, want the global policy only", got)
	}
}

// recorder is a Limiter that remembers the keys it was asked about.
type recorder struct {
	mu   sync.Mutex
	keys []string
}

func (r *recorder) Allow(_ context.Context, key string, l Limit) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, key)
	return Result{Allowed: true, Limit: l, Remaining: l.Requests - 1}, nil
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[len(r.keys)-1]
}

func TestClientIPOnlyFromTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		remote  string
		xff     string
		want    string
	}{
		{"no proxy trusted: XFF ignored", nil, "203.0.113.7:5000", "1.2.3.4", "ip:203.0.113.7"},
		{"untrusted peer: XFF ignored", []string{"10.0.0.0/8"}, "203.0.113.7:5000", "1.2.3.4", "ip:203.0.113.7"},
		{"trusted proxy: client from XFF", []string{"10.0.0.0/8"}, "10.1.2.3:5000", "1.2.3.4", "ip:1.2.3.4"},
		{"trusted proxy: spoofed left-most entry ignored", []string{"10.0.0.0/8"}, "10.1.2.3:5000", "6.6.6.6, 1.2.3.4", "ip:1.2.3.4"},
		{"trusted chain walked right to left", []string{"10.0.0.0/8"}, "10.1.2.3:5000", "6.6.6.6, 1.2.3.4, 10.9.9.9", "ip:1.2.3.4"},
		{"IPv6 keyed by /64", nil, "[2001:db8:1:2:aaaa::1]:5000", "", "ip6:2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6 is IPv4", nil, "[::ffff:203.0.113.7]:5000", "", "ip:203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			e, _ := engine(t, tt.trusted, func(log *slog.Logger) gin.HandlerFunc {
				return Middleware(rec, DefaultTable(Public), ByIP, Options{Logger: log})
			})
			hdr := []string{}
			if tt.xff != "" {
				hdr = []string{"X-Forwarded-For", tt.xff}
			}
			if w, _ := get(e, "/api/public/status", tt.remote, hdr...); w.Code != 200 {
				t.Fatalf("status %d", w.Code)
			}
			if got := rec.last(); got != "public:global:"+tt.want {
				t.Fatalf("limited as %q, want %q", got, "public:global:"+tt.want)
			}
		})
	}
}

func TestIdentities(t *testing.T) {
	tiers := map[string]float64{"premium": 5}
	user := &auth.User{ID: uuid.New()}
	key := &auth.APIKey{ID: "k-1", Tier: "premium"}
	tests := []struct {
		name     string
		id       Identity
		ctx      func(context.Context) context.Context
		wantKey  string
		wantMult float64
	}{
		{"user", ByUser, func(c context.Context) context.Context { return auth.WithUser(c, user) }, "user:" + user.ID.String(), 1},
		{"no user falls back to IP", ByUser, func(c context.Context) context.Context { return c }, "ip:192.0.2.1", 1},
		{"api key with tier", ByAPIKey(tiers), func(c context.Context) context.Context { return auth.WithAPIKey(c, key) }, "key:k-1", 5},
		{"api key of unknown tier", ByAPIKey(nil), func(c context.Context) context.Context { return auth.WithAPIKey(c, key) }, "key:k-1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
			c.Request.RemoteAddr = "192.0.2.1:1"
			c.Request = c.Request.WithContext(tt.ctx(c.Request.Context()))
			k, m := tt.id(c)
			if k != tt.wantKey || m != tt.wantMult {
				t.Fatalf("got %q ×%v, want %q ×%v", k, m, tt.wantKey, tt.wantMult)
			}
		})
	}
}

func TestTierMultiplierScalesLimits(t *testing.T) {
	rec := &recorder{}
	tbl := DefaultTable(MCP)
	e, _, _ := httpx.NewEngine(httpx.Options{Logger: slog.New(slog.DiscardHandler)})
	key := &auth.APIKey{ID: "k-9", Tier: "premium"}
	e.GET("/api/mcp/tools", func(c *gin.Context) {
		c.Request = c.Request.WithContext(auth.WithAPIKey(c.Request.Context(), key))
	}, Middleware(rec, tbl, ByAPIKey(map[string]float64{"premium": 5}), Options{}), func(c *gin.Context) {})
	w, _ := get(e, "/api/mcp/tools", "192.0.2.1:1")
	if got := w.Header().Get("RateLimit-Policy"); got != `"tools";q=25000;w=3600, "global";q=250000;w=3600` {
		t.Fatalf("RateLimit-Policy %q, want 5× the defaults", got)
	}
}

// closedPort is a local port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// blackHole accepts connections and never answers: a hung Redis.
func blackHole(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

func TestRedisDownFailsOpenOrClosed(t *testing.T) {
	const bound = 50 * time.Millisecond
	tests := []struct {
		name       string
		addr       func(t *testing.T) string
		failClosed bool
		status     int
		code       string
	}{
		{"closed port, fail open", closedPort, false, 200, ""},
		{"closed port, fail closed", closedPort, true, 503, "rate_limiter_unavailable"},
		{"hung Redis, fail open", blackHole, false, 200, ""},
		{"hung Redis, fail closed", blackHole, true, 503, "rate_limiter_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: tt.addr(t), ContextTimeoutEnabled: true, MaxRetries: -1})
			t.Cleanup(func() { _ = rdb.Close() })
			l, err := NewRedis(rdb, "x:")
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			m, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			e, logs := engine(t, nil, func(log *slog.Logger) gin.HandlerFunc {
				return Middleware(l, DefaultTable(Public), ByIP, Options{FailClosed: tt.failClosed, CheckTimeout: bound, Metrics: m, Logger: log})
			})
			for i := range 3 {
				start := time.Now()
				w, body := get(e, "/api/public/health", "192.0.2.1:1")
				took := time.Since(start)
				if w.Code != tt.status || body.Error != tt.code {
					t.Fatalf("request %d: %d %+v, want %d %q", i+1, w.Code, body, tt.status, tt.code)
				}
				// The bound plus scheduling slack on a busy 2-core machine.
				if took > bound+100*time.Millisecond {
					t.Fatalf("request %d took %s, bound is %s", i+1, took, bound)
				}
			}
			action := "fail_open"
			if tt.failClosed {
				action = "fail_closed"
			}
			if got := testutil.ToFloat64(m.failures.WithLabelValues("public", action)); got != 3 {
				t.Fatalf("%s counter %v, want 3", action, got)
			}
			if n := strings.Count(logs.String(), "rate limiter unavailable"); n != 1 {
				t.Fatalf("%d log lines for 3 failures, want 1 (throttled)", n)
			}
		})
	}
}

func TestMetricsRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMetrics(reg)
	if err != nil || a.decisions != b.decisions {
		t.Fatalf("second registration: %v", err)
	}
}
