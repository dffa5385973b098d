package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/auth"
	pkgconfig "github.com/wfagent/gateway/pkg/config"
	"github.com/wfagent/gateway/services/mcp-svc/internal/appclient"
	"github.com/wfagent/gateway/services/mcp-svc/internal/tools"
)

// standInAPI is the App API contract of issues 4 and 6 (routes, status
// codes, error bodies), served over real HTTP behind the same token
// verifier app-svc uses, and reached through mcp-svc's real client. It is a
// stand-in for app-svc, which is being written concurrently: the
// full-stack test against app-svc itself belongs to the lead.
func standInAPI(t testing.TB) tools.WorkflowAPI {
	t.Helper()
	var cfg auth.Config
	err := pkgconfig.Load(&cfg, pkgconfig.WithDotEnv(""), pkgconfig.WithEnviron([]string{
		"JWT_SECRET_KEY=test-internal-secret-0123456789abcdef", "SUPABASE_JWT_SECRET=test-supabase-secret-0123456789abcdef",
	}))
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	workflows := map[string]map[string]any{} // id → workflow, of ownerID only
	e := gin.New()
	e.ContextWithFallback = true
	e.Use(func(c *gin.Context) {
		c.Next()
		if len(c.Errors) > 0 {
			ae := auth.AppError(c.Errors.Last().Err)
			c.JSON(ae.Kind.HTTPStatus(), gin.H{"error": ae.Code, "message": ae.Message, "request_id": c.GetHeader("X-Request-ID")})
		}
	}, v.Middleware(), func(c *gin.Context) {
		// Every other user owns nothing here, as RLS would have it.
		if u, _ := auth.UserFrom(c.Request.Context()); u.ID != owner() {
			c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"error": "not_found", "message": "not found", "request_id": "r"})
		}
	})
	e.POST("/api/app/workflows", func(c *gin.Context) {
		var wf map[string]any
		_ = c.BindJSON(&wf)
		if wf["name"] == "invalid" {
			c.JSON(http.StatusBadRequest, gin.H{"error": "validation_error", "message": "the request is invalid", "request_id": "r",
				"details": []gin.H{{"field": "nodes[1].parameters.seconds", "message": "must be <= 3600"}}})
			return
		}
		wf["id"], wf["version"] = uuid.NewString(), 1
		mu.Lock()
		workflows[wf["id"].(string)] = wf
		mu.Unlock()
		c.JSON(http.StatusCreated, wf)
	})
	e.GET("/api/app/workflows", func(c *gin.Context) {
		mu.Lock()
		defer mu.Unlock()
		list := []map[string]any{}
		for _, wf := range workflows {
			list = append(list, wf)
		}
		c.JSON(http.StatusOK, gin.H{"workflows": list, "next_cursor": nil})
	})
	e.GET("/api/app/workflows/:id", func(c *gin.Context) {
		mu.Lock()
		wf, ok := workflows[c.Param("id")]
		mu.Unlock()
		if !ok {
			c.JSON(http.StatusNotFound, gin.H{"error": "not_found", "message": "workflow not found", "request_id": "r"})
			return
		}
		c.JSON(http.StatusOK, wf)
	})
	e.POST("/api/app/workflows/:id/execute", func(c *gin.Context) {
		c.JSON(http.StatusAccepted, gin.H{"execution_id": "7d0e4c36-52b5-4ef4-a3a8-5e6d4b0fd001", "status": "new"})
	})
	e.GET("/api/app/executions/:id", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "status": "success", "result": gin.H{"greeting": "hello"}})
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	tokens, err := auth.NewInternalTokens(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := appclient.New(srv.URL, tokens, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// structured decodes an invoke response's structured content.
func structured(t *testing.T, r response) (map[string]any, bool) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var res struct {
		Content []struct {
			Type, Text string
		} `json:"content"`
		StructuredContent map[string]any `json:"structuredContent"`
		IsError           bool           `json:"isError"`
	}
	if err := json.Unmarshal(r.body, &res); err != nil || len(res.Content) != 1 || res.Content[0].Type != "text" {
		t.Fatalf("not a tool result: %v: %s", err, r.body)
	}
	return res.StructuredContent, res.IsError
}
