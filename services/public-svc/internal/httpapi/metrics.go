package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
)

// requestCounts are pointers so an unreachable edge reads as null, not as
// a misleading zero.
type requestCounts struct {
	Public *uint64 `json:"public"`
	App    *uint64 `json:"app"`
	MCP    *uint64 `json:"mcp"`
	Total  *uint64 `json:"total"`
}

type metricsBody struct {
	UptimeSeconds int64         `json:"uptime_seconds"`
	Requests      requestCounts `json:"requests"`
	EdgeReachable bool          `json:"edge_reachable"`
	Timestamp     string        `json:"timestamp"`
}

// metrics is the public summary: uptime and request counts per layer, no
// latencies, error rates or hosts. Operators scrape the Prometheus
// /metrics of each service instead.
func (h *handlers) metrics(c *gin.Context) error {
	if !h.MetricsEnabled {
		return apperr.New(apperr.NotFound, "metrics_disabled", "public metrics are disabled")
	}
	body := metricsBody{UptimeSeconds: h.uptime(), Timestamp: rfc3339(time.Now())}
	// The scraper logs why the edge is unreachable; the client only learns that it is.
	if n, err := h.Requests.Counts(c.Request.Context()); err == nil {
		body.EdgeReachable = true
		body.Requests = requestCounts{Public: &n.Public, App: &n.App, MCP: &n.MCP, Total: &n.Total}
	}
	c.JSON(http.StatusOK, body)
	return nil
}
