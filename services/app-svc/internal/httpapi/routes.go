// Package httpapi is app-svc's HTTP transport: the /api/app routes, one
// file per resource. Every route sits behind the Supabase token check and
// the per-user limits; every handler runs its SQL in one transaction under
// the caller's claims (store.WithUser), so PostgreSQL's row level security
// decides what exists: another user's object is a 404, never a 403.
// Handlers return errors; httpx's middleware renders them.
package httpapi

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/services/app-svc/internal/workflows"
)

// Prefix is the App layer's path prefix at the edge and here.
const Prefix = "/api/app"

// DB runs a transaction under a user's verified claims (*store.Store).
type DB interface {
	WithUser(ctx context.Context, claimsJSON []byte, fn func(pgx.Tx) error) error
}

// Deps are what the handlers need.
type Deps struct {
	DB    DB
	Codec *workflows.Codec
	// Auth verifies the bearer token (auth.Verifier.Middleware); Limit
	// applies the per-user limits (ratelimit.Middleware with ByUser), nil
	// for none. Both run before every /api/app route, in that order.
	Auth  gin.HandlerFunc
	Limit gin.HandlerFunc
	// MaxBodyBytes bounds JSON request bodies (MAX_REQUEST_BODY_BYTES).
	MaxBodyBytes int64
	// Chat serves POST /chat/stream (chat_sse.go); nil answers 503 chat_disabled.
	Chat *Chat
	// Mount adds the routes of later features (chat stream, executions)
	// behind the same token check and limits.
	Mount []func(api gin.IRouter)
	Now   func() time.Time
}

type handlers struct{ Deps }

// Register mounts the App routes on r.
func Register(r gin.IRouter, d Deps) {
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &handlers{d}
	g := r.Group(Prefix, d.Auth)
	if d.Limit != nil {
		g.Use(d.Limit)
	}
	json := h.requireJSON

	g.GET("/auth/profile", httpx.Handle(h.profile))
	g.GET("/auth/sessions", httpx.Handle(h.listSessions))

	g.POST("/sessions", json, httpx.Handle(h.createSession))
	g.GET("/sessions/:id", httpx.Handle(h.getSession))
	g.PUT("/sessions/:id", json, httpx.Handle(h.updateSession))
	g.DELETE("/sessions/:id", httpx.Handle(h.deleteSession))

	g.GET("/chat/:session_id/messages", httpx.Handle(h.listMessages))
	g.POST("/chat/stream", json, httpx.Handle(h.chatStream))

	g.GET("/workflows", httpx.Handle(h.listWorkflows))
	g.POST("/workflows", json, httpx.Handle(h.createWorkflow))
	g.GET("/workflows/:id", httpx.Handle(h.getWorkflow))
	g.PUT("/workflows/:id", json, httpx.Handle(h.updateWorkflow))
	g.PATCH("/workflows/:id", json, httpx.Handle(h.updateWorkflow))
	g.DELETE("/workflows/:id", httpx.Handle(h.deleteWorkflow))

	g.GET("/api-keys", httpx.Handle(h.listAPIKeys))
	g.POST("/api-keys", json, httpx.Handle(h.createAPIKey))
	g.DELETE("/api-keys/:id", httpx.Handle(h.revokeAPIKey))

	files := httpx.Handle(h.files)
	g.GET("/files", files)
	g.POST("/files", files)
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		g.Handle(m, "/files/*path", files)
	}

	for _, mount := range d.Mount {
		mount(g)
	}
}
