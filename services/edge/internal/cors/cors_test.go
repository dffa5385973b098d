package cors

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/config"
)

func serve(c config.CORS, req *http.Request) *httptest.ResponseRecorder {
	e := gin.New()
	e.Use(Middleware(c))
	e.Any("/x", func(c *gin.Context) { c.Status(http.StatusOK) })
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w
}

func preflight(origin, headers string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, "/x", nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", "PUT")
	if headers != "" {
		r.Header.Set("Access-Control-Request-Headers", headers)
	}
	return r
}

func TestPolicies(t *testing.T) {
	base := config.CORS{AllowMethods: []string{"GET", "PUT"}, AllowHeaders: []string{"Authorization"}, MaxAge: time.Minute}
	with := func(f func(*config.CORS)) config.CORS { c := base; f(&c); return c }
	tests := []struct {
		name        string
		cfg         config.CORS
		req         *http.Request
		wantStatus  int
		wantOrigin  string
		wantCreds   string
		wantHeaders string
	}{
		{
			name:       "wildcard without credentials answers *",
			cfg:        with(func(c *config.CORS) { c.Origins = []string{"*"} }),
			req:        preflight("https://any.example", ""),
			wantStatus: 204, wantOrigin: "*", wantHeaders: "Authorization",
		},
		{
			// Validation refuses this configuration; the middleware still
			// never emits * with credentials if it gets it anyway.
			name:       "wildcard with credentials allows nobody",
			cfg:        with(func(c *config.CORS) { c.Origins = []string{"*"}; c.AllowCredentials = true }),
			req:        preflight("https://any.example", ""),
			wantStatus: 204,
		},
		{
			name:       "configured origin with trailing slash and capitals matches",
			cfg:        with(func(c *config.CORS) { c.Origins = []string{"https://App.example/"}; c.AllowCredentials = true }),
			req:        preflight("https://app.example", ""),
			wantStatus: 204, wantOrigin: "https://app.example", wantCreds: "true", wantHeaders: "Authorization",
		},
		{
			name: "allow-headers * echoes the requested headers",
			cfg: with(func(c *config.CORS) {
				c.Origins = []string{"https://app.example"}
				c.AllowCredentials = true
				c.AllowHeaders = []string{"*"}
			}),
			req:        preflight("https://app.example", "x-custom, authorization"),
			wantStatus: 204, wantOrigin: "https://app.example", wantCreds: "true", wantHeaders: "x-custom, authorization",
		},
		{
			name:       "no Origin header: not a CORS request",
			cfg:        with(func(c *config.CORS) { c.Origins = []string{"https://app.example"} }),
			req:        httptest.NewRequest(http.MethodGet, "/x", nil),
			wantStatus: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(tt.cfg, tt.req)
			h := w.Header()
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if got := h.Get("Access-Control-Allow-Credentials"); got != tt.wantCreds {
				t.Errorf("Allow-Credentials = %q, want %q", got, tt.wantCreds)
			}
			if got := h.Get("Access-Control-Allow-Headers"); got != tt.wantHeaders {
				t.Errorf("Allow-Headers = %q, want %q", got, tt.wantHeaders)
			}
			if h.Get("Access-Control-Allow-Origin") == "*" && h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("* together with credentials")
			}
		})
	}
}
