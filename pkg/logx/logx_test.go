package logx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestRedactQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a=1&b=2", "a=1&b=2"},
		{"api_key=sk_live_abc&x=1", "api_key=[REDACTED]&x=1"},
		{"x=1&API_KEY=secret", "x=1&API_KEY=[REDACTED]"},
		{"token=t&access_token=u&keep=v", "token=[REDACTED]&access_token=[REDACTED]&keep=v"},
		{"api%5Fkey=zzz", "api%5Fkey=[REDACTED]"},
		{"api_key", "api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := RedactQuery(tt.in); got != tt.want {
				t.Fatalf("RedactQuery(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	u, _ := url.Parse("/api/mcp/tools?api_key=mcp_live_123&limit=5")
	if got := RedactURL(u); strings.Contains(got, "mcp_live_123") || !strings.Contains(got, "limit=5") {
		t.Fatalf("RedactURL = %q", got)
	}
}

func TestLoggerRedactsAndCarriesRequestID(t *testing.T) {
	for _, format := range []string{"standard", "json", "simple"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(&buf, format, "debug")
			if err != nil {
				t.Fatal(err)
			}
			ctx := WithRequestID(context.Background(), "req-42")
			log.InfoContext(ctx, "hello", "Authorization", "Bearer eyJabc", "x-api-key", "k_123", "path", "/ok")
			out := buf.String()
			for _, leak := range []string{"eyJabc", "k_123"} {
				if strings.Contains(out, leak) {
					t.Fatalf("%s leaked %q: %s", format, leak, out)
				}
			}
			if !strings.Contains(out, "req-42") || !strings.Contains(out, "/ok") {
				t.Fatalf("missing request id or field: %s", out)
			}
			if format == "json" {
				var m map[string]any
				if err := json.Unmarshal(buf.Bytes(), &m); err != nil || m["request_id"] != "req-42" {
					t.Fatalf("json line %q: %v", out, err)
				}
			}
			if format == "simple" && strings.Contains(out, "time=") {
				t.Fatalf("simple format has a timestamp: %s", out)
			}
		})
	}
}

func TestLevels(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "xml", "info"); err == nil {
		t.Fatal("unknown format accepted")
	}
	if _, err := New(&bytes.Buffer{}, "json", "loud"); err == nil {
		t.Fatal("unknown level accepted")
	}
	var buf bytes.Buffer
	log, _ := New(&buf, "json", "WARNING")
	log.Info("quiet")
	log.Warn("loud")
	if strings.Contains(buf.String(), "quiet") || !strings.Contains(buf.String(), "loud") {
		t.Fatalf("level filter wrong: %s", buf.String())
	}
	if lvl, _ := ParseLevel("critical"); lvl != slog.LevelError {
		t.Fatalf("critical = %v", lvl)
	}
}
