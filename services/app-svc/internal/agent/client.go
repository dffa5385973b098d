// Package agent is app-svc's client of the Workflow Agent (gRPC
// workflowagent.v1): one shared connection with keepalive, a deadline per
// chat turn, a retry on UNAVAILABLE only while the agent has answered
// nothing yet, the request id and W3C trace context in the call's metadata,
// and one translation of gRPC statuses into application errors (ErrorOf).
// Callers see Turn and Response, never the generated types.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wfagent/gateway/pkg/logx"
	pb "github.com/wfagent/gateway/proto/workflowagent/v1"
)

// RequestIDHeader is the metadata key of the request id (DESIGN §3).
const RequestIDHeader = "x-request-id"

// The connection pings an idle agent every 30 s (the agent permits pings
// from every 10 s, also between calls), so a dead peer is noticed between
// turns; reconnection backs off to at most 5 s, so an agent that comes back
// is used again quickly.
const (
	keepaliveTime    = 30 * time.Second
	keepaliveTimeout = 10 * time.Second
	maxReconnectWait = 5 * time.Second
)

// Retries: up to attempts calls, the waits doubling from firstRetryWait,
// and only while the agent has sent no response.
const (
	defaultAttempts = 3
	firstRetryWait  = 100 * time.Millisecond
)

// Client is the shared connection to the agent. It is safe for concurrent use.
type Client struct {
	conn        *grpc.ClientConn
	rpc         pb.WorkflowAgentClient
	turnTimeout time.Duration
	attempts    int
	tracer      trace.Tracer
}

// Option configures New.
type Option func(*Client)

// WithAttempts sets how many times a turn is tried while the agent is
// UNAVAILABLE before its first response (1 means no retry).
func WithAttempts(n int) Option { return func(c *Client) { c.attempts = max(n, 1) } }

// New makes the client for target (host:port). It does not dial: the
// connection is made on the first turn and kept, re-established as needed.
// turnTimeout bounds each turn, streaming included (AGENT_TURN_TIMEOUT).
func New(target string, turnTimeout time.Duration, opts ...Option) (*Client, error) {
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: keepaliveTime, Timeout: keepaliveTimeout, PermitWithoutStream: true}),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{
			BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: maxReconnectWait,
		}, MinConnectTimeout: 5 * time.Second}),
	)
	if err != nil {
		return nil, fmt.Errorf("workflow agent %s: %w", target, err)
	}
	c := &Client{
		conn: conn, rpc: pb.NewWorkflowAgentClient(conn), turnTimeout: turnTimeout, attempts: defaultAttempts,
		tracer: otel.Tracer("github.com/wfagent/gateway/app-svc/agent"),
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Close closes the connection; conversations in flight end with Canceled.
func (c *Client) Close() error { return c.conn.Close() }

// Converse starts a turn and returns once the agent has sent its first
// response, so that a caller can still answer with an ordinary error when
// the agent cannot be reached. Errors are *apperr.Error (see ErrorOf).
// The conversation must be closed.
func (c *Client) Converse(ctx context.Context, t Turn) (*Conversation, error) {
	req, err := t.request()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.turnTimeout)
	ctx, span := c.tracer.Start(ctx, "workflowagent.v1.WorkflowAgent/ProcessConversation", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", "workflowagent.v1.WorkflowAgent"),
			attribute.String("rpc.method", "ProcessConversation"), attribute.String("session.id", t.SessionID)))
	cv := &Conversation{cancel: cancel, span: span}
	ctx = outgoing(ctx)

	wait := firstRetryWait
	for attempt := 1; ; attempt++ {
		stream, err := c.rpc.ProcessConversation(ctx, req)
		var first *pb.ConversationResponse
		if err == nil {
			first, err = stream.Recv()
		}
		if err == nil {
			cv.stream, cv.first = stream, first
			return cv, nil
		}
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.Internal, "the agent ended the turn without a response")
		}
		if status.Code(err) != codes.Unavailable || attempt >= c.attempts || !sleep(ctx, wait) {
			cv.end(err)
			return nil, ErrorOf(err)
		}
		span.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", attempt+1)))
		wait *= 2
	}
}

// outgoing puts the request id and the trace context into the metadata.
func outgoing(ctx context.Context) context.Context {
	md := metadata.MD{}
	if id := logx.RequestID(ctx); id != "" {
		md.Set(RequestIDHeader, id)
	}
	otel.GetTextMapPropagator().Inject(ctx, metadataCarrier(md))
	return metadata.NewOutgoingContext(ctx, md)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Conversation is one turn's stream of responses.
type Conversation struct {
	stream grpc.ServerStreamingClient[pb.ConversationResponse]
	first  *pb.ConversationResponse
	cancel context.CancelFunc
	span   trace.Span
	once   sync.Once
}

// Next returns the next response; io.EOF after the final one. Other errors
// are *apperr.Error (ErrorOf); a turn that ends without a final response is
// an error too. Next is not safe for concurrent use, but Close may be
// called while it waits.
func (cv *Conversation) Next() (Response, error) {
	msg := cv.first
	cv.first = nil
	if msg == nil {
		var err error
		if msg, err = cv.stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Internal, "the agent ended the turn without a final response")
			}
			cv.end(err)
			return Response{}, ErrorOf(err)
		}
	}
	r, err := responseOf(msg)
	if err != nil {
		cv.end(err)
		return Response{}, ErrorOf(status.Error(codes.Internal, err.Error()))
	}
	if r.Final {
		cv.end(nil)
	}
	return r, nil
}

// Close cancels the call if it is still running (the agent sees its
// caller go away) and ends the span.
func (cv *Conversation) Close() { cv.end(context.Canceled) }

func (cv *Conversation) end(err error) {
	cv.once.Do(func() {
		cv.cancel()
		code := status.Code(err)
		if errors.Is(err, context.Canceled) {
			code = codes.Canceled
		}
		cv.span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(code)))
		if err != nil && code != codes.Canceled {
			cv.span.SetStatus(otelcodes.Error, code.String())
		}
		cv.span.End()
	})
}

// metadataCarrier lets the OTel propagator write W3C headers into metadata.
type metadataCarrier metadata.MD

func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
