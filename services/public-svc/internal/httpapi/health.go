package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/services/public-svc/internal/monitor"
)

type healthBody struct {
	Status    string          `json:"status"`
	Version   string          `json:"version"`
	Checks    map[string]bool `json:"checks"`
	Timestamp string          `json:"timestamp"`
}

// health answers 200 while anything still works (healthy or degraded) and
// 503 only when every core dependency is down, so load balancers and
// uptime monitors keep sending traffic through partial outages.
func (h *handlers) health(c *gin.Context) error {
	if !h.HealthEnabled {
		return apperr.New(apperr.NotFound, "health_check_disabled", "the aggregated health check is disabled")
	}
	r, err := h.Health.Report(c.Request.Context())
	if err != nil {
		return apperr.New(apperr.Canceled, "request_canceled", "the request ended before the checks finished").Wrap(err)
	}
	code := http.StatusOK
	if r.Status == monitor.Unhealthy {
		code = http.StatusServiceUnavailable
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(code, healthBody{Status: r.Status, Version: h.Version, Checks: r.Checks, Timestamp: rfc3339(r.CheckedAt)})
	return nil
}
