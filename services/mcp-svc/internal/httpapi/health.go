package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/health"
)

// healthReport is GET /api/mcp/health.
type healthReport struct {
	Status  string          `json:"status"` // healthy | degraded
	Service string          `json:"service"`
	Version string          `json:"version"`
	Tools   healthTools     `json:"tools"`
	Checks  map[string]bool `json:"checks"`
	// Timestamp is when the checks ran.
	Timestamp string `json:"timestamp"`
}

type healthTools struct {
	// Available counts the tools this key may use; Total every tool.
	Available int `json:"available"`
	Total     int `json:"total"`
}

// health reports the layer and its dependencies. A failed dependency makes
// it degraded, still 200: the node tools work without app-svc or Redis
// (limits fail open), so the layer keeps answering.
func (h *handlers) health(c *gin.Context) error {
	res := health.Run(c.Request.Context(), h.Checks, h.CheckTimeout)
	r := healthReport{
		Status: "healthy", Service: "mcp-svc", Version: h.Version,
		Tools:     healthTools{Available: len(h.Registry.List(callerOf(c.Request.Context()))), Total: len(h.Registry.All())},
		Checks:    make(map[string]bool, len(res)),
		Timestamp: time.Now().UTC().Format(time.RFC3339),
	}
	for name, x := range res {
		r.Checks[name] = x.OK
		if !x.OK {
			r.Status = "degraded"
		}
	}
	c.JSON(http.StatusOK, r)
	return nil
}
