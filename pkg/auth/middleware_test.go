package auth

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
)

// testEngine is the services' engine with a buffer for its logs.
func testEngine(t *testing.T) (*gin.Engine, *bytes.Buffer, *slog.Logger) {
	t.Helper()
	var buf bytes.Buffer
	log, err := logx.New(&buf, "json", "DEBUG")
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := httpx.NewEngine(httpx.Options{Service: "test", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return e, &buf, log
}

func do(e http.Handler, req *http.Request) (*httptest.ResponseRecorder, apperr.Body) {
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	var body apperr.Body
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return w, body
}

func TestMiddleware(t *testing.T) {
	testKeys(t)
	f := newFakeSupabase(t, ecA)
	v := newTestVerifier(t, f)
	e, _, _ := testEngine(t)
	e.GET("/api/app/me", v.Middleware(), func(c *gin.Context) {
		u, ok := UserFrom(c)
		if !ok {
			c.Status(http.StatusTeapot)
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": u.ID.String()})
	})
	iss := f.URL + "/auth/v1"
	sub := uuid.NewString()
	c := goodClaims(iss)
	c["sub"] = sub
	good := sign(t, ecA.alg, ecA.priv, ecA.kid, c)
	expired := goodClaims(iss)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()

	tests := []struct {
		name          string
		authorization string
		status        int
		code          string
		wwwAuth       string // exact, for the RFC 6750 shape
	}{
		{"good token", "Bearer " + good, 200, "", ""},
		{"scheme in lower case", "bearer " + good, 200, "", ""},
		{"no header", "", 401, "missing_token", `Bearer realm="wfagent-app"`},
		{"basic credentials", "Basic dXNlcjpwYXNz", 401, "missing_token", `Bearer realm="wfagent-app"`},
		{"garbage token", "Bearer abc.def.ghi", 401, "invalid_token",
			`Bearer realm="wfagent-app", error="invalid_token", error_description="the access token is invalid"`},
		{"expired token", "Bearer " + sign(t, ecA.alg, ecA.priv, ecA.kid, expired), 401, "token_expired",
			`Bearer realm="wfagent-app", error="invalid_token", error_description="the access token has expired"`},
		{"alg none", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", goodClaims(iss)), 401, "invalid_token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/app/me", nil)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			w, body := do(e, req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.status == 200 {
				if !strings.Contains(w.Body.String(), sub) {
					t.Fatalf("handler did not see the user: %s", w.Body)
				}
				return
			}
			if body.Error != tt.code || body.RequestID == "" {
				t.Fatalf("body %+v, want error %q with a request id", body, tt.code)
			}
			got := w.Header().Get("WWW-Authenticate")
			if tt.wwwAuth != "" && got != tt.wwwAuth {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.wwwAuth)
			}
			if !strings.HasPrefix(got, "Bearer ") {
				t.Fatalf("WWW-Authenticate %q", got)
			}
		})
	}
}
