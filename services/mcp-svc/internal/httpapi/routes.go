// Package httpapi is mcp-svc's HTTP transport: the REST API of the original
// design (tools, invoke, health) and the Model Context Protocol endpoint
// (Streamable HTTP, official Go SDK), both over one tool registry, behind
// the same API keys, signatures, scopes and per-client limits. Every error
// of the layer is rendered in the MCP error shape (errors.go).
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/auth"
	"github.com/wfagent/gateway/pkg/health"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/ratelimit"
	"github.com/wfagent/gateway/services/mcp-svc/internal/tools"
)

// Prefix is the MCP layer's path prefix at the edge and here.
const Prefix = "/api/mcp"

// MCPPath is the Model Context Protocol endpoint (Streamable HTTP, POST).
const MCPPath = Prefix + "/mcp"

// maxBodyBytes bounds request bodies (invoke arguments, MCP messages).
const maxBodyBytes = 1 << 20

// Deps are what the handlers need.
type Deps struct {
	Version  string
	Registry *tools.Registry
	Logger   *slog.Logger

	// Keys authenticates API keys; KeysRequired mirrors MCP_API_KEY_REQUIRED
	// (false lets key-less requests through, development only).
	Keys         *auth.APIKeyAuth
	KeysRequired bool
	// Signatures, when set, verifies X-Timestamp/X-Signature (API_SECRET_KEY).
	Signatures *auth.SignatureVerifier

	// Limiter applies Table per API key, scaled by Tiers; nil: no limits.
	Limiter      ratelimit.Limiter
	Table        ratelimit.Table
	Tiers        map[string]float64
	LimitOptions ratelimit.Options

	// Origins are CORS_ORIGINS: the browser origins the MCP endpoint accepts.
	Origins []string

	// Checks are the dependencies /api/mcp/health reports, each bounded by
	// CheckTimeout.
	Checks       map[string]health.Check
	CheckTimeout time.Duration
}

type handlers struct {
	Deps
	mcp http.Handler
}

// Register mounts the MCP layer on e. It also answers unmatched routes, so
// that every error of the service has the MCP shape.
func Register(e *gin.Engine, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	h := &handlers{Deps: d, mcp: newMCPHandler(d.Registry, d.Version, d.Logger)}
	errs := Errors(d.Logger)

	// Authentication: a signature (when sent or required) and then the key.
	authn := []gin.HandlerFunc{errs}
	if d.Signatures != nil {
		authn = append(authn, d.Signatures.Middleware())
	}
	authn = append(authn, d.Keys.Middleware())

	// Scope before limits: a request refused for its scope costs no quota,
	// on REST as on the MCP endpoint.
	limit := func(c *gin.Context) { c.Next() }
	if d.Limiter != nil {
		limit = ratelimit.Middleware(d.Limiter, d.Table, ratelimit.ByAPIKey(d.Tiers), d.LimitOptions)
	}
	rest := e.Group(Prefix, authn...)
	rest.GET("/tools", h.requireScope(auth.ScopeToolsRead), limit, httpx.Handle(h.listTools))
	rest.GET("/tools/:tool_name", h.requireScope(auth.ScopeToolsRead), limit, httpx.Handle(h.getTool))
	rest.POST("/invoke", h.requireScope(auth.ScopeToolsExecute), limit, httpx.Handle(h.invoke))
	rest.GET("/health", h.requireScope(auth.ScopeHealthCheck), limit, httpx.Handle(h.health))

	// The MCP endpoint checks the Origin before anything else, then scopes
	// and limits per JSON-RPC method (mcp.go).
	chain := append([]gin.HandlerFunc{errs, h.checkOrigin()}, authn[1:]...)
	chain = append(chain, h.mcpGate(), gin.WrapH(h.mcp))
	e.POST(MCPPath, chain...)

	e.NoRoute(errs, func(c *gin.Context) {
		_ = c.Error(apperr.New(apperr.NotFound, "not_found", "no route for "+c.Request.Method+" "+c.Request.URL.Path))
	})
	e.NoMethod(errs, func(c *gin.Context) {
		_ = c.Error(&apperr.Error{Kind: apperr.InvalidArgument, Code: "method_not_allowed", Message: c.Request.Method + " is not allowed here"})
	})
}

// callerOf reduces the request's key to what tools need.
func callerOf(ctx context.Context) tools.Caller {
	k, ok := auth.APIKeyFrom(ctx)
	if !ok {
		return tools.Caller{Client: "anonymous"}
	}
	return tools.Caller{Owner: k.Owner, Client: k.ClientName}
}

// checkScope refuses a request whose key lacks scope (403
// insufficient_scope, naming the scope). Key-less requests pass only when
// keys are not required.
func (h *handlers) checkScope(ctx context.Context, scope string) error {
	k, ok := auth.APIKeyFrom(ctx)
	if !ok {
		if h.KeysRequired {
			return auth.AppError(auth.ErrMissingAPIKey)
		}
		return nil
	}
	if err := auth.CheckScopes(k, scope); err != nil {
		e := auth.AppError(err)
		e.Message = "the API key lacks the scope " + scope + " that this call needs"
		// RFC 6750 §3.1 and the MCP authorization spec: name the scope.
		return e.WithHeader("WWW-Authenticate", `Bearer realm="wfagent-mcp", error="insufficient_scope", scope="`+scope+`"`)
	}
	return nil
}

func (h *handlers) requireScope(scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h.checkScope(c.Request.Context(), scope); err != nil {
			_ = c.Error(err)
			c.Abort()
		}
	}
}
