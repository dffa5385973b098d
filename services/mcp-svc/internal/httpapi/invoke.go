package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/services/mcp-svc/internal/tools"
)

// invokeRequest is POST /api/mcp/invoke: {name, arguments}, or the legacy
// {tool_name, params} / {tool_name, parameters}.
type invokeRequest struct {
	Name       string          `json:"name"`
	Arguments  json.RawMessage `json:"arguments"`
	ToolName   string          `json:"tool_name"`
	Params     json.RawMessage `json:"params"`
	Parameters json.RawMessage `json:"parameters"`
}

// resolve merges the current and the legacy field names.
func (r invokeRequest) resolve() (string, json.RawMessage, error) {
	var problems []apperr.FieldError
	name := r.Name
	switch {
	case name == "":
		name = r.ToolName
	case r.ToolName != "" && r.ToolName != name:
		problems = append(problems, apperr.FieldError{Field: "tool_name", Message: "differs from name; send one of them"})
	}
	if name == "" {
		problems = append(problems, apperr.FieldError{Field: "name", Message: "is required (the tool to call)"})
	}
	var args json.RawMessage
	set := 0
	for _, a := range []json.RawMessage{r.Arguments, r.Params, r.Parameters} {
		if len(a) > 0 {
			args = a
			set++
		}
	}
	if set > 1 {
		problems = append(problems, apperr.FieldError{Field: "arguments", Message: "send arguments, params or parameters, not several"})
	}
	if len(problems) > 0 {
		return "", nil, apperr.Validation(problems...)
	}
	return name, args, nil
}

// invoke calls a tool. An existing tool always answers 200 with a result;
// its failures are isError results, as over MCP.
func (h *handlers) invoke(c *gin.Context) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	if err != nil {
		return err
	}
	var req invokeRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return apperr.BadRequest("the body must be a JSON object: {\"name\": \"<tool>\", \"arguments\": {…}}")
	}
	name, args, err := req.resolve()
	if err != nil {
		return err
	}
	res, err := h.Registry.Call(c.Request.Context(), callerOf(c.Request.Context()), name, args)
	switch {
	case errors.Is(err, tools.ErrUnknownTool):
		return apperr.New(apperr.NotFound, "tool_not_found", fmt.Sprintf("no tool named %q", name))
	case err != nil:
		return err
	}
	// PureJSON: messages quote schema errors ("must be <= 3600") verbatim.
	c.PureJSON(http.StatusOK, res)
	return nil
}
