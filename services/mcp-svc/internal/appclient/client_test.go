package appclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/wfagent/gateway/pkg/auth"
	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/services/mcp-svc/internal/tools"
)

const internalSecret = "test-internal-secret-0123456789abcdef"

func authConfig(t *testing.T) auth.Config {
	t.Helper()
	var c auth.Config
	if err := pkgconfig.Load(&c, pkgconfig.WithEnviron([]string{"JWT_SECRET_KEY=" + internalSecret, "SUPABASE_JWT_SECRET=test-supabase-secret-0123456789abcdef"}), pkgconfig.WithDotEnv("")); err != nil {
		t.Fatalf("auth config: %v", err)
	}
	return c
}

// seen is what the stand-in App API received.
type seen struct {
	method, path, query, body string
	user                      *auth.User
	requestID, traceparent    string
	idempotencyKey            string
}

// standIn serves the App API routes mcp-svc uses, behind the same token
// verifier app-svc uses, answering each with status and body. It is the
// App API contract (issue 4/6 text), not app-svc itself.
func standIn(t *testing.T, status int, body string) (*httptest.Server, func() []seen) {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), authConfig(t))
	if err != nil {
		t.Fatalf("verifier: %v", err)
	}
	var mu sync.Mutex
	var got []seen
	e := gin.New()
	e.ContextWithFallback = true
	e.Use(func(c *gin.Context) {
		c.Next()
		for _, err := range c.Errors {
			c.JSON(auth.AppError(err).Kind.HTTPStatus(), gin.H{"error": auth.AppError(err).Code, "message": err.Error(), "request_id": "x"})
		}
	}, v.Middleware())
	h := func(c *gin.Context) {
		b, _ := io.ReadAll(c.Request.Body)
		u, _ := auth.UserFrom(c.Request.Context())
		mu.Lock()
		got = append(got, seen{
			method: c.Request.Method, path: c.Request.URL.Path, query: c.Request.URL.RawQuery, body: string(b), user: u,
			requestID: c.GetHeader("X-Request-ID"), traceparent: c.GetHeader("traceparent"), idempotencyKey: c.GetHeader("Idempotency-Key"),
		})
		mu.Unlock()
		c.Header("Retry-After", "9")
		c.Data(status, "application/json", []byte(body))
	}
	e.GET("/api/app/workflows", h)
	e.POST("/api/app/workflows", h)
	e.GET("/api/app/workflows/:id", h)
	e.POST("/api/app/workflows/:id/execute", h)
	e.GET("/api/app/executions/:id", h)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), got...) }
}

func newClient(t *testing.T, url string) *Client {
	t.Helper()
	tokens, err := auth.NewInternalTokens(authConfig(t))
	if err != nil {
		t.Fatalf("tokens: %v", err)
	}
	c, err := New(url, tokens, 2*time.Second)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestRequestsCarryTheOwnerRequestIDAndTrace(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	tp := sdktrace.NewTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	owner := uuid.MustParse("00000000-0000-4000-8000-0000000000aa")
	id := "0b6f3c7e-6a53-4f43-9d67-5f6f0e0b2a11"
	tests := []struct {
		name                               string
		call                               func(c *Client, ctx context.Context) (json.RawMessage, error)
		method, path, query, body, idemKey string
	}{
		{"list", func(c *Client, ctx context.Context) (json.RawMessage, error) {
			return c.ListWorkflows(ctx, owner, 20, "next page")
		},
			"GET", "/api/app/workflows", "cursor=next+page&limit=20", "", ""},
		{"list without paging", func(c *Client, ctx context.Context) (json.RawMessage, error) {
			return c.ListWorkflows(ctx, owner, 0, "")
		},
			"GET", "/api/app/workflows", "", "", ""},
		{"get", func(c *Client, ctx context.Context) (json.RawMessage, error) { return c.GetWorkflow(ctx, owner, id) },
			"GET", "/api/app/workflows/" + id, "", "", ""},
		{"create", func(c *Client, ctx context.Context) (json.RawMessage, error) {
			return c.CreateWorkflow(ctx, owner, json.RawMessage(`{"name":"w"}`))
		}, "POST", "/api/app/workflows", "", `{"name":"w"}`, ""},
		{"execute", func(c *Client, ctx context.Context) (json.RawMessage, error) {
			return c.ExecuteWorkflow(ctx, owner, id, json.RawMessage(`{"x":1}`), "idem-1")
		}, "POST", "/api/app/workflows/" + id + "/execute", "", `{"inputs":{"x":1}}`, "idem-1"},
		{"execute without inputs", func(c *Client, ctx context.Context) (json.RawMessage, error) {
			return c.ExecuteWorkflow(ctx, owner, id, nil, "")
		}, "POST", "/api/app/workflows/" + id + "/execute", "", `{"inputs":{}}`, ""},
		{"execution", func(c *Client, ctx context.Context) (json.RawMessage, error) { return c.GetExecution(ctx, owner, id) },
			"GET", "/api/app/executions/" + id, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := standIn(t, http.StatusOK, `{"ok":true}`)
			ctx, span := otel.Tracer("test").Start(logx.WithRequestID(context.Background(), "req-123"), "parent")
			defer span.End()
			res, err := tt.call(newClient(t, srv.URL+"/"), ctx)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if string(res) != `{"ok":true}` {
				t.Fatalf("answer = %s", res)
			}
			s := got()
			if len(s) != 1 {
				t.Fatalf("requests = %d", len(s))
			}
			r := s[0]
			if r.method != tt.method || r.path != tt.path || r.query != tt.query || r.body != tt.body || r.idempotencyKey != tt.idemKey {
				t.Fatalf("request = %s %s?%s %s (idem %q)", r.method, r.path, r.query, r.body, r.idempotencyKey)
			}
			if r.user == nil || r.user.ID != owner || !r.user.Internal || r.user.Caller != "mcp-svc" {
				t.Fatalf("user = %+v, want internal token of %s from mcp-svc", r.user, owner)
			}
			if r.requestID != "req-123" {
				t.Fatalf("X-Request-ID = %q", r.requestID)
			}
			if tid := span.SpanContext().TraceID().String(); !strings.Contains(r.traceparent, tid) {
				t.Fatalf("traceparent %q does not continue trace %s", r.traceparent, tid)
			}
		})
	}
}

