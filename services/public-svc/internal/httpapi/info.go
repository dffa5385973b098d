package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

type layerFlags struct {
	Public bool `json:"public"`
	App    bool `json:"app"`
	MCP    bool `json:"mcp"`
}

type statusBody struct {
	Status        string     `json:"status"`
	UptimeSeconds int64      `json:"uptime_seconds"`
	Timestamp     string     `json:"timestamp"`
	APILayers     layerFlags `json:"api_layers"`
}

// status is the short answer for status pages: operational only when the
// health report is healthy. It reads the same cached report as /health.
func (h *handlers) status(c *gin.Context) error {
	r, err := h.Health.Report(c.Request.Context())
	if err != nil {
		return apperr.New(apperr.Canceled, "request_canceled", "the request ended before the checks finished").Wrap(err)
	}
	s := "operational"
	if r.Status != monitor.Healthy {
		s = "degraded"
	}
	c.JSON(http.StatusOK, statusBody{
		Status:        s,
		UptimeSeconds: h.uptime(),
		Timestamp:     rfc3339(time.Now()),
		APILayers:     layerFlags{Public: h.Layers.PublicEnabled, App: h.Layers.AppEnabled, MCP: h.Layers.MCPEnabled},
	})
	return nil
}

type layerInfo struct {
	Enabled bool   `json:"enabled"`
	Prefix  string `json:"prefix"`
	Auth    string `json:"auth"`
}

type infoBody struct {
	Name          string               `json:"name"`
	Version       string               `json:"version"`
	Environment   string               `json:"environment"`
	Description   string               `json:"description"`
	APILayers     map[string]layerInfo `json:"api_layers"`
	Features      map[string]bool      `json:"features"`
	Documentation map[string]string    `json:"documentation"`
}

// info describes the API. It tells which features are on, never how they
// are configured (no hosts, limits or keys).
func (h *handlers) info(c *gin.Context) error {
	c.JSON(http.StatusOK, infoBody{
		Name:        "Workflow Agent API Gateway",
		Version:     h.Version,
		Environment: h.Environment,
		Description: "Public, app and MCP APIs of the workflow-agent platform: design workflows with an AI agent, run them, and expose them as tools to LLM clients.",
		APILayers: map[string]layerInfo{
			"public": {Enabled: h.Layers.PublicEnabled, Prefix: "/api/public", Auth: "none"},
			"app":    {Enabled: h.Layers.AppEnabled, Prefix: "/api/app", Auth: "supabase_jwt"},
			"mcp":    {Enabled: h.Layers.MCPEnabled, Prefix: "/api/mcp", Auth: "api_key"},
		},
		Features: map[string]bool{
			"rate_limiting": h.RateLimitEnabled,
			"metrics":       h.MetricsEnabled,
			"docs":          h.DocsEnabled,
		},
		Documentation: map[string]string{
			"openapi": Prefix + "/openapi.json",
			"docs":    Prefix + "/docs",
		},
	})
	return nil
}
