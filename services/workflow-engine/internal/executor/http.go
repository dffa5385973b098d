package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wfagent/gateway/services/workflow-engine/internal/expreval"
	"github.com/wfagent/gateway/services/workflow-engine/internal/safehttp"
)

const defaultHTTPTimeout = 30 * time.Second

// runHTTPRequest sends the request through the SSRF-guarded client and
// outputs {status, headers, body}; body is parsed when it is JSON. A 4xx
// answer fails the node for good, a 5xx or 429 may be retried.
func (r *Runner) runHTTPRequest(ctx context.Context, in Input) (Output, error) {
	p := in.Node.Parameters
	rendered, err := expreval.RenderAll(map[string]any{"url": p["url"], "headers": p["headers"], "query": p["query"], "body": p["body"]}, in.Env)
	if err != nil {
		return Output{}, Permanent(err)
	}
	params := rendered.(map[string]any)
	u, err := url.Parse(expreval.Text(params["url"]))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Output{}, Permanent(fmt.Errorf("url %q: want an absolute http(s) URL", expreval.Text(params["url"])))
	}
	if q, ok := params["query"].(map[string]any); ok {
		values := u.Query()
		for k, v := range q {
			values.Set(k, expreval.Text(v))
		}
		u.RawQuery = values.Encode()
	}

	var body io.Reader
	contentType := ""
	switch b := params["body"].(type) {
	case nil:
	case string:
		body, contentType = strings.NewReader(b), "text/plain; charset=utf-8"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return Output{}, Permanent(fmt.Errorf("body: %w", err))
		}
		body, contentType = bytes.NewReader(raw), "application/json"
	}
	timeout := defaultHTTPTimeout
	if s, ok := num(p, "timeout_seconds"); ok && s > 0 {
		timeout = time.Duration(s * float64(time.Second))
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method := str(p, "method")
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return Output{}, Permanent(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if h, ok := params["headers"].(map[string]any); ok {
		for k, v := range h {
			req.Header.Set(k, expreval.Text(v))
		}
	}
	req.Header.Set("User-Agent", "wfagent-workflow-engine")
	if tok, _ := in.Node.Credentials["bearer_token"].(string); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if user, _ := in.Node.Credentials["username"].(string); user != "" {
		pass, _ := in.Node.Credentials["password"].(string)
		req.SetBasicAuth(user, pass)
	}

	resp, err := r.o.HTTP.Do(req)
	if err != nil {
		if errors.Is(err, safehttp.ErrBlocked) {
			return Output{}, Permanent(unwrapURLError(err))
		}
		if parent.Err() != nil {
			return Output{}, context.Cause(parent)
		}
		if ctx.Err() != nil {
			return Output{}, fmt.Errorf("%s %s: no answer within %s", method, u.Redacted(), timeout)
		}
		return Output{}, unwrapURLError(err)
	}
	defer resp.Body.Close()
	limit := r.o.MaxResponseBytes
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return Output{}, fmt.Errorf("reading the response: %w", err)
	}
	if int64(len(data)) > limit {
		return Output{}, Permanent(fmt.Errorf("response body larger than %d bytes (ENGINE_HTTP_MAX_RESPONSE_BYTES)", limit))
	}
	if resp.StatusCode >= 400 {
		err := fmt.Errorf("%s %s: HTTP %d: %s", method, u.Redacted(), resp.StatusCode, snippet(data))
		if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			return Output{}, Permanent(err)
		}
		return Output{}, err
	}
	headers := make(map[string]any, len(resp.Header))
	for k, v := range resp.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return Output{Value: map[string]any{"status": resp.StatusCode, "headers": headers, "body": decodeBody(resp.Header.Get("Content-Type"), data)}}, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, redact(ue.URL), ue.Err)
	}
	return err
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}

func decodeBody(contentType string, data []byte) any {
	if len(data) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		var v any
		if json.Unmarshal(data, &v) == nil {
			return v
		}
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

func snippet(data []byte) string {
	const max = 200
	s := strings.ToValidUTF8(string(data), "\uFFFD")
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return strings.TrimSpace(s)
}
