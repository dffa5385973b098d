package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/logx"
)

// ErrorBody is the MCP layer's error shape: the original design's
// MCPErrorResponse. error is the same snake_case code the other layers put
// in their error field; error_type is the original's upper-case category.
type ErrorBody struct {
	Success             bool         `json:"success"`
	Error               string       `json:"error"`
	Message             string       `json:"message"`
	ErrorType           string       `json:"error_type"`
	Details             ErrorDetails `json:"details"`
	ErrorID             string       `json:"error_id"`
	RequestID           string       `json:"request_id"`
	Retryable           bool         `json:"retryable"`
	RetryAfter          *int         `json:"retry_after"`
	Timestamp           string       `json:"timestamp"`
	RecoverySuggestions []string     `json:"recovery_suggestions"`
	SupportInfo         SupportInfo  `json:"support_info"`
}

// ErrorDetails says more about an error where there is more to say.
type ErrorDetails struct {
	Status int                 `json:"status"`
	Fields []apperr.FieldError `json:"fields,omitempty"` // validation
	Path   string              `json:"path,omitempty"`   // 500
}

// SupportInfo tells a client where to look and what to quote.
type SupportInfo struct {
	Documentation string `json:"documentation"`
	Contact       string `json:"contact"`
}

var support = SupportInfo{
	Documentation: "/api/public/docs",
	Contact:       "Quote error_id and request_id when you report a problem.",
}

// errorTypes maps each kind to the original design's MCPErrorType.
var errorTypes = map[apperr.Kind]string{
	apperr.Internal:           "INTERNAL_ERROR",
	apperr.InvalidArgument:    "VALIDATION_ERROR",
	apperr.Unauthenticated:    "AUTHENTICATION_ERROR",
	apperr.PermissionDenied:   "AUTHORIZATION_ERROR",
	apperr.NotFound:           "NOT_FOUND",
	apperr.AlreadyExists:      "CONFLICT_ERROR",
	apperr.Aborted:            "CONFLICT_ERROR",
	apperr.FailedPrecondition: "CONFLICT_ERROR",
	apperr.ResourceExhausted:  "RATE_LIMIT_ERROR",
	apperr.TooLarge:           "VALIDATION_ERROR",
	apperr.Unavailable:        "SERVICE_ERROR",
	apperr.DeadlineExceeded:   "TIMEOUT_ERROR",
	apperr.BadGateway:         "SERVICE_ERROR",
	apperr.Unimplemented:      "NOT_IMPLEMENTED",
	apperr.Canceled:           "CANCELED",
}

// suggestions are the recovery steps per code; kindSuggestions cover codes
// not listed.
var suggestions = map[string][]string{
	"missing_api_key": {
		"Send the API key in the X-API-Key header (or as Authorization: Bearer <key>).",
		"Get a key from the App (POST /api/app/api-keys) or from the operator (make apikey).",
	},
	"invalid_api_key": {
		"Check the key for typos or truncation: a key is shown once, when it is created.",
		"Create a new key if this one was deleted.",
	},
	"client_disabled":    {"Use another key, or ask the key's owner or the operator to enable this one."},
	"key_expired":        {"Create a new key: this one is past its expiry."},
	"insufficient_scope": {"Use a key that has the scope named in the message: tools:read lists tools, tools:execute invokes them, health:check reads /api/mcp/health."},
	"rate_limit_exceeded": {
		"Wait retry_after seconds, then retry.",
		"Spread requests out, or ask for a higher rate-limit tier for this key.",
	},
	"missing_signature":  {"Sign the request: X-Timestamp (Unix seconds) and X-Signature = hex HMAC-SHA256 of \"METHOD\\nPATH?QUERY\\nTIMESTAMP\\nSHA256_HEX(body)\" with the shared secret."},
	"invalid_signature":  {"Recompute X-Signature over the exact method, path with query, timestamp and body that are sent."},
	"signature_expired":  {"Check the client's clock: X-Timestamp must be within the server's window (5 minutes by default)."},
	"signature_replayed": {"Sign every request afresh (new X-Timestamp); a signed request is accepted once."},
	"origin_not_allowed": {"Call from a server-side client, or ask the operator to add this origin to CORS_ORIGINS."},
	"tool_not_found":     {"GET /api/mcp/tools lists the tools this key can use."},
	"not_found":          {"The MCP layer serves GET /api/mcp/tools, GET /api/mcp/tools/{tool_name}, POST /api/mcp/invoke, GET /api/mcp/health and POST /api/mcp/mcp."},
	"method_not_allowed": {"Use the method the API documents for this path (see /api/public/openapi.json)."},
	"request_too_large":  {"Send a smaller body (at most 1 MiB)."},
}

var kindSuggestions = map[apperr.Kind][]string{
	apperr.InvalidArgument:  {"Fix the request as the message and details say, then send it again."},
	apperr.Unavailable:      {"Retry in a few seconds."},
	apperr.DeadlineExceeded: {"Retry in a few seconds."},
	apperr.BadGateway:       {"Retry in a few seconds."},
	apperr.Internal:         {"Retry; if it keeps failing, report error_id and request_id."},
}

// retryable kinds may succeed unchanged later.
func retryable(k apperr.Kind) bool {
	switch k {
	case apperr.ResourceExhausted, apperr.Unavailable, apperr.DeadlineExceeded, apperr.BadGateway:
		return true
	}
	return false
}

// Errors renders the last error a handler or middleware recorded in the
// MCP shape. It sits inside httpx's chain, so it answers first and httpx's
// own error middleware finds the response written.
func Errors(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		WriteError(c.Writer, c.Request, log, c.Errors.Last().Err)
	}
}

// WriteError maps err to its status and MCP error body.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = apperr.New(apperr.TooLarge, "request_too_large", "the request body exceeds the limit")
	}
	e := apperr.From(err)
	status := e.Kind.HTTPStatus()
	if e.Code == "method_not_allowed" {
		status = http.StatusMethodNotAllowed
	}
	b := ErrorBody{
		Error: e.Code, Message: e.Message, ErrorType: errorTypes[e.Kind],
		Details:             ErrorDetails{Status: status, Fields: e.Details},
		ErrorID:             uuid.NewString(),
		RequestID:           logx.RequestID(r.Context()),
		Retryable:           retryable(e.Kind),
		Timestamp:           time.Now().UTC().Format(time.RFC3339),
		RecoverySuggestions: suggestions[e.Code],
		SupportInfo:         support,
	}
	if b.ErrorType == "" {
		b.ErrorType = "INTERNAL_ERROR"
	}
	if e.Code == "tool_not_found" {
		b.ErrorType = "TOOL_NOT_FOUND"
	}
	if b.RecoverySuggestions == nil {
		b.RecoverySuggestions = kindSuggestions[e.Kind]
	}
	if b.RecoverySuggestions == nil {
		b.RecoverySuggestions = []string{}
	}
	if e.Kind == apperr.Internal {
		// The cause stays in the log, under the id the client sees.
		b.Error, b.Message, b.Details.Path = "internal_error", "internal server error", r.URL.Path
		if log != nil {
			log.ErrorContext(r.Context(), "internal error", "error", err.Error(), "error_id", b.ErrorID, "path", r.URL.Path)
		}
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if e.Kind == apperr.ResourceExhausted {
		ra := max(e.RetryAfter, 1)
		b.RetryAfter = &ra
		w.Header().Set("Retry-After", strconv.Itoa(ra))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(b)
}
