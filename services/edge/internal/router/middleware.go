package router

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/services/edge/internal/metrics"
)

// countRequests feeds edge_requests_total. It runs inside httpx's error
// middleware, so the handlers after it write their errors themselves
// (abortWith) for the status to be final when it is counted.
func countRequests(m *metrics.Edge, layer string) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			m.Requests.WithLabelValues(layer, strconv.Itoa(c.Writer.Status())).Inc()
		}()
		c.Next()
	}
}

// limitBody refuses a declared length over max at once and cuts a chunked
// body at max; the proxy maps the cut (*http.MaxBytesError) to 413.
func limitBody(maxBytes int64, log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > maxBytes {
			abortWith(c, log, apperr.New(apperr.TooLarge, "request_too_large",
				fmt.Sprintf("the request body exceeds the limit of %d bytes", maxBytes)))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBytes)
	}
}

// rejectDotSegments refuses "." and ".." path segments (also when sent
// percent-encoded). gin routes on the path as sent, so /api/public/../app/x
// would reach public-svc carrying a path that names another layer; no
// browser or ordinary client sends such paths, so refusing beats guessing
// how each upstream would resolve them.
func rejectDotSegments(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		for seg := range strings.SplitSeq(c.Request.URL.Path, "/") {
			if seg == "." || seg == ".." {
				abortWith(c, log, apperr.BadRequest(`the path must not contain "." or ".." segments`))
				return
			}
		}
	}
}

// layerDisabled answers for a layer switched off (PUBLIC_API_ENABLED …).
func layerDisabled(layer string, log *slog.Logger) gin.HandlerFunc {
	err := apperr.New(apperr.NotFound, "api_layer_disabled", fmt.Sprintf("the %s API is disabled", layer))
	return func(c *gin.Context) { abortWith(c, log, err) }
}

func abortWith(c *gin.Context, log *slog.Logger, err error) {
	httpx.WriteError(c.Writer, c.Request, log, err)
	c.Abort()
}
