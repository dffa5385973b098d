package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/services/mcp-svc/internal/tools"
)

// The MCP endpoint runs the official Go SDK's Streamable HTTP handler in
// stateless mode: every POST carries one exchange, no Mcp-Session-Id is
// issued and no session lives in a replica's memory, so any mcp-svc replica
// behind the edge can answer any request and no session affinity or shared
// session store is needed. Stateless mode loses only server-to-client
// requests (sampling, elicitation) and the standalone GET stream, which
// these tools do not use. Answers are application/json (JSONResponse)
// rather than one-message SSE streams: nothing here streams progress.
//
// The SDK serves initialize, ping, tools/list and tools/call and checks
// MCP-Protocol-Version. The gin chain in front of it checks the Origin,
// the signature and the key; mcpGate reads the JSON-RPC method(s) to apply
// the same scopes and limits as the REST routes.

// instructions is what an MCP client shows its model about this server.
const instructions = "Tools of the workflow-agent platform. Node knowledge (any key): get_node_types, get_node_details, search_nodes. " +
	"Workflows of the key's owner (keys with an owner): list_workflows, get_workflow, validate_workflow, create_workflow, " +
	"execute_workflow, get_execution. Design with the node tools, validate, create, execute, then poll get_execution."

func newMCPHandler(reg *tools.Registry, version string, log *slog.Logger) http.Handler {
	srv := mcp.NewServer(&mcp.Implementation{Name: "wfagent-mcp", Title: "Workflow Agent Gateway", Version: version}, &mcp.ServerOptions{
		Instructions: instructions,
		Logger:       log,
		// tools/list differs per key (owner-only tools): no shared caches.
		SetCacheable: func(_ context.Context, _ mcp.Request, c *mcp.Cacheable) { c.CacheScope = "private" },
	})
	for _, t := range reg.All() {
		name := t.Name
		srv.AddTool(&mcp.Tool{
			Name: t.Name, Description: t.Description, InputSchema: t.InputSchema,
			Annotations: &mcp.ToolAnnotations{
				Title: t.Annotations.Title, ReadOnlyHint: t.Annotations.ReadOnlyHint, DestructiveHint: t.Annotations.DestructiveHint,
				IdempotentHint: t.Annotations.IdempotentHint, OpenWorldHint: t.Annotations.OpenWorldHint,
			},
		}, func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			// ctx carries the HTTP request's values (stateless mode binds the
			// session to the request): the key, request id and trace span.
			res, err := reg.Call(ctx, callerOf(ctx), name, req.Params.Arguments)
			if err != nil {
				return nil, err // unknown tool: cannot happen, every tool is registered
			}
			out := &mcp.CallToolResult{StructuredContent: res.StructuredContent, IsError: res.IsError}
			for _, c := range res.Content {
				out.Content = append(out.Content, &mcp.TextContent{Text: c.Text})
			}
			return out, nil
		})
	}
	srv.AddReceivingMiddleware(hideOwnerTools(reg))
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		Stateless:           true,
		JSONResponse:        true,
		Logger:              log,
		MaxRequestBodyBytes: maxBodyBytes,
	})
}

// hideOwnerTools drops from tools/list the tools the caller may not use,
// as GET /api/mcp/tools does. Calling one anyway gets an isError result
// saying why.
func hideOwnerTools(reg *tools.Registry) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			res, err := next(ctx, method, req)
			if lr, ok := res.(*mcp.ListToolsResult); ok && err == nil {
				c := callerOf(ctx)
				lr.Tools = slices.DeleteFunc(lr.Tools, func(t *mcp.Tool) bool { return !reg.Visible(c, t.Name) })
			}
			return res, err
		}
	}
}

