// Package appclient calls app-svc's App API on behalf of an API key's
// owner, with a short-lived internal token minted for that user, so row
// level security, validation and per-user limits stay app-svc's. It passes
// the request id and the trace context on, and turns App API error bodies
// into *tools.AppAPIError.
package appclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/wfagent/gateway/pkg/apperr"
	"github.com/wfagent/gateway/pkg/httpx"
	"github.com/wfagent/gateway/pkg/logx"
	"github.com/wfagent/gateway/services/mcp-svc/internal/tools"
)

// caller names mcp-svc in the tokens it mints (azp).
const caller = "mcp-svc"

// maxResponseBytes bounds what is read of one App API answer.
const maxResponseBytes = 8 << 20

// TokenIssuer mints the internal token for a user (auth.InternalTokens).
type TokenIssuer interface {
	Issue(userID uuid.UUID, email, caller string) (string, error)
}

// Client implements tools.WorkflowAPI over HTTP.
type Client struct {
	base   *url.URL
	tokens TokenIssuer
	http   *http.Client
	tracer trace.Tracer
}

// New calls the App API at baseURL (APP_SVC_URL); timeout bounds each call.
func New(baseURL string, tokens TokenIssuer, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("APP_SVC_URL: want an http(s) URL")
	}
	return &Client{
		base: u, tokens: tokens,
		http:   &http.Client{Timeout: timeout},
		tracer: otel.Tracer("github.com/wfagent/gateway/mcp-svc/appclient"),
	}, nil
}

var _ tools.WorkflowAPI = (*Client)(nil)

// ListWorkflows implements tools.WorkflowAPI.
func (c *Client) ListWorkflows(ctx context.Context, owner uuid.UUID, limit int, cursor string) (json.RawMessage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return c.do(ctx, owner, http.MethodGet, "/api/app/workflows", "/api/app/workflows", q, nil, nil)
}

// GetWorkflow implements tools.WorkflowAPI.
func (c *Client) GetWorkflow(ctx context.Context, owner uuid.UUID, id string) (json.RawMessage, error) {
	return c.do(ctx, owner, http.MethodGet, "/api/app/workflows/"+url.PathEscape(id), "/api/app/workflows/{id}", nil, nil, nil)
}

// CreateWorkflow implements tools.WorkflowAPI.
func (c *Client) CreateWorkflow(ctx context.Context, owner uuid.UUID, workflow json.RawMessage) (json.RawMessage, error) {
	return c.do(ctx, owner, http.MethodPost, "/api/app/workflows", "/api/app/workflows", nil, workflow, nil)
}

// ExecuteWorkflow implements tools.WorkflowAPI.
func (c *Client) ExecuteWorkflow(ctx context.Context, owner uuid.UUID, id string, inputs json.RawMessage, idempotencyKey string) (json.RawMessage, error) {
	if len(inputs) == 0 {
		inputs = json.RawMessage("{}")
	}
	body, _ := json.Marshal(struct {
		Inputs json.RawMessage `json:"inputs"`
	}{inputs})
	h := http.Header{}
	if idempotencyKey != "" {
		h.Set("Idempotency-Key", idempotencyKey)
	}
	return c.do(ctx, owner, http.MethodPost, "/api/app/workflows/"+url.PathEscape(id)+"/execute", "/api/app/workflows/{id}/execute", nil, body, h)
}

// GetExecution implements tools.WorkflowAPI.
func (c *Client) GetExecution(ctx context.Context, owner uuid.UUID, id string) (json.RawMessage, error) {
	return c.do(ctx, owner, http.MethodGet, "/api/app/executions/"+url.PathEscape(id), "/api/app/executions/{id}", nil, nil, nil)
}

// do sends one request as owner; route is the path template, for the span.
func (c *Client) do(ctx context.Context, owner uuid.UUID, method, path, route string, q url.Values, body []byte, h http.Header) (_ json.RawMessage, err error) {
	ctx, span := c.tracer.Start(ctx, method+" "+route, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("url.template", route)))
	defer func() {
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()

	token, err := c.tokens.Issue(owner, "", caller)
	if err != nil {
		return nil, fmt.Errorf("internal token: %w", err)
	}
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if id := logx.RequestID(ctx); id != "" {
		req.Header.Set(httpx.HeaderRequestID, id)
	}
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header))

	res, err := c.http.Do(req)
	if err != nil {
		// Connection refused, DNS, timeout, canceled: the caller may retry.
		return nil, fmt.Errorf("%w: %w", tools.ErrAppUnavailable, err)
	}
	defer res.Body.Close()
	span.SetAttributes(attribute.Int("http.response.status_code", res.StatusCode))
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: reading the answer: %w", tools.ErrAppUnavailable, err)
	case len(raw) > maxResponseBytes:
		return nil, fmt.Errorf("app-svc answer over %d bytes", maxResponseBytes)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if !json.Valid(raw) {
			return nil, fmt.Errorf("app-svc answered %d with a body that is not JSON", res.StatusCode)
		}
		return raw, nil
	}
	return nil, decodeError(res, raw)
}

// decodeError reads the App API's error body (DESIGN §3); a body of another
// shape (a proxy's HTML page) still gives the status.
func decodeError(res *http.Response, raw []byte) error {
	var b apperr.Body
	e := &tools.AppAPIError{Status: res.StatusCode}
	if json.Unmarshal(raw, &b) == nil && b.Error != "" {
		e.Code, e.Message, e.Details = b.Error, b.Message, b.Details
		if b.RetryAfter != nil {
			e.RetryAfter = *b.RetryAfter
		}
	} else {
		e.Code, e.Message = strings.ReplaceAll(strings.ToLower(http.StatusText(res.StatusCode)), " ", "_"), http.StatusText(res.StatusCode)
	}
	if e.RetryAfter == 0 {
		e.RetryAfter, _ = strconv.Atoi(res.Header.Get("Retry-After"))
	}
	return e
}
