// Package logx builds the slog logger every service uses: the three formats
// of the original design (standard, json, simple), request and trace ids
// taken from the context on every line, and redaction of credentials.
package logx

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// Redacted replaces every credential value in logs.
const Redacted = "[REDACTED]"

type ctxKey struct{}

// WithRequestID stores the request id for log lines made under ctx.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// ParseLevel accepts DEBUG, INFO, WARN/WARNING, ERROR/CRITICAL in any case.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug, nil
	case "", "INFO":
		return slog.LevelInfo, nil
	case "WARN", "WARNING":
		return slog.LevelWarn, nil
	case "ERROR", "CRITICAL":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("LOG_LEVEL %q: want DEBUG, INFO, WARNING or ERROR", s)
}

// New builds a logger writing to w. format is standard (key=value text),
// json, or simple (level and message first, no timestamp).
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: redactAttr}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "", "standard":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "simple":
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return redactAttr(groups, a)
		}
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("LOG_FORMAT %q: want standard, json or simple", format)
	}
	return slog.New(contextHandler{h}), nil
}

// contextHandler adds request_id and trace_id from the context to each record.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(as)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// sensitiveKeys are attribute keys (lower case, '-' and '_' equal) whose
// values never reach a log.
var sensitiveKeys = map[string]bool{
	"authorization": true, "proxy_authorization": true, "x_api_key": true, "api_key": true,
	"apikey": true, "cookie": true, "set_cookie": true, "password": true, "secret": true,
	"token": true, "access_token": true, "refresh_token": true, "x_signature": true,
}

// IsSensitive reports whether a header, query or attribute name holds a credential.
func IsSensitive(key string) bool {
	return sensitiveKeys[strings.ReplaceAll(strings.ToLower(key), "-", "_")]
}

func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if IsSensitive(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	return a
}

// RedactQuery returns rawQuery with credential values replaced, keeping order
// and every other byte as sent.
func RedactQuery(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	parts := strings.Split(rawQuery, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && IsSensitive(name) {
			parts[i] = k + "=" + Redacted
		}
	}
	return strings.Join(parts, "&")
}

// RedactURL returns path?query with credential values replaced.
func RedactURL(u *url.URL) string {
	if u.RawQuery == "" {
		return u.EscapedPath()
	}
	return u.EscapedPath() + "?" + RedactQuery(u.RawQuery)
}