// checkOrigin refuses browser requests from origins outside CORS_ORIGINS
// (403 origin_not_allowed), as the MCP transport spec requires against DNS
// rebinding. Requests without Origin (servers, CLIs, desktop clients) pass.
func (h *handlers) checkOrigin() gin.HandlerFunc {
	allowed := map[string]bool{}
	anyOrigin := false
	for _, o := range h.Origins {
		if o == "*" {
			anyOrigin = true
		}
		allowed[normalizeOrigin(o)] = true
	}
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || (anyOrigin && origin != "null") || allowed[normalizeOrigin(origin)] {
			c.Next()
			return
		}
		_ = c.Error(apperr.New(apperr.PermissionDenied, "origin_not_allowed", "requests from origin "+origin+" are not accepted by the MCP endpoint"))
		c.Abort()
	}
}

// normalizeOrigin compares origins as browsers send them: lower case, no
// trailing slash.
func normalizeOrigin(o string) string { return strings.ToLower(strings.TrimSuffix(o, "/")) }

// methodScopes are the scopes MCP methods need; others (initialize, ping,
// notifications) need an authenticated key only.
var methodScopes = map[string]string{
	"tools/list": auth.ScopeToolsRead,
	"tools/call": auth.ScopeToolsExecute,
}

// mcpGate checks each JSON-RPC method's scope (403 insufficient_scope, in
// the MCP error shape) and applies the REST routes' limits: tools/call
// counts against the invoke policy, tools/list against the tools policy
// (the very same buckets as POST /invoke and GET /tools), anything else
// against the global policy only. A body that is not JSON-RPC passes on to
// the SDK, which answers it.
func (h *handlers) mcpGate() gin.HandlerFunc {
	pass := func(c *gin.Context) { c.Next() }
	limitInvoke, limitList, limitOther := pass, pass, pass
	if h.Limiter != nil {
		id := ratelimit.ByAPIKey(h.Tiers)
		route := strings.TrimPrefix(MCPPath, h.Table.Prefix)
		limitInvoke = ratelimit.Middleware(h.Limiter, onlyPolicy(h.Table, "invoke", route), id, h.LimitOptions)
		limitList = ratelimit.Middleware(h.Limiter, onlyPolicy(h.Table, "tools", route), id, h.LimitOptions)
		limitOther = ratelimit.Middleware(h.Limiter, onlyPolicy(h.Table, "", route), id, h.LimitOptions)
	}
	return func(c *gin.Context) {
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
		if err != nil {
			_ = c.Error(err)
			c.Abort()
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		methods := rpcMethods(body)
		for _, m := range methods {
			if scope, ok := methodScopes[m]; ok {
				if err := h.checkScope(c.Request.Context(), scope); err != nil {
					_ = c.Error(err)
					c.Abort()
					return
				}
			}
		}
		// The limiter middleware calls c.Next() when the request may go on.
		switch {
		case slices.Contains(methods, "tools/call"):
			limitInvoke(c)
		case slices.Contains(methods, "tools/list"):
			limitList(c)
		default:
			limitOther(c)
		}
	}
}

// onlyPolicy is t with only its global policy and the named one, the
// latter moved to route.
func onlyPolicy(t ratelimit.Table, name, route string) ratelimit.Table {
	out := ratelimit.Table{Layer: t.Layer, Prefix: t.Prefix, Global: t.Global}
	for _, p := range t.Policies {
		if p.Name == name {
			p.Routes = []string{route}
			out.Policies = []ratelimit.Policy{p}
		}
	}
	return out
}

// rpcMethods lists the methods of a JSON-RPC message or batch; nil when the
// body is not JSON-RPC.
func rpcMethods(body []byte) []string {
	type message struct {
		Method string `json:"method"`
	}
	body = bytes.TrimSpace(body)
	var msgs []message
	if len(body) > 0 && body[0] == '[' {
		if json.Unmarshal(body, &msgs) != nil {
			return nil
		}
	} else {
		var m message
		if json.Unmarshal(body, &m) != nil {
			return nil
		}
		msgs = []message{m}
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if m.Method != "" {
			out = append(out, m.Method)
		}
	}
	return out
}
