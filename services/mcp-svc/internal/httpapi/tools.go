package httpapi

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/services/mcp-svc/internal/tools"
)

// toolList is GET /api/mcp/tools.
type toolList struct {
	Tools []tools.Tool `json:"tools"`
	Total int          `json:"total"`
}

// listTools lists the tools the key may use: the workflow tools only for
// keys with an owner.
func (h *handlers) listTools(c *gin.Context) error {
	ts := h.Registry.List(callerOf(c.Request.Context()))
	c.JSON(http.StatusOK, toolList{Tools: ts, Total: len(ts)})
	return nil
}

func (h *handlers) getTool(c *gin.Context) error {
	name := c.Param("tool_name")
	t, err := h.lookup(c, name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, t)
	return nil
}

// lookup finds a tool the key may see, or says why not (404 tool_not_found).
func (h *handlers) lookup(c *gin.Context, name string) (tools.Tool, error) {
	t, ok, ownerOnly := h.Registry.Lookup(callerOf(c.Request.Context()), name)
	switch {
	case ok:
		return t, nil
	case ownerOnly:
		return tools.Tool{}, apperr.New(apperr.NotFound, "tool_not_found", fmt.Sprintf(
			"tool %q works on the workflows of the API key's owner, and this key has no owner", name))
	}
	return tools.Tool{}, apperr.New(apperr.NotFound, "tool_not_found", fmt.Sprintf("no tool named %q", name))
}