func TestErrorBodiesAreDecoded(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   tools.AppAPIError
	}{
		{"validation", 400, `{"error":"validation_error","message":"the request is invalid","request_id":"r","details":[{"field":"nodes[0].type","message":"unknown type"}]}`,
			tools.AppAPIError{Status: 400, Code: "validation_error", Message: "the request is invalid", RetryAfter: 9}},
		{"rate limited with retry_after", 429, `{"error":"rate_limit_exceeded","message":"too many requests","request_id":"r","retry_after":31}`,
			tools.AppAPIError{Status: 429, Code: "rate_limit_exceeded", Message: "too many requests", RetryAfter: 31}},
		{"not JSON", 502, `<html>bad gateway</html>`, tools.AppAPIError{Status: 502, Code: "bad_gateway", Message: "Bad Gateway", RetryAfter: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := standIn(t, tt.status, tt.body)
			_, err := newClient(t, srv.URL).ListWorkflows(context.Background(), uuid.New(), 0, "")
			var ae *tools.AppAPIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *AppAPIError", err)
			}
			if ae.Status != tt.want.Status || ae.Code != tt.want.Code || ae.Message != tt.want.Message || ae.RetryAfter != tt.want.RetryAfter {
				t.Fatalf("got %+v, want %+v", *ae, tt.want)
			}
			if tt.status == 400 && (len(ae.Details) != 1 || ae.Details[0].Field != "nodes[0].type") {
				t.Fatalf("details = %+v", ae.Details)
			}
		})
	}
}

func TestTokenFromAnotherSecretIsRefused(t *testing.T) {
	srv, got := standIn(t, http.StatusOK, `{}`)
	cfg := authConfig(t)
	cfg.InternalSecret = "another-secret-0123456789abcdefghijkl"
	tokens, _ := auth.NewInternalTokens(cfg)
	c, _ := New(srv.URL, tokens, time.Second)
	_, err := c.ListWorkflows(context.Background(), uuid.New(), 0, "")
	var ae *tools.AppAPIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 refusal", err)
	}
	if len(got()) != 0 {
		t.Fatal("the handler ran with a foreign token")
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	srv, _ := standIn(t, http.StatusOK, `{}`)
	url := srv.URL
	srv.Close()
	_, err := newClient(t, url).GetExecution(context.Background(), uuid.New(), "x")
	if !errors.Is(err, tools.ErrAppUnavailable) {
		t.Fatalf("err = %v, want ErrAppUnavailable", err)
	}
}

func TestInvalidJSONAnswerIsAnError(t *testing.T) {
	srv, _ := standIn(t, http.StatusOK, `not json`)
	if _, err := newClient(t, srv.URL).ListWorkflows(context.Background(), uuid.New(), 0, ""); err == nil {
		t.Fatal("want an error for a non-JSON 200")
	}
}
