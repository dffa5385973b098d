package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/testkit"
)

const testSignSecret = "request-signing-secret-for-tests-0123456789"

func TestSignatures(t *testing.T) {
	rdb, prefix := testkit.Redis(t)
	guard := NewRedisReplayGuard(rdb, prefix)
	v, err := NewSignatureVerifier(testSignSecret, guard, SignatureOptions{Required: true})
	if err != nil {
		t.Fatal(err)
	}
	// A second replica sharing the Redis: replays across replicas count.
	other, _ := NewSignatureVerifier(testSignSecret, guard, SignatureOptions{Required: true})
	e, _, _ := testEngine(t)
	e.POST("/api/mcp/invoke", v.Middleware(), func(c *gin.Context) {
		b, _ := c.GetRawData()
		c.String(http.StatusOK, string(b)) // the handler still gets the body
	})
	e2, _, _ := testEngine(t)
	e2.POST("/api/mcp/invoke", other.Middleware(), func(c *gin.Context) { c.Status(http.StatusOK) })

	body := `{"tool":"list_workflows","arguments":{}}`
	now := time.Now().Unix()
	type req struct {
		method, target, body string
		ts                   int64
		signed               string // what was signed: method, uri, body; "" = same as sent
		noHeaders            bool
		sig                  string // overrides the computed signature
	}
	sendTo := func(e http.Handler, r req) (*httptest.ResponseRecorder, string) {
		hr := httptest.NewRequest(r.method, r.target, strings.NewReader(r.body))
		if !r.noHeaders {
			m, uri, b := r.method, r.target, r.body
			if r.signed != "" {
				parts := strings.SplitN(r.signed, " ", 3)
				m, uri, b = parts[0], parts[1], parts[2]
			}
			sig := Sign([]byte(testSignSecret), m, uri, r.ts, []byte(b))
			if r.sig != "" {
				sig = r.sig
			}
			hr.Header.Set(HeaderTimestamp, strconv.FormatInt(r.ts, 10))
			hr.Header.Set(HeaderSignature, sig)
		}
		w, b := do(e, hr)
		return w, b.Error
	}
	send := func(r req) (*httptest.ResponseRecorder, string) { return sendTo(e, r) }

	valid := req{method: "POST", target: "/api/mcp/invoke?x=1", body: body, ts: now}
	w, _ := send(valid)
	if w.Code != 200 || w.Body.String() != body {
		t.Fatalf("valid signature: %d %s", w.Code, w.Body)
	}

	tests := []struct {
		name string
		r    req
		code string
	}{
		{"replayed", valid, "signature_replayed"},
		{"expired (6 min old)", req{method: "POST", target: "/api/mcp/invoke", body: body, ts: now - 360}, "signature_expired"},
		{"from the future (6 min ahead)", req{method: "POST", target: "/api/mcp/invoke", body: body, ts: now + 360}, "signature_expired"},
		{"tampered body", req{method: "POST", target: "/api/mcp/invoke", body: `{"tool":"delete_all"}`, ts: now, signed: "POST /api/mcp/invoke " + body}, "invalid_signature"},
		{"tampered query", req{method: "POST", target: "/api/mcp/invoke?x=2", body: body, ts: now, signed: "POST /api/mcp/invoke?x=1 " + body}, "invalid_signature"},
		{"tampered path", req{method: "POST", target: "/api/mcp/invoke", body: body, ts: now, signed: "POST /api/mcp/tools " + body}, "invalid_signature"},
		{"tampered method", req{method: "POST", target: "/api/mcp/invoke", body: body, ts: now, signed: "GET /api/mcp/invoke " + body}, "invalid_signature"},
		{"signed with another secret", req{method: "POST", target: "/api/mcp/invoke", body: body + " ", ts: now,
			sig: Sign([]byte("another-secret-another-secret-another"), "POST", "/api/mcp/invoke", now, []byte(body+" "))}, "invalid_signature"},
		{"signature not hex", req{method: "POST", target: "/api/mcp/invoke", body: body, ts: now, sig: "zz"}, "invalid_signature"},
		{"unsigned", req{method: "POST", target: "/api/mcp/invoke", body: body, noHeaders: true}, "missing_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, code := send(tt.r)
			if w.Code != http.StatusUnauthorized || code != tt.code {
				t.Fatalf("status %d code %q, want 401 %q", w.Code, code, tt.code)
			}
		})
	}

	t.Run("replayed on another replica", func(t *testing.T) {
		r := req{method: "POST", target: "/api/mcp/invoke", body: body, ts: now - 1}
		if w, _ := sendTo(e2, r); w.Code != http.StatusOK {
			t.Fatalf("first use on replica 2: %d", w.Code)
		}
		if w, code := sendTo(e, r); w.Code != http.StatusUnauthorized || code != "signature_replayed" {
			t.Fatalf("replay on replica 1: %d %q", w.Code, code)
		}
	})

	t.Run("Verify errors are sentinels", func(t *testing.T) {
		err := v.Verify(t.Context(), "GET", "/", "", "", nil)
		if !errors.Is(err, ErrMissingSignature) {
			t.Fatal(err)
		}
	})
}

func TestSignatureOptionalAndReplayGuardDown(t *testing.T) {
	t.Run("optional: unsigned requests pass", func(t *testing.T) {
		v, _ := NewSignatureVerifier(testSignSecret, NewMemoryReplayGuard(), SignatureOptions{})
		e, _, _ := testEngine(t)
		e.POST("/x", v.Middleware(), func(c *gin.Context) { c.Status(http.StatusNoContent) })
		if w, _ := do(e, httptest.NewRequest("POST", "/x", strings.NewReader("{}"))); w.Code != http.StatusNoContent {
			t.Fatalf("status %d", w.Code)
		}
	})
	t.Run("memory guard refuses replays", func(t *testing.T) {
		g := NewMemoryReplayGuard()
		if fresh, _ := g.Remember(t.Context(), "a", time.Minute); !fresh {
			t.Fatal("first use not fresh")
		}
		if fresh, _ := g.Remember(t.Context(), "a", time.Minute); fresh {
			t.Fatal("replay fresh")
		}
	})
	t.Run("Redis down: refused with 503", func(t *testing.T) {
		rdb, _ := testkit.Redis(t)
		_ = rdb.Close()
		v, _ := NewSignatureVerifier(testSignSecret, NewRedisReplayGuard(rdb, "x:"), SignatureOptions{Required: true})
		now := time.Now().Unix()
		err := v.Verify(t.Context(), "GET", "/", strconv.FormatInt(now, 10), Sign([]byte(testSignSecret), "GET", "/", now, nil), nil)
		if !errors.Is(err, ErrReplayGuardUnavailable) || AppError(err).Kind.HTTPStatus() != http.StatusServiceUnavailable {
			t.Fatalf("error %v, want 503", err)
		}
	})
}
