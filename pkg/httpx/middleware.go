package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/logx"
)

// HeaderRequestID carries the request id end to end.
const HeaderRequestID = "X-Request-ID"

// SanitizeRequestID returns id when it is 1–128 characters of
// [A-Za-z0-9._-], else "" (the caller then generates one).
func SanitizeRequestID(id string) string {
	if len(id) == 0 || len(id) > 128 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ""
		}
	}
	return id
}

// NewRequestID returns 128 random bits in hex.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequestID accepts a sane X-Request-ID or makes one, stores it in the
// request context for logs and outgoing calls, and echoes it.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := SanitizeRequestID(c.GetHeader(HeaderRequestID))
		if id == "" {
			id = NewRequestID()
		}
		c.Request.Header.Set(HeaderRequestID, id)
		c.Request = c.Request.WithContext(logx.WithRequestID(c.Request.Context(), id))
		c.Header(HeaderRequestID, id)
		c.Next()
	}
}

// AccessLog writes one line per request, with credentials redacted from the
// query string; request and trace ids come from the context.
func AccessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case c.Request.URL.Path == "/healthz" || c.Request.URL.Path == "/readyz" || c.Request.URL.Path == "/metrics":
			level = slog.LevelDebug
		}
		log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("method", c.Request.Method),
			slog.String("path", logx.RedactURL(c.Request.URL)),
			slog.String("route", routeOf(c)),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.Int("bytes", c.Writer.Size()),
			slog.String("client_ip", c.ClientIP()),
			slog.String("user_agent", c.Request.UserAgent()),
		)
	}
}

// Recovery turns a panic into the 500 body and logs the stack.
func Recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler { //nolint:errorlint // sentinel compared by identity, as net/http does
					panic(r)
				}
				log.ErrorContext(c.Request.Context(), "panic", "panic", r, "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					WriteError(c.Writer, c.Request, log, errors.New("panic"))
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// Errors renders the last error a handler recorded, once, in the JSON shape.
func Errors(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		WriteError(c.Writer, c.Request, log, c.Errors.Last().Err)
	}
}

// WriteError maps err to its status and JSON body. Causes of internal errors
// are logged, never sent.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = apperr.New(apperr.TooLarge, "request_too_large", "the request body exceeds the limit")
	}
	e := apperr.From(err)
	if e.Kind == apperr.Internal && log != nil {
		log.ErrorContext(r.Context(), "internal error", "error", err.Error(), "path", r.URL.Path)
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if e.Kind == apperr.ResourceExhausted {
		w.Header().Set("Retry-After", itoa(e.RetryAfter))
	}
	status := e.Kind.HTTPStatus()
	if e.Code == "method_not_allowed" {
		status = http.StatusMethodNotAllowed
	}
	writeJSON(w, status, apperr.BodyOf(e, logx.RequestID(r.Context()), r.URL.Path))
}
